"""Preprocess: turn the feature table into model matrices, in one of two modes.

train    fit the feature transformer on a training split (stratified by class for a classifier)
         and apply it to both splits::

    preprocess.py --use-type train --features-dir F --train-dir T --test-dir S --transformer-dir X \\
        [--test-size 0.2] [--random-state 42]

  writes ``T/train.parquet`` and ``S/test.parquet`` (the id, the model inputs, the label)
  and ``X/transformer.joblib``. The columns come from the data contract.

predict  apply the transformer of the current model to new data::

    preprocess.py --use-type predict --features-dir F --model-dir M --predict-dir P
    preprocess.py --use-type predict --features-dir F --model-package-group G [--region R] --predict-dir P

  the current model is the published one in ``M`` (``models/latest``), or the newest Approved
  version of the Model Registry group ``G`` (how SageMaker runs the step with the registry on);
  writes ``P/predict.parquet`` (the id, the model inputs) and ``P/_transformed_by.json``,
  the version of the model whose transformer was applied (predict.py checks it).

Paths default to the SageMaker Processing locations (/opt/ml/processing/...).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.approved_model import load_approved
from {{ cookiecutter.package_name }}.cli import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    configure_logging,
    fraction,
    report,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.features import fit_transform, transform
from {{ cookiecutter.package_name }}.files import atomic_outputs, write_json
from {{ cookiecutter.package_name }}.model_bundle import (
    TRANSFORMED_BY_FILE,
    TRANSFORMER_FILE,
    PublishedModel,
    load_published,
)
from {{ cookiecutter.package_name }}.tables import PREDICTION_INPUTS, TEST_SPLIT, TRAINING_SPLIT, read_table, write_parquet
from {{ cookiecutter.package_name }}.validation import conform_feature_table

log = logging.getLogger("preprocess")

# Options of one mode only, with their defaults (given in the other mode, they are an error).
MODE_OPTIONS = {
    "train": {
        "train_dir": Path(PROCESSING_OUTPUT, "train"),
        "test_dir": Path(PROCESSING_OUTPUT, "test"),
        "transformer_dir": Path(PROCESSING_OUTPUT, "transformer"),
        "test_size": 0.2,
        "random_state": 42,
    },
    "predict": {
        "model_dir": None,  # see check_model_options
        "model_package_group": None,
        "region": None,
        "predict_dir": Path(PROCESSING_OUTPUT, "predict"),
    },
}
PUBLISHED_MODEL_DIR = Path(PROCESSING_INPUT, "model")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Feature table -> model matrices (train: fit; predict: apply).")
    parser.add_argument("--use-type", required=True, choices=schema.USE_TYPES)
    parser.add_argument(
        "--features-dir", type=Path, default=Path(PROCESSING_INPUT, "features"), help="the ETL's Parquet files"
    )
    train = parser.add_argument_group("train mode")
    train.add_argument("--train-dir", type=Path, help="gets train.parquet")
    train.add_argument("--test-dir", type=Path, help="gets test.parquet")
    train.add_argument("--transformer-dir", type=Path, help=f"gets {TRANSFORMER_FILE}")
    train.add_argument("--test-size", type=fraction, help="share of rows held out for testing (default 0.2)")
    train.add_argument("--random-state", type=int, help="seed of the split (default 42)")
    predict = parser.add_argument_group("predict mode")
    model = predict.add_mutually_exclusive_group()
    model.add_argument("--model-dir", type=Path, help=f"the published model (default {PUBLISHED_MODEL_DIR})")
    model.add_argument("--model-package-group", metavar="NAME", help="instead: its newest Approved model version")
    predict.add_argument("--region", help="AWS region of the model package group (default: the shell's)")
    predict.add_argument("--predict-dir", type=Path, help="gets predict.parquet")
    args = parser.parse_args(argv)

    other = "predict" if args.use_type == "train" else "train"
    for name in MODE_OPTIONS[other]:
        if getattr(args, name) is not None:
            parser.error(f"--{name.replace('_', '-')} is only used with --use-type {other}")
    for name, default in MODE_OPTIONS[args.use_type].items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.use_type == "predict":
        check_model_options(parser, args)
    return args


def check_model_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The published model by default; the registry when a model package group is named."""
    if args.model_package_group is None:
        if args.region is not None:
            parser.error("--region is only used with --model-package-group")
        args.model_dir = args.model_dir or PUBLISHED_MODEL_DIR


