"""Train: fit the model of the data contract's task and write the bundle (SageMaker training-toolkit contract).

SageMaker runs ``train.py --n-estimators 200 --max-depth 12 --random-state 42`` (the
hyperparameters) with the data channels in ``SM_CHANNEL_TRAIN``, ``SM_CHANNEL_TEST`` and
``SM_CHANNEL_TRANSFORMER``; what the script writes to ``SM_MODEL_DIR`` becomes the job's
model.tar.gz. Each of these can also be given as an option (``--train-dir`` ...), which
is how the tests call it.

Writes to the model directory ``model.joblib``, a byte copy of ``transformer.joblib`` and
``metadata.json`` (see ``model_bundle.py``), and to ``SM_OUTPUT_DATA_DIR`` a
``metrics.json``. Prints each metric of the task as ``name=value;`` for the job's metric
definitions (``training_metrics.metric_definitions()``). The serving functions live in inference.py.

The estimator is a random forest (a classifier, or a regressor for a regression task);
``--estimator extra_trees`` picks extremely randomized trees instead. To try another
kind, add it to ``ESTIMATORS``: it takes the same three hyperparameters.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.cli import configure_logging, positive_int, report
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs, write_json
from {{ cookiecutter.package_name }}.model_bundle import (
    TRANSFORMER_FILE,
    bundle_metadata,
    load_transformer,
    write_bundle,
)
from {{ cookiecutter.package_name }}.tables import TEST_SPLIT, TRAINING_SPLIT, read_table
from {{ cookiecutter.package_name }}.training_metrics import log_line
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("train")

RERUN_PREPROCESS = "the splits and the transformer must come from the same PreprocessTrain run"
# Estimator name -> (classifier, regressor).
ESTIMATORS = {
    "random_forest": (RandomForestClassifier, RandomForestRegressor),
    "extra_trees": (ExtraTreesClassifier, ExtraTreesRegressor),
}
DEFAULT_ESTIMATOR = "random_forest"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # Read when parsing, not at import: the toolkit sets these variables in the job's environment.
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Train the model and write the model bundle.")
    parser.add_argument("--n-estimators", type=positive_int, default=200, help="trees in the forest")
    parser.add_argument("--max-depth", type=positive_int, default=12, help="maximum depth of each tree")
    parser.add_argument("--random-state", type=int, default=42, help="seed of the forest")
    parser.add_argument("--estimator", choices=ESTIMATORS, default=DEFAULT_ESTIMATOR, help="kind of trees")
    parser.add_argument("--train-dir", type=Path, default=env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--test-dir", type=Path, default=env("SM_CHANNEL_TEST", "/opt/ml/input/data/test"))
    parser.add_argument(
        "--transformer-dir", type=Path, default=env("SM_CHANNEL_TRANSFORMER", "/opt/ml/input/data/transformer")
    )
    parser.add_argument("--model-dir", type=Path, default=env("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", type=Path, default=env("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    hyperparameters = {
        "n_estimators": args.n_estimators,
        "max_depth": args.max_depth,
        "random_state": args.random_state,
    }
    try:
        train(
            args.train_dir,
            args.test_dir,
            args.transformer_dir,
            args.model_dir,
            args.output_data_dir,
            hyperparameters,
            args.estimator,
        )
    except StepError as error:
        return report(error)
    return 0


def train(
    train_dir: Path,
    test_dir: Path,
    transformer_dir: Path,
    model_dir: Path,
    output_data_dir: Path,
    hyperparameters: dict[str, int],
    estimator: str = DEFAULT_ESTIMATOR,
) -> None:
    task = schema.contract().task
    label = schema.contract().label.column
    transformer = load_transformer(transformer_dir)
    inputs = tuple(str(name) for name in transformer.get_feature_names_out())
    train_set = read_table(train_dir, "training split", role=TRAINING_SPLIT)
    train_set = model_matrix(train_set, inputs, str(train_dir), RERUN_PREPROCESS, with_label=True)
    test_set = read_table(test_dir, "test split", role=TEST_SPLIT)
    test_set = model_matrix(test_set, inputs, str(test_dir), RERUN_PREPROCESS, with_label=True)

    # Trees are grown on every core of the training instance. Scoring stays single-threaded:
    # threads add up the trees' votes in whatever order they finish, which changes the last
    # digits of a probability from run to run; batch and online scores must be reproducible.
    model = build_estimator(task, estimator, hyperparameters)
    model.fit(train_set[list(inputs)], train_set[label])
    model.set_params(n_jobs=None)
    metrics = TASK_METRICS[task](model, train_set, test_set, inputs, label)
    for name, value in metrics.items():
        print(log_line(name, value, task), flush=True)

    training = {"rows": len(train_set), **label_summary(task, train_set[label]), "metrics": metrics}
    metadata = bundle_metadata(model, transformer, hyperparameters, training)
    with atomic_outputs(model_dir, output_data_dir) as (model_out, data_out):
        write_bundle(model_out, model, transformer_dir / TRANSFORMER_FILE, metadata)
        write_json(data_out / "metrics.json", metrics)
    headline = next(iter(name for name in metrics if name.startswith("test_")))
    log.info(
        "Trained a %s on %d rows, %s %.4f; model in %s",
        type(model).__name__,
        len(train_set),
        headline,
        metrics[headline],
        model_dir,
    )


def build_estimator(task: str, estimator: str, hyperparameters: dict[str, int]) -> Any:
    """The unfitted estimator of the task; every one takes the same hyperparameters."""
    classifier, regressor = ESTIMATORS[estimator]
    kind = regressor if task == "regression" else classifier
    return kind(**hyperparameters, n_jobs=-1)


def label_summary(task: str, labels: pd.Series) -> dict[str, Any]:
    if task == "regression":
        return {"label_mean": float(labels.mean()), "label_std": float(labels.std())}
    counts = labels.value_counts().sort_index()
    summary: dict[str, Any] = {"class_counts": {str(value): int(count) for value, count in counts.items()}}
    if task == "binary":
        summary["positive_rate"] = float((labels == schema.contract().label.positive_class).mean())
    return summary


def positive_probability(model: Any, rows: pd.DataFrame, inputs: tuple[str, ...]) -> np.ndarray:
    positive = schema.contract().label.positive_class
    return model.predict_proba(rows[list(inputs)])[:, list(model.classes_).index(positive)]


def binary_metrics(
    model: Any, train_set: pd.DataFrame, test_set: pd.DataFrame, inputs: tuple[str, ...], label: str
) -> dict[str, float]:
    positive = schema.contract().label.positive_class
    train_truth, truth = train_set[label] == positive, test_set[label] == positive
    probabilities = positive_probability(model, test_set, inputs)
    return {
        "train_roc_auc": float(sk.roc_auc_score(train_truth, positive_probability(model, train_set, inputs))),
        "test_roc_auc": float(sk.roc_auc_score(truth, probabilities)),
        "test_pr_auc": float(sk.average_precision_score(truth, probabilities)),
        "test_log_loss": float(sk.log_loss(truth, probabilities, labels=[False, True])),
    }


def multiclass_metrics(
    model: Any, train_set: pd.DataFrame, test_set: pd.DataFrame, inputs: tuple[str, ...], label: str
) -> dict[str, float]:
    rows = test_set[list(inputs)]
    return {
        "test_macro_f1": float(sk.f1_score(test_set[label], model.predict(rows), average="macro")),
        "test_accuracy": float(sk.accuracy_score(test_set[label], model.predict(rows))),
        "test_log_loss": float(sk.log_loss(test_set[label], model.predict_proba(rows), labels=model.classes_)),
    }


def regression_metrics(
    model: Any, train_set: pd.DataFrame, test_set: pd.DataFrame, inputs: tuple[str, ...], label: str
) -> dict[str, float]:
    predicted = model.predict(test_set[list(inputs)])
    return {
        "test_rmse": float(np.sqrt(sk.mean_squared_error(test_set[label], predicted))),
        "test_mae": float(sk.mean_absolute_error(test_set[label], predicted)),
        "test_r2": float(sk.r2_score(test_set[label], predicted)),
    }


TASK_METRICS = {"binary": binary_metrics, "multiclass": multiclass_metrics, "regression": regression_metrics}


if __name__ == "__main__":
    sys.exit(main())
