#!/usr/bin/env bash
# The tuning benchmark against its baseline, back to back on the same machine: for each dataset and seed, the
# scikit-learn reference search (../shared/bench/sklearn_reference.py, trials in a pool of one process per core),
# then Flotilla's "tuning" suite on the same split; then Random and TPE on two more seeds for the best-so-far curves;
# then compare.py prints the ratios. Needs: apt-get install -y python3-sklearn python3-xgboost python3-pandas
#
#   bench/Flotilla.Bench/Tuning/compare.sh                      # everything (about 10 minutes on a quiet 2-core machine)
#   DATASETS=breast-cancer SEEDS=42 CURVES=0 bench/Flotilla.Bench/Tuning/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-bench/results/tuning}
datasets=${DATASETS:-"breast-cancer banknote-authentication"}
seeds=${SEEDS:-"42 7 1234"}
variants=${VARIANTS:-"tpe-median,tpe,random"}
shared=$(cd .. && pwd)/shared
mkdir -p "$out"

bench=${BENCH:-bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench}
if [[ -z "${BENCH:-}" ]]; then dotnet build bench/Flotilla.Bench -c Release -nologo -v:q >/dev/null; fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for ds in $datasets; do
  for seed in $seeds; do
    /usr/bin/python3 "$shared/bench/sklearn_reference.py" --data "$shared/datasets/$ds.csv" --target CLASS --trials 60 \
      --parallel "$(nproc)" --seed "$seed" --cv 5 --scorer roc_auc --out "$out/sklearn-$ds-$seed.json"
    "$bench" tuning --datasets "$ds" --seeds "$seed" --variants "$variants" --curve-seeds none --json "$out/flotilla-$ds-$seed.json"
  done
done

if [[ "${CURVES:-1}" == 1 ]]; then
  # Seeds 42, 7 and 1234 ran above; two more make the five seeds of the TPE-versus-Random curves.
  "$bench" tuning --datasets "${datasets// /,}" --seeds 5,99 --variants random,tpe --curve-seeds none --json "$out/flotilla-curves.json"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 bench/Flotilla.Bench/Tuning/compare.py "$out"
