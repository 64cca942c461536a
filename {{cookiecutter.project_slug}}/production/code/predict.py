"""Predict: score the prepared bookings with the current model.

    predict.py --features-dir P --model-dir models/latest --predictions-dir D --execution-date 2024-06-01 \\
        [--decision-threshold 0.5]
    predict.py --features-dir P --model-package-group G [--region R] --predictions-dir D --execution-date ...

``P`` is PreprocessPredict's output (booking_id and the model inputs). The current model is
the published one (``--model-dir``), or the newest Approved version of the Model Registry
group ``G`` (how SageMaker runs the step with the registry on). Writes
``D/predictions.parquet``: booking_id, probability, predicted_class, model_version,
execution_date (``schema.PREDICTION_COLUMNS``). The decision threshold defaults to the
one the model's evaluation used.

Refused: a directory without a published model, a group without an Approved version, a
model that did not pass its quality gate, and rows prepared with another model's transformer.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.approved_model import load_approved
from {{ cookiecutter.package_name }}.cli import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    configure_logging,
    fraction,
    iso_date,
    report,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs, read_json
from {{ cookiecutter.package_name }}.model_bundle import TRANSFORMED_BY_FILE, PublishedModel, load_published
from {{ cookiecutter.package_name }}.tables import arrow_schema, read_table, write_parquet
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("predict")

RERUN_PREPROCESS = "run PreprocessPredict and Predict again, so that both use the current model"
PUBLISHED_MODEL_DIR = Path(PROCESSING_INPUT, "model")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score prepared bookings with the current model.")
    parser.add_argument(
        "--features-dir", type=Path, default=Path(PROCESSING_INPUT, "features"), help="PreprocessPredict's output"
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model-dir", type=Path, help=f"the published model (default {PUBLISHED_MODEL_DIR})")
    model.add_argument("--model-package-group", metavar="NAME", help="instead: its newest Approved model version")
    parser.add_argument("--region", help="AWS region of the model package group (default: the shell's)")
    parser.add_argument(
        "--predictions-dir", type=Path, default=Path(PROCESSING_OUTPUT, "predictions"), help="gets predictions.parquet"
    )
    parser.add_argument("--execution-date", required=True, type=iso_date, help="YYYY-MM-DD, written on every row")
    parser.add_argument(
        "--decision-threshold", type=fraction, default=None, help="default: the threshold of the model's evaluation"
    )
    args = parser.parse_args(argv)
    if args.model_package_group is None:
        if args.region is not None:
            parser.error("--region is only used with --model-package-group")
        args.model_dir = args.model_dir or PUBLISHED_MODEL_DIR
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        model = current_model(args)
        predict(args.features_dir, model, args.predictions_dir, args.execution_date, args.decision_threshold)
    except StepError as error:
        return report(error)
    return 0


def current_model(args: argparse.Namespace) -> PublishedModel:
    """The model to score with: the newest Approved version of the group, else the published model."""
    if args.model_package_group is not None:
        return load_approved(args.model_package_group, args.region)
    return load_published(args.model_dir)


def predict(
    features_dir: Path,
    model: PublishedModel,
    predictions_dir: Path,
    execution_date: str,
    decision_threshold: float | None = None,
) -> pd.DataFrame:
    rows = read_table(features_dir, "predict set")
    check_prepared_by(model, features_dir)
    matrix = model_matrix(rows, model.bundle.input_columns, str(features_dir), RERUN_PREPROCESS, with_label=False)

    probabilities = model.bundle.probabilities(matrix)
    threshold = decision_threshold if decision_threshold is not None else model.decision_threshold
    predictions = pd.DataFrame(
        {
            schema.ID_COLUMN: matrix[schema.ID_COLUMN].to_numpy(),
            "probability": probabilities,
            "predicted_class": (probabilities >= threshold).astype(np.int32),
            "model_version": model.version,
            schema.PARTITION_COLUMN: datetime.date.fromisoformat(execution_date),
        }
    )
    with atomic_outputs(predictions_dir) as (predictions_out,):
        write_parquet(predictions, predictions_out / "predictions.parquet", arrow_schema(schema.PREDICTION_COLUMNS))
    log.info(
        "Scored %d bookings with model %s: %d predicted buyers at threshold %s",
        len(predictions),
        model.version,
        int(predictions["predicted_class"].sum()),
        threshold,
    )
    return predictions


def check_prepared_by(model: PublishedModel, features_dir: Path) -> None:
    """The rows must come from this model's transformer: a model published (or approved) in
    between would otherwise score inputs it does not know the meaning of."""
    record = read_json(features_dir / TRANSFORMED_BY_FILE, "record of the model whose transformer prepared the rows")
    if record.get("model_version") != model.version:
        raise StepError(
            f"{features_dir}: prepared with the transformer of model {record.get('model_version')}, "
            f"but the current model is {model.version}; {RERUN_PREPROCESS}"
        )


if __name__ == "__main__":
    sys.exit(main())
