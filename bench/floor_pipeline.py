"""The floor: the generated project's train + predict work, done by one plain pandas/scikit-learn script.

    python bench/floor_pipeline.py --raw-dir RAW --output-dir OUT --n-estimators 20 --max-depth 12

``RAW`` holds ``train/`` and ``predict/``, each with the ``bookings/*.csv`` and
``customers/*.csv`` the project's sample-data generator writes. In one process, with no
Spark, no step boundaries and no files between steps, the script does what the local
pipeline does:

* train: read, clean, join and derive the features; split 80/20 stratified; fit the
  feature transformer (median imputer + one-hot encoder) on the training split; fit the
  random forest; compute the training and held-out metrics; save model and transformer;
* predict: read, clean, join and derive the features of the predict data; transform;
  score; write the predictions as Parquet.

It prints one JSON line with the row counts and the held-out ROC AUC, so the benchmark can
check it learnt what the pipeline learnt. It skips what only a pipeline needs: checks that
name a bad column, atomic output directories, model archives and manifests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TypeVar

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

LABEL = "bought_bag"
BOOKING_KEY = "booking_id"
CUSTOMER_KEY = "customer_id"
CATEGORICAL = ["cabin", "channel", "destination", "loyalty_tier", "age_band"]
NUMERIC = [
    "days_to_departure",
    "departure_month",
    "departure_weekday",
    "passengers",
    "fare_per_passenger",
    "departs_from_home",
    "customer_tenure_days",
    "previous_bookings",
]
LOWER_CASE = ["cabin", "channel", "loyalty_tier", "age_band"]
UPPER_CASE = ["origin", "destination", "home_airport"]
DATES = ["booking_date", "departure_date", "signup_date"]
T = TypeVar("T")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train and predict in one pandas/scikit-learn process.")
    parser.add_argument("--raw-dir", type=Path, required=True, help="holds train/ and predict/ raw CSV sources")
    parser.add_argument("--output-dir", type=Path, required=True, help="gets model.joblib and predictions.parquet")
    parser.add_argument("--n-estimators", type=int, required=True)
    parser.add_argument("--max-depth", type=int, required=True)
    parser.add_argument("--random-state", type=int, default=42)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--decision-threshold", type=float, default=0.5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    training = clock.lap("train_features", feature_table(args.raw_dir / "train", training=True))
    model, transformer, metrics = clock.lap("train", train(training, args))
    joblib.dump({"model": model, "transformer": transformer}, args.output_dir / "model.joblib")
    scoring = clock.lap("predict_features", feature_table(args.raw_dir / "predict", training=False))
    predictions = predict(scoring, model, transformer, args.decision_threshold)
    predictions.to_parquet(args.output_dir / "predictions.parquet", index=False)
    clock.lap("predict", None)
    summary = {"train_rows": len(training), "predict_rows": len(predictions), **metrics, "seconds": clock.laps}
    print(json.dumps(summary))
    return 0


class Clock:
    """Seconds per phase, to compare with the pipeline's steps."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str, result: T) -> T:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now
        return result


# --------------------------------------------------------------------------- the feature table


def read_source(directory: Path) -> pd.DataFrame:
    parts = sorted(directory.glob("*.csv"))
    return pd.concat([pd.read_csv(path) for path in parts], ignore_index=True)


def clean(frame: pd.DataFrame, key: str, training: bool) -> pd.DataFrame:
    """Trimmed, case-normalised text; no rows without key (or label); no duplicates; one row per key."""
    frame = frame.copy()
    for column in frame.select_dtypes(include="object").columns:
        text = frame[column].str.strip()
        frame[column] = text.where(text != "")
    for column in set(LOWER_CASE) & set(frame.columns):
        frame[column] = frame[column].str.lower()
    for column in set(UPPER_CASE) & set(frame.columns):
        frame[column] = frame[column].str.upper()
    required = [key, LABEL] if training and LABEL in frame else [key]
    frame = frame.dropna(subset=required).drop_duplicates()
    if frame[key].duplicated().any():
        raise SystemExit(f"{key} occurs in rows with different values")
    return frame


def feature_table(raw: Path, training: bool) -> pd.DataFrame:
    bookings = clean(read_source(raw / "bookings"), BOOKING_KEY, training)
    customers = clean(read_source(raw / "customers"), CUSTOMER_KEY, training)
    joined = bookings.merge(customers, on=CUSTOMER_KEY, how="left")
    for column in DATES:
        joined[column] = pd.to_datetime(joined[column], format="%Y-%m-%d")
    return derive_features(joined, training)


