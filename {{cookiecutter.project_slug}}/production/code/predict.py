"""Predict: score the prepared rows with the current model.

    predict.py --features-dir P --model-dir models/latest --predictions-dir D --execution-date 2024-06-01 \\
        [--decision-threshold 0.5]
    predict.py --features-dir P --model-package-group G [--region R] --predictions-dir D --execution-date ...

``P`` is PreprocessPredict's output (the id and the model inputs). The current model is
the published one (``--model-dir``), or the newest Approved version of the Model Registry
group ``G`` (how SageMaker runs the step with the registry on). Writes
``D/predictions.parquet`` (``schema.prediction_columns``): the id, the task's values
(binary: probability, predicted_class; multiclass: probability_<class> per class,
predicted_class; regression: prediction), model_version, execution_date. A binary model's
decision threshold defaults to the one its evaluation used.

Refused: a directory without a published model, a group without an Approved version, a
model that did not pass its quality gate, a model of another task than the data contract's,
and rows prepared with another model's transformer (or any table but PreprocessPredict's).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
from pathlib import Path

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
from {{ cookiecutter.package_name }}.tables import PREDICTION_INPUTS, PREDICTIONS, arrow_schema, read_table, write_parquet
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("predict")

RERUN_PREPROCESS = "run PreprocessPredict and Predict again, so that both use the current model"
PUBLISHED_MODEL_DIR = Path(PROCESSING_INPUT, "model")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score prepared rows with the current model.")
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
        "--decision-threshold",
        type=fraction,
        default=None,
        help="binary: probability that counts as the positive class (default: the one of the model's evaluation)",
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
    of = schema.contract()
    check_task(model)
    needed = (of.id_column, *model.bundle.input_columns)
    rows = read_table(features_dir, "prediction inputs", role=PREDICTION_INPUTS, columns=needed)
    check_prepared_by(model, features_dir)
    matrix = model_matrix(rows, model.bundle.input_columns, str(features_dir), RERUN_PREPROCESS, with_label=False)

    threshold = decision_threshold if decision_threshold is not None else model.decision_threshold
    values = model.bundle.predict_matrix(matrix, threshold)
    predictions = pd.concat(
        [
            matrix[[of.id_column]],
            values,
            pd.DataFrame(
                {
                    schema.MODEL_VERSION_COLUMN: model.version,
                    schema.PARTITION_COLUMN: datetime.date.fromisoformat(execution_date),
                },
                index=matrix.index,
            ),
        ],
        axis="columns",
    )
    columns = schema.prediction_columns(model.bundle.classes)
    with atomic_outputs(predictions_dir) as (predictions_out,):
        write_parquet(predictions, predictions_out / "predictions.parquet", arrow_schema(columns), role=PREDICTIONS)
    log.info("Scored %d rows with model %s (%s)", len(predictions), model.version, summary(values, threshold))
    return predictions


def summary(values: pd.DataFrame, threshold: float) -> str:
    if schema.PREDICTED_CLASS_COLUMN not in values:
        return f"mean prediction {values[schema.PREDICTION_COLUMN].mean():.4g}"
    counts = values[schema.PREDICTED_CLASS_COLUMN].value_counts().sort_index()
    shown = ", ".join(f"{value!r}: {int(count)}" for value, count in counts.items())
    at = f" at threshold {threshold}" if schema.PROBABILITY_COLUMN in values else ""
    return f"predicted classes {shown}{at}"


def check_task(model: PublishedModel) -> None:
    """The predictions table follows the contract's task: the model must be of that task."""
    task = schema.contract().task
    if model.bundle.task != task:
        raise StepError(
            f"{model.source}: model {model.version} is a {model.bundle.task} model, but the data contract's task is "
            f"{task}; run a train pipeline to replace it"
        )


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
