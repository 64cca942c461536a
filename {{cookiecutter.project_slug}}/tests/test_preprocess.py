"""preprocess.py in both modes: what it writes, and the inputs it refuses.

Column names come from the data contract, so the tests hold for every starter and task.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import model_bundle, schema, tables

import preprocess

CONTRACT = schema.contract()
ID, LABEL = CONTRACT.id_column, CONTRACT.label.column
NUMERIC, CATEGORICAL = CONTRACT.numeric_features[0], CONTRACT.categorical_features[0]
classification = pytest.mark.skipif(not CONTRACT.is_classification, reason="a regression label has no classes")


def train_arguments(features_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--use-type", "train",
        "--features-dir", str(features_dir),
        "--train-dir", str(out / "train"),
        "--test-dir", str(out / "test"),
        "--transformer-dir", str(out / "transformer"),
        *extra,
    ]  # fmt: skip


def train_outputs(out: Path) -> tuple[Path, ...]:
    return out / "train", out / "test", out / "transformer"


@pytest.fixture
def refuses_training(tmp_path, write_features, expect_failure) -> Callable[..., None]:
    """Preprocess in train mode refuses ``frame`` with one line ``<features dir>: <problem>``
    (holding ``more`` too), and writes none of its outputs."""

    def check(frame: pd.DataFrame, problem: str, *more: str) -> None:
        features = write_features(frame, tmp_path / "features")
        expect_failure(
            preprocess.main,
            train_arguments(features, tmp_path),
            f"{features}: {problem}",
            *more,
            outputs=train_outputs(tmp_path),
        )

    return check


def predict_arguments(features_dir: Path, model_dir: Path, predict_dir: Path) -> list[str]:
    return [
        "--use-type", "predict",
        "--features-dir", str(features_dir),
        "--model-dir", str(model_dir),
        "--predict-dir", str(predict_dir),
    ]  # fmt: skip


def role(path: Path) -> str | None:
    return tables.role_of(pq.read_schema(path))


# --------------------------------------------------------------------------- train mode


def test_train_mode_writes_the_splits_and_the_fitted_transformer(train_features_dir, tmp_path, train_sample):
    assert preprocess.main(train_arguments(train_features_dir, tmp_path, "--test-size", "0.25")) == 0

    train = tables.read_table(tmp_path / "train", "train", role=tables.TRAINING_SPLIT)
    test = tables.read_table(tmp_path / "test", "test", role=tables.TEST_SPLIT)
    transformer = joblib.load(tmp_path / "transformer" / model_bundle.TRANSFORMER_FILE)
    inputs = list(transformer.get_feature_names_out())

    assert list(train.columns) == [ID, *inputs, LABEL]
    assert list(test.columns) == list(train.columns)
    assert (train[inputs].dtypes == np.float32).all()
    assert len(test) == len(train_sample.features) // 4
    assert sorted([*train[ID], *test[ID]]) == sorted(train_sample.features[ID])
    # Fitted on the training split only: imputed values are the training split's medians.
    training_rows = train_sample.features.set_index(ID).loc[train[ID]]
    medians = training_rows[list(CONTRACT.numeric_features)].astype("float64").median()
    assert transformer.named_transformers_["numeric"].statistics_ == pytest.approx(medians.to_numpy())


def test_the_split_files_say_which_split_they_hold(train_features_dir, tmp_path):
    assert preprocess.main(train_arguments(train_features_dir, tmp_path)) == 0
    assert role(tmp_path / "train" / "train.parquet") == tables.TRAINING_SPLIT
    assert role(tmp_path / "test" / "test.parquet") == tables.TEST_SPLIT


@classification
def test_a_classifiers_split_keeps_the_share_of_each_class(train_features_dir, tmp_path, train_sample):
    assert preprocess.main(train_arguments(train_features_dir, tmp_path, "--test-size", "0.25")) == 0
    overall = train_sample.features[LABEL].value_counts(normalize=True)
    for split in ("train", "test"):
        shares = tables.read_table(tmp_path / split, split)[LABEL].value_counts(normalize=True)
        assert shares.reindex(overall.index).to_numpy() == pytest.approx(overall.to_numpy(), abs=0.01)


def test_train_mode_is_reproducible_and_its_split_follows_the_seed(train_features_dir, tmp_path):
    for name, seed in (("first", "1"), ("again", "1"), ("other", "2")):
        assert preprocess.main(train_arguments(train_features_dir, tmp_path / name, "--random-state", seed)) == 0
    test_ids = {
        name: tables.read_table(tmp_path / name / "test", "test")[ID].tolist() for name in ("first", "again", "other")
    }
    assert test_ids["first"] == test_ids["again"]
    assert test_ids["first"] != test_ids["other"]


def test_options_of_the_other_mode_are_refused(train_features_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        preprocess.main([*train_arguments(train_features_dir, tmp_path), "--model-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--model-dir is only used with --use-type predict" in capsys.readouterr().err
    assert not any(path.exists() for path in train_outputs(tmp_path))


# --------------------------------------------------------------------------- refused feature tables


def test_missing_features_directory(tmp_path, expect_failure):
    missing = tmp_path / "features" / "train"
    expect_failure(
        preprocess.main,
        train_arguments(missing, tmp_path),
        f"{missing}: feature table does not exist",
        outputs=train_outputs(tmp_path),
    )


def test_empty_file(tmp_path, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    (features / "part-00000.parquet").write_bytes(b"")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}/part-00000.parquet: empty file",
        outputs=train_outputs(tmp_path),
    )


def test_no_rows(train_sample, refuses_training):
    refuses_training(train_sample.features.head(0), "no rows")


def test_too_few_rows_to_train(train_sample, refuses_training):
    rows = data_contract.MIN_ROWS - 1
    refuses_training(
        train_sample.features.head(rows),
        f"{rows} rows are too few to train and test a model; at least {data_contract.MIN_ROWS}",
    )


def test_missing_and_extra_columns(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    frame = train_sample.features.drop(columns=[CATEGORICAL]).assign(unexpected_column="X")
    tables.write_parquet(frame, features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: missing column(s) {CATEGORICAL}; unexpected column(s) unexpected_column",
        outputs=train_outputs(tmp_path),
    )


def feature_schema(changed: dict[str, pa.DataType], dropped: tuple[str, ...] = ()) -> pa.Schema:
    """The feature table's Parquet types with some changed or left out, as an odd part file has them."""
    fields = tables.arrow_schema(schema.feature_table_columns("train"))
    return pa.schema([pa.field(f.name, changed.get(f.name, f.type)) for f in fields if f.name not in dropped])