def derive_features(joined: pd.DataFrame, training: bool) -> pd.DataFrame:
    """The feature columns etl.py derives, with the same rules for impossible values."""
    days = joined["days_to_departure"].fillna((joined["departure_date"] - joined["booking_date"]).dt.days)
    passengers = joined["passengers"].where(joined["passengers"] >= 1)
    member = joined["home_airport"].notna()
    features = pd.DataFrame(
        {
            BOOKING_KEY: joined[BOOKING_KEY],
            "cabin": joined["cabin"],
            "channel": joined["channel"],
            "destination": joined["destination"],
            "loyalty_tier": joined["loyalty_tier"],
            "age_band": joined["age_band"],
            "days_to_departure": days.where(days >= 0),
            "departure_month": joined["departure_date"].dt.month,
            "departure_weekday": joined["departure_date"].dt.dayofweek + 1,
            "passengers": passengers,
            "fare_per_passenger": (joined["fare"] / passengers).where(joined["fare"] >= 0),
            "departs_from_home": (joined["origin"] == joined["home_airport"]).astype(float).where(member),
            "customer_tenure_days": non_negative((joined["booking_date"] - joined["signup_date"]).dt.days),
            "previous_bookings": non_negative(joined["previous_bookings"]),
        }
    )
    if training:
        features[LABEL] = joined[LABEL].astype(np.int64)
    return features


def non_negative(values: pd.Series) -> pd.Series:
    return values.where(values >= 0)


# --------------------------------------------------------------------------- model


def build_transformer() -> ColumnTransformer:
    categories = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    return ColumnTransformer(
        [("numeric", SimpleImputer(strategy="median"), NUMERIC), ("categorical", categories, CATEGORICAL)],
        remainder="drop",
    )


def text_columns(features: pd.DataFrame) -> pd.DataFrame:
    """Categories as Python strings with None for missing, as the project's checks make them."""
    features = features.copy()
    for column in CATEGORICAL:
        features[column] = features[column].astype(object).where(features[column].notna(), None)
    return features


def train(table: pd.DataFrame, args: argparse.Namespace) -> tuple[RandomForestClassifier, ColumnTransformer, dict]:
    table = text_columns(table)
    train_rows, test_rows = train_test_split(
        table, test_size=args.test_size, random_state=args.random_state, stratify=table[LABEL]
    )
    transformer = build_transformer().fit(train_rows)
    train_matrix = transformer.transform(train_rows).astype(np.float32)
    test_matrix = transformer.transform(test_rows).astype(np.float32)
    model = RandomForestClassifier(
        n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=args.random_state, n_jobs=-1
    )
    model.fit(train_matrix, train_rows[LABEL])
    # Scoring single-threaded, as the project's steps do (reproducible probabilities).
    model.set_params(n_jobs=None)
    return model, transformer, metrics(model, train_matrix, train_rows[LABEL], test_matrix, test_rows[LABEL], args)


def metrics(model, train_matrix, train_labels, test_matrix, test_labels, args: argparse.Namespace) -> dict:
    """What train.py and evaluate.py report, from the same probabilities."""
    train_scores = model.predict_proba(train_matrix)[:, 1]
    test_scores = model.predict_proba(test_matrix)[:, 1]
    return {
        "train_roc_auc": float(roc_auc_score(train_labels, train_scores)),
        "test_roc_auc": float(roc_auc_score(test_labels, test_scores)),
        "test_pr_auc": float(average_precision_score(test_labels, test_scores)),
        "test_log_loss": float(log_loss(test_labels, test_scores, labels=[0, 1])),
        "test_accuracy": float(accuracy_score(test_labels, test_scores >= args.decision_threshold)),
    }


def predict(table: pd.DataFrame, model, transformer: ColumnTransformer, threshold: float) -> pd.DataFrame:
    matrix = transformer.transform(text_columns(table)).astype(np.float32)
    probabilities = model.predict_proba(matrix)[:, 1]
    return pd.DataFrame(
        {
            BOOKING_KEY: table[BOOKING_KEY].to_numpy(),
            "probability": probabilities,
            "predicted_class": (probabilities >= threshold).astype(np.int32),
        }
    )


if __name__ == "__main__":
    sys.exit(main())
