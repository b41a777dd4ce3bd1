"""scikit-learn's RandomForestClassifier on the rows and folds the forest suite hands it (one thread).

Preprocessing as a Python user writes it: median impute for numbers; most-frequent impute and one-hot
(at most 64 levels, unknown ignored) for text. Prints one JSON object: CV and refit wall seconds, AUCs.
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def model(frame, args):
    text = [c for c in frame.columns if frame[c].dtype == object]
    numeric = [c for c in frame.columns if c not in text]
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), numeric),
        ("txt", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", max_categories=64)), text),
    ])
    forest = RandomForestClassifier(
        n_estimators=args.trees, max_depth=args.max_depth, max_features=None, min_samples_leaf=args.min_samples_leaf,
        class_weight="balanced", n_jobs=1, random_state=42)
    return make_pipeline(prep, forest)


def read(path, label):
    frame = pd.read_csv(path, na_values=["?"], skipinitialspace=True)
    y = frame.pop(label).astype(str).str.strip()
    return frame, (y == sorted(y.unique())[-1]).astype(int).to_numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--folds", required=True, help="one fold index per training row")
    parser.add_argument("--label", required=True)
    parser.add_argument("--trees", type=int, default=400)
    parser.add_argument("--max-depth", type=int, default=15)
    parser.add_argument("--min-samples-leaf", type=int, default=5)
    args = parser.parse_args()

    x, y = read(args.train, args.label)
    x_test, y_test = read(args.test, args.label)
    fold_of = np.loadtxt(args.folds, dtype=int)
    scores = []
    start, cpu = time.perf_counter(), time.process_time()
    for fold in range(fold_of.max() + 1):
        fit, held = fold_of != fold, fold_of == fold
        pipeline = model(x, args).fit(x[fit], y[fit])
        scores.append(roc_auc_score(y[held], pipeline.predict_proba(x[held])[:, 1]))
    cv_seconds, cv_cpu = time.perf_counter() - start, time.process_time() - cpu

    start, cpu = time.perf_counter(), time.process_time()
    pipeline = model(x, args).fit(x, y)
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    test_auc = roc_auc_score(y_test, pipeline.predict_proba(x_test)[:, 1])
    print(json.dumps({"cv_seconds": cv_seconds, "cv_cpu_seconds": cv_cpu, "cv_auc": float(np.mean(scores)),
                      "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu, "test_auc": float(test_auc)}))


if __name__ == "__main__":
    main()
