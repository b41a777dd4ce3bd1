#!/usr/bin/env bash
# The fleet's HTTP benchmark: wrk -t2 -c32 for 10 s against a minimal ASP.NET Core app answering "ok" and against one-row
# POST /models/{group}/invocations of a breast-cancer model, on a server started by the bench on 127.0.0.1 as flotilla server starts it.
# Prints both throughputs, p50/p99, their ratio and the failed calls. Options pass through, e.g.
#   bench/fleet-wrk.sh --algorithm LogisticRegression --duration 30
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk"; exit 1; }
dotnet build bench/Flotilla.Bench -c Release -nologo -v:q
exec dotnet bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll fleet wrk "$@"