def test_parts_with_different_column_types(tmp_path, train_sample, write_features, expect_failure):
    features = write_features(train_sample.features.iloc[:100], tmp_path / "features")
    odd = train_sample.features.iloc[100:].astype({NUMERIC: str})
    tables.write_parquet(odd, features / "part-00001.parquet", feature_schema({NUMERIC: pa.string()}))
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}/part-00001.parquet: column {NUMERIC} is string, but",
        "in part-00000.parquet",
        outputs=train_outputs(tmp_path),
    )


def test_a_part_that_lacks_a_column(tmp_path, train_sample, write_features, expect_failure):
    features = write_features(train_sample.features.iloc[:100], tmp_path / "features")
    odd = train_sample.features.iloc[100:].drop(columns=[NUMERIC])
    tables.write_parquet(odd, features / "part-00001.parquet", feature_schema({}, dropped=(NUMERIC,)))
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}/part-00001.parquet: lacks column {NUMERIC}, which part-00000.parquet has",
        outputs=train_outputs(tmp_path),
    )


def test_wrong_types(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    frame = train_sample.features.copy()
    frame[NUMERIC] = frame[NUMERIC].map(lambda value: None if pd.isna(value) else str(value))
    frame.loc[0, NUMERIC] = "cheap"
    tables.write_parquet(frame, features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column {NUMERIC} must hold numbers, found 'cheap' in 1 row(s)",
        outputs=train_outputs(tmp_path),
    )


def test_numbers_where_text_belongs(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    tables.write_parquet(train_sample.features.assign(**{CATEGORICAL: 3}), features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column {CATEGORICAL} must hold text, found 3 (int)",
        outputs=train_outputs(tmp_path),
    )


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), 1e39], ids=["inf", "-inf", "beyond-float32"])
def test_numbers_a_model_cannot_hold(tmp_path, train_sample, expect_failure, bad):
    features = tmp_path / "features"
    features.mkdir()
    frame = train_sample.features.astype({NUMERIC: "float64"})
    frame.loc[[3, 5], NUMERIC] = bad
    tables.write_parquet(frame, features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column {NUMERIC} holds 2 value(s) that are infinite or beyond",
        f"e.g. {bad!r}",
        outputs=train_outputs(tmp_path),
    )


def test_duplicate_ids(train_sample, refuses_training):
    frame = pd.concat([train_sample.features, train_sample.features.head(1)], ignore_index=True)
    refuses_training(
        frame,
        f"{ID} {frame.loc[0, ID]!r} and 0 other(s) occur more than once",
    )


# --------------------------------------------------------------------------- refused labels


def test_all_null_label(train_sample, refuses_training):
    refuses_training(
        train_sample.features.assign(**{LABEL: None}),
        f"column {LABEL} is all null ({len(train_sample.features)} rows)",
    )


def test_some_null_labels(train_sample, refuses_training):
    frame = train_sample.features.astype({LABEL: object})
    frame.loc[[1, 2], LABEL] = None
    refuses_training(
        frame,
        f"column {LABEL} is null in 2 of {len(frame)} rows",
    )


@pytest.mark.skipif(CONTRACT.task != "binary", reason="binary labels only")
def test_single_class_label(train_sample, refuses_training):
    only = train_sample.features[LABEL].tolist()[0]
    refuses_training(
        train_sample.features.assign(**{LABEL: only}),
        f"column {LABEL} holds only class {only!r}",
        "needs examples of both classes",
    )


