"""Train: fit the random forest and write the model bundle (SageMaker training-toolkit contract).

SageMaker runs ``train.py --n-estimators 200 --max-depth 12 --random-state 42`` (the
hyperparameters) with the data channels in ``SM_CHANNEL_TRAIN``, ``SM_CHANNEL_TEST`` and
``SM_CHANNEL_TRANSFORMER``; what the script writes to ``SM_MODEL_DIR`` becomes the job's
model.tar.gz. Each of these can also be given as an option (``--train-dir`` ...), which
is how the tests call it.

Writes to the model directory ``model.joblib``, a byte copy of ``transformer.joblib`` and
``metadata.json`` (see ``model_bundle.py``), and to ``SM_OUTPUT_DATA_DIR`` a
``metrics.json``. Prints each metric as ``name=value;`` for the job's metric definitions
(``training_metrics.metric_definitions()``). The serving functions live in inference.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

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
from {{ cookiecutter.package_name }}.tables import read_table
from {{ cookiecutter.package_name }}.training_metrics import log_line
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("train")

RERUN_PREPROCESS = "the splits and the transformer must come from the same PreprocessTrain run"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # Read when parsing, not at import: the toolkit sets these variables in the job's environment.
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Train the classifier and write the model bundle.")
    parser.add_argument("--n-estimators", type=positive_int, default=200, help="trees in the forest")
    parser.add_argument("--max-depth", type=positive_int, default=12, help="maximum depth of each tree")
    parser.add_argument("--random-state", type=int, default=42, help="seed of the forest")
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
            args.train_dir, args.test_dir, args.transformer_dir, args.model_dir, args.output_data_dir, hyperparameters
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
) -> None:
    transformer = load_transformer(transformer_dir)
    inputs = tuple(str(name) for name in transformer.get_feature_names_out())
    train_set = read_table(train_dir, "training split")
    train_set = model_matrix(train_set, inputs, str(train_dir), RERUN_PREPROCESS, with_label=True)
    test_set = read_table(test_dir, "test split")
    test_set = model_matrix(test_set, inputs, str(test_dir), RERUN_PREPROCESS, with_label=True)

    # Trees are grown on every core of the training instance. Scoring stays single-threaded:
    # threads add up the trees' votes in whatever order they finish, which changes the last
    # digits of a probability from run to run; batch and online scores must be reproducible.
    model = RandomForestClassifier(**hyperparameters, n_jobs=-1)
    model.fit(train_set[list(inputs)], train_set[schema.LABEL.name])
    model.set_params(n_jobs=None)
    train_scores = positive_probability(model, train_set, inputs)
    metrics = {
        "train_roc_auc": float(roc_auc_score(train_set[schema.LABEL.name], train_scores)),
        **held_out_metrics(model, test_set, inputs),
    }
    for name, value in metrics.items():
        print(log_line(name, value), flush=True)

    training = {
        "rows": len(train_set),
        "positive_rate": float(train_set[schema.LABEL.name].mean()),
        "metrics": metrics,
    }
    metadata = bundle_metadata(model, transformer, hyperparameters, training)
    with atomic_outputs(model_dir, output_data_dir) as (model_out, data_out):
        write_bundle(model_out, model, transformer_dir / TRANSFORMER_FILE, metadata)
        write_json(data_out / "metrics.json", metrics)
    log.info("Trained on %d rows, test ROC AUC %.4f; model in %s", len(train_set), metrics["test_roc_auc"], model_dir)


def positive_probability(model: RandomForestClassifier, rows: pd.DataFrame, inputs: tuple[str, ...]) -> np.ndarray:
    return model.predict_proba(rows[list(inputs)])[:, list(model.classes_).index(1)]


def held_out_metrics(
    model: RandomForestClassifier, test_set: pd.DataFrame, inputs: tuple[str, ...]
) -> dict[str, float]:
    labels = test_set[schema.LABEL.name]
    probabilities = positive_probability(model, test_set, inputs)
    return {
        "test_roc_auc": float(roc_auc_score(labels, probabilities)),
        "test_pr_auc": float(average_precision_score(labels, probabilities)),
        "test_log_loss": float(log_loss(labels, probabilities, labels=[0, 1])),
    }


if __name__ == "__main__":
    sys.exit(main())
