"""The peer of one Flotilla family, fitted once at its library's defaults for `scaling --fits` (one family per run,
so the suite can kill a run that passes its timeout and keep the others).

Preprocessing is ../shared/bench/peer_optuna.py's, what a Python user puts in front of every family: text columns
unique on more than half the rows dropped, median impute + scale for numbers, most-frequent impute + dense one-hot
(at most 64 levels, unknown ignored) for text; the positive class is the minority one. The timed fit is the
preprocessing's fit_transform plus the estimator's fit, as Flotilla's fit includes its encoding; reading the CSVs
and scoring the test rows are not timed. One thread: n_jobs=1 where the estimator has it, OMP/BLAS threads 1.
Prints one JSON line: the estimator, preprocessing and fit wall seconds, fit CPU seconds, test AUC.
"""
import argparse
import json
import os
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import xgboost  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

MISSING = ["?", "NA", "N/A", "null", "NaN", ""]


def estimator(family):
    """The library's defaults, but for what one thread and a like-for-like fit need (see bench/README.md)."""
    if family == "RandomForest":
        return RandomForestClassifier(n_jobs=1, random_state=42)
    if family == "XGBoost":
        # xgboost 2's default tree method; Debian's 1.7 defaults to "auto" (exact greedy at this size), far slower.
        return xgboost.XGBClassifier(n_jobs=1, tree_method="hist", random_state=42, verbosity=0)
    if family == "LightGBM":
        # LightGBM is not packaged here. HistGradientBoosting is scikit-learn's LightGBM-style learner with LightGBM's
        # defaults (31 leaves, learning rate 0.1, 100 iterations, 20 rows a leaf, 255 bins); its "auto" early stopping
        # above 10,000 rows is off because LightGBM's defaults grow all 100 trees.
        return HistGradientBoostingClassifier(early_stopping=False, random_state=42)
    if family == "LogisticRegression":
        return LogisticRegression(n_jobs=1)
    if family == "NaiveBayes":
        return GaussianNB()
    if family == "NeuralNet":
        return MLPClassifier(random_state=42)
    raise ValueError(family)


def preprocessing(frame):
    text = [c for c in frame.columns if frame[c].dtype == object and frame[c].nunique() < 0.5 * len(frame)]
    numeric = [c for c in frame.columns if frame[c].dtype != object]
    return ColumnTransformer([
        ("num", Pipeline([("imp", SimpleImputer(strategy="median")), ("sc", StandardScaler())]), numeric),
        ("cat", Pipeline([("imp", SimpleImputer(strategy="most_frequent")),
                          ("oh", OneHotEncoder(handle_unknown="ignore", max_categories=64, sparse_output=False))]), text)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--family", required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    x = pd.read_csv(args.train, na_values=MISSING, skipinitialspace=True)
    x_test = pd.read_csv(args.test, na_values=MISSING, skipinitialspace=True)
    y_raw = x.pop(args.label).astype(str).str.strip()
    positive = y_raw.value_counts().idxmin()
    y = (y_raw == positive).astype(int).to_numpy()
    y_test = (x_test.pop(args.label).astype(str).str.strip() == positive).astype(int).to_numpy()
    prep, model = preprocessing(x), estimator(args.family)

    start, cpu = time.perf_counter(), time.process_time()
    encoded = prep.fit_transform(x)
    prep_seconds = time.perf_counter() - start
    model.fit(encoded, y)
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    auc = roc_auc_score(y_test, model.predict_proba(prep.transform(x_test))[:, 1])
    print(json.dumps({"family": args.family, "estimator": type(model).__name__, "width": int(encoded.shape[1]),
                      "prep_seconds": prep_seconds, "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu,
                      "test_auc": float(auc), "cpus": len(os.sched_getaffinity(0)),
                      "sklearn": sklearn.__version__, "xgboost": xgboost.__version__}))


if __name__ == "__main__":
    main()
