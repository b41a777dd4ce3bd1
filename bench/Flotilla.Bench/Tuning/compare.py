#!/usr/bin/env python3
"""Reads the JSON of compare.sh (sklearn-*.json, flotilla-*.json) and prints Flotilla against the baseline."""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/results/tuning"
sk = {}
for path in glob.glob(os.path.join(out, "sklearn-*.json")):
    d = json.load(open(path))
    name = os.path.basename(d["config"]["data"])[:-4]
    sk[(name, d["config"]["seed"])] = d
runs, peaks = [], []
for path in sorted(glob.glob(os.path.join(out, "flotilla-*.json"))):
    d = json.load(open(path))
    runs += d["runs"]
    peaks.append(d["peakMegabytes"])

print(f"\n## Tuning wall time and quality against scikit-learn (60 trials, six families, 5-fold roc_auc, {os.cpu_count()} cores)\n")
print("| dataset | seed | sklearn tune s | sklearn test AUC | variant | Flotilla tune s | time ratio | trials | best CV | test AUC | Δ AUC | pruned | bar |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (ds, seed), s in sorted(sk.items()):
    st, sa = s["times_s"]["tune"], s["test_metrics"]["roc_auc"]
    for r in [r for r in runs if r["Dataset"] == ds and r["Seed"] == seed]:
        ratio = r["TuneSeconds"] / st
        delta = r["TestAuc"] - sa
        bar = "pass" if ratio <= 1 / 3 and delta >= -0.002 else ("slow" if delta >= -0.002 else ("auc" if ratio <= 1 / 3 else "slow+auc"))
        print(f"| {ds} | {seed} | {st:.1f} | {sa:.4f} | {r['Variant']} | {r['TuneSeconds']:.1f} | {ratio:.2f} | "
              f"{len(r['CompleteMeans'])} | {r['BestCv']:.4f} ({r['BestAlgorithm']}) | {r['TestAuc']:.4f} | {delta:+.4f} | {r['Pruned']} | {bar} |")

print("\n## Where the time goes (trial-seconds per family, summed over runs)\n")
print("| variant | family | trials | pruned | trial-s | median s/trial |")
print("|---|---|---|---|---|---|")
for variant in sorted({r["Variant"] for r in runs}):
    fam = {}
    for r in [r for r in runs if r["Variant"] == variant]:
        for f in r["Families"]:
            a = fam.setdefault(f["Algorithm"], [0, 0, 0.0, []])
            a[0] += f["Trials"]; a[1] += f["Pruned"]; a[2] += f["Seconds"]; a[3].append(f["MedianSeconds"])
    for name, (n, p, secs, meds) in sorted(fam.items(), key=lambda kv: -kv[1][2]):
        print(f"| {variant} | {name} | {n} | {p} | {secs:.1f} | {statistics.median(meds):.2f} |")
sk_fam = {}
for s in sk.values():
    for name, a in s["per_algorithm"].items():
        e = sk_fam.setdefault(name, [0, 0.0, []])
        e[0] += a["n_trials"]; e[1] += a["sum_seconds"]
        if a["median_seconds"] is not None:
            e[2].append(a["median_seconds"])
for name, (n, secs, meds) in sorted(sk_fam.items(), key=lambda kv: -kv[1][1]):
    print(f"| sklearn | {name} | {n} | 0 | {secs:.1f} | {statistics.median(meds) if meds else float('nan'):.2f} |")

print("\n## TPE against Random: best CV so far by trial number (no pruning, mean over seeds)\n")
for ds in sorted({r["Dataset"] for r in runs}):
    curves = {}
    for r in runs:
        if r["Dataset"] == ds and r["Variant"] in ("random", "tpe"):
            # A run that reached a perfect score stopped early: its best holds for the trials it did not run.
            best, curve, means = float("-inf"), [], r["CompleteMeans"]
            for i in range(60):
                m = means[i] if i < len(means) else None
                best = max(best, m if m is not None else float("-inf"))
                curve.append(best)
            curves.setdefault(r["Seed"], {})[r["Variant"]] = curve
    pairs = {s: c for s, c in curves.items() if "random" in c and "tpe" in c}
    if not pairs:
        continue
    n = min(len(c["random"]) for c in pairs.values())
    print(f"{ds}, seeds {sorted(pairs)}:\n\n| trial | Random | TPE |\n|---|---|---|")
    for t in [t for t in (5, 10, 15, 20, 30, 40, 50, 60) if t <= n]:
        print(f"| {t} | {statistics.mean(c['random'][t - 1] for c in pairs.values()):.4f} | {statistics.mean(c['tpe'][t - 1] for c in pairs.values()):.4f} |")
    reach = []
    for seed, c in sorted(pairs.items()):
        target = c["random"][-1]
        tpe = next((i + 1 for i, v in enumerate(c["tpe"]) if v >= target - 1e-12), None)
        rnd = next(i + 1 for i, v in enumerate(c["random"]) if v >= target - 1e-12)
        reach.append((seed, rnd, tpe))
    print("\n" + "; ".join(f"seed {s}: Random at {r}, TPE at {t if t else '>' + str(n)}" for s, r, t in reach))
    mean_tpe = statistics.mean(t if t else n + 1 for _, _, t in reach)
    print(f"mean trials for TPE to reach Random's final best: {mean_tpe:.1f} of {n} ({mean_tpe / n:.2f}; bar ≤ 0.50)\n")

print(f"peak memory of a bench process (VmHWM, max over processes): {max(peaks):.0f} MB (bar ≤ 500 MB)")