@classification
def test_too_few_rows_of_one_class(train_sample, refuses_training):
    frame = train_sample.features.copy()
    counts = frame[LABEL].value_counts()
    common, rare = counts.index.tolist()[0], counts.index.tolist()[-1]
    kept = data_contract.MIN_ROWS_PER_CLASS - 2
    frame.loc[frame.index[frame[LABEL] == rare][kept:], LABEL] = common
    refuses_training(
        frame,
        f"column {LABEL} has only {kept} row(s) of class {rare!r}",
        f"at least {data_contract.MIN_ROWS_PER_CLASS} rows",
    )


@classification
def test_a_class_the_contract_does_not_declare(train_sample, refuses_training):
    frame = train_sample.features.copy()
    stranger = "unheard_of" if CONTRACT.label_column.type == "string" else 7
    frame.loc[[0, 4, 9], LABEL] = stranger
    refuses_training(
        frame,
        f"column {LABEL} must be one of",
        f"found {stranger!r} in 3 row(s)",
    )


@pytest.mark.skipif(CONTRACT.task != "multiclass", reason="multiclass labels only")
def test_a_declared_class_without_rows(train_sample, refuses_training):
    frame = train_sample.features.copy()
    by_count = frame[LABEL].value_counts().index.tolist()
    common, dropped = by_count[0], by_count[-1]
    frame.loc[frame[LABEL] == dropped, LABEL] = common
    refuses_training(
        frame,
        f"column {LABEL} has no row of class(es) {dropped!r}",
    )


@pytest.mark.skipif(CONTRACT.task != "binary", reason="binary labels only")
def test_a_positive_class_without_rows(tmp_path, train_features_dir, monkeypatch, expect_failure):
    # The contract names a positive class the data never holds (a typo such as "Yes" for "yes").
    label = dataclasses.replace(CONTRACT.label, positive_class="no such class")
    monkeypatch.setattr(schema, "contract", lambda: dataclasses.replace(CONTRACT, label=label))
    expect_failure(
        preprocess.main,
        train_arguments(train_features_dir, tmp_path),
        f"{train_features_dir}: column {LABEL} has no row of the positive class 'no such class'",
        outputs=train_outputs(tmp_path),
    )


@pytest.mark.skipif(CONTRACT.is_classification, reason="regression labels only")
def test_a_regression_label_that_is_not_finite(train_sample, refuses_training):
    frame = train_sample.features.copy()
    frame.loc[[2], LABEL] = float("inf")
    refuses_training(
        frame,
        f"column {LABEL} holds 1 value(s) that are infinite",
    )


# --------------------------------------------------------------------------- predict mode


def test_predict_mode_applies_the_published_transformer(trained, predict_features_dir, tmp_path, predict_sample):
    predict_dir = tmp_path / "predict"
    assert preprocess.main(predict_arguments(predict_features_dir, trained.latest_dir, predict_dir)) == 0

    published = model_bundle.load_published(trained.latest_dir)
    prepared = tables.read_table(predict_dir, "predict set", role=tables.PREDICTION_INPUTS)
    assert list(prepared.columns) == [ID, *published.bundle.input_columns]
    assert prepared[ID].tolist() == predict_sample.features[ID].tolist()
    record = json.loads((predict_dir / model_bundle.TRANSFORMED_BY_FILE).read_text())
    assert record == {"model_version": published.version}


def test_predict_before_any_model_exists(predict_features_dir, tmp_path, expect_failure):
    no_model = tmp_path / "models" / "latest"
    predict_dir = tmp_path / "predict"
    expect_failure(
        preprocess.main,
        predict_arguments(predict_features_dir, no_model, predict_dir),
        f"{no_model}: published model directory does not exist",
        "run a train pipeline first",
        outputs=(predict_dir,),
    )


def test_predict_data_that_carries_a_label(trained, train_features_dir, tmp_path, expect_failure):
    predict_dir = tmp_path / "predict"
    expect_failure(
        preprocess.main,
        predict_arguments(train_features_dir, trained.latest_dir, predict_dir),
        f"{train_features_dir}: unexpected column(s) {LABEL}",
        outputs=(predict_dir,),
    )


def test_model_trained_on_other_features(trained, predict_features_dir, tmp_path, republish, expect_failure):
    def older_schema(metadata: dict) -> None:
        features = metadata["feature_columns"]
        metadata["feature_columns"] = [name for name in features if name != CATEGORICAL] + ["retired_feature"]

    latest = republish(trained, older_schema)
    predict_dir = tmp_path / "predict"
    expect_failure(
        preprocess.main,
        predict_arguments(predict_features_dir, latest, predict_dir),
        f"{latest} (model ",
        f"missing column(s) {CATEGORICAL}; unexpected column(s) retired_feature",
        "run a train pipeline to replace it",
        outputs=(predict_dir,),
    )