def current_model(args: argparse.Namespace) -> PublishedModel:
    """The model to apply: the newest Approved version of the group, else the published model."""
    if args.model_package_group is not None:
        return load_approved(args.model_package_group, args.region)
    return load_published(args.model_dir)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        if args.use_type == "train":
            preprocess_train(
                args.features_dir,
                args.train_dir,
                args.test_dir,
                args.transformer_dir,
                args.test_size,
                args.random_state,
            )
        else:
            preprocess_predict(args.features_dir, current_model(args), args.predict_dir)
    except StepError as error:
        return report(error)
    return 0


def preprocess_train(
    features_dir: Path, train_dir: Path, test_dir: Path, transformer_dir: Path, test_size: float, random_state: int
) -> None:
    table = conform_feature_table(read_table(features_dir, "feature table"), "train", str(features_dir))
    train, test = split(table, test_size, random_state, str(features_dir))
    # Fitted on the training split only, so that the test split measures unseen data.
    transformer, train_matrix = fit_transform(train)
    test_matrix = transform(transformer, test)
    with atomic_outputs(train_dir, test_dir, transformer_dir) as (train_out, test_out, transformer_out):
        write_parquet(model_set(train, train_matrix), train_out / "train.parquet", role=TRAINING_SPLIT)
        write_parquet(model_set(test, test_matrix), test_out / "test.parquet", role=TEST_SPLIT)
        joblib.dump(transformer, transformer_out / TRANSFORMER_FILE)
    log.info(
        "Split %d rows into %d for training and %d for testing; %d model inputs",
        len(table),
        len(train),
        len(test),
        train_matrix.shape[1],
    )


def split(table: pd.DataFrame, test_size: float, random_state: int, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random split; for a classifier one that keeps the share of each class equal in both parts."""
    of = schema.contract()
    label = table[of.label.column]
    test_rows = round(test_size * len(table))
    classes = label.nunique() if of.is_classification else 1
    if not classes <= test_rows <= len(table) - classes:
        raise StepError(
            f"{source}: {len(table)} rows are too few to split with --test-size {test_size}: "
            f"each part needs a row of each of the {classes} class(es); change --test-size or add rows"
        )
    try:
        return train_test_split(
            table, test_size=test_size, random_state=random_state, stratify=label if of.is_classification else None
        )
    except ValueError as error:
        raise StepError(f"{source}: cannot split the rows into train and test ({error})") from None


def model_set(rows: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """The id, the model inputs and, when ``rows`` have it, the label."""
    of = schema.contract()
    label = [of.label.column] if of.label.column in rows else []
    return pd.concat([rows[[of.id_column]], matrix, rows[label]], axis="columns")


def preprocess_predict(features_dir: Path, model: PublishedModel, predict_dir: Path) -> None:
    table = conform_feature_table(read_table(features_dir, "feature table"), "predict", str(features_dir))
    schema.check_names(
        model.bundle.feature_columns,
        schema.contract().feature_names,
        source=f"{model.source} (model {model.version})",
        fix="the model was trained on other features than etl.py writes now: run a train pipeline to replace it",
    )
    matrix = transform(model.bundle.transformer, table)
    with atomic_outputs(predict_dir) as (predict_out,):
        write_parquet(model_set(table, matrix), predict_out / "predict.parquet", role=PREDICTION_INPUTS)
        write_json(predict_out / TRANSFORMED_BY_FILE, {"model_version": model.version})
    log.info("Prepared %d rows with the transformer of model %s", len(table), model.version)


if __name__ == "__main__":
    sys.exit(main())
