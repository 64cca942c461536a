"""preprocess.py in both modes: what it writes, and the inputs it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import model_bundle, schema, tables

import preprocess


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


def predict_arguments(features_dir: Path, model_dir: Path, predict_dir: Path) -> list[str]:
    return [
        "--use-type", "predict",
        "--features-dir", str(features_dir),
        "--model-dir", str(model_dir),
        "--predict-dir", str(predict_dir),
    ]  # fmt: skip


# --------------------------------------------------------------------------- train mode


def test_train_mode_writes_stratified_splits_and_the_fitted_transformer(train_features_dir, tmp_path, train_sample):
    assert preprocess.main(train_arguments(train_features_dir, tmp_path, "--test-size", "0.25")) == 0

    train = tables.read_table(tmp_path / "train", "train")
    test = tables.read_table(tmp_path / "test", "test")
    transformer = joblib.load(tmp_path / "transformer" / model_bundle.TRANSFORMER_FILE)
    inputs = list(transformer.get_feature_names_out())

    assert list(train.columns) == [schema.ID_COLUMN, *inputs, schema.LABEL.name]
    assert list(test.columns) == list(train.columns)
    assert (train[inputs].dtypes == np.float32).all()
    assert len(test) == len(train_sample.features) // 4
    assert sorted([*train[schema.ID_COLUMN], *test[schema.ID_COLUMN]]) == sorted(
        train_sample.features[schema.ID_COLUMN]
    )
    overall = train_sample.features[schema.LABEL.name].mean()
    assert train[schema.LABEL.name].mean() == pytest.approx(overall, abs=0.01)
    assert test[schema.LABEL.name].mean() == pytest.approx(overall, abs=0.01)
    # Fitted on the training split only: imputed values are the training split's medians.
    training_rows = train_sample.features.set_index(schema.ID_COLUMN).loc[train[schema.ID_COLUMN]]
    medians = training_rows[list(schema.NUMERIC_FEATURES)].astype("float64").median()
    assert transformer.named_transformers_["numeric"].statistics_ == pytest.approx(medians.to_numpy())


def test_train_mode_is_reproducible_and_its_split_follows_the_seed(train_features_dir, tmp_path):
    for name, seed in (("first", "1"), ("again", "1"), ("other", "2")):
        assert preprocess.main(train_arguments(train_features_dir, tmp_path / name, "--random-state", seed)) == 0
    test_ids = {
        name: tables.read_table(tmp_path / name / "test", "test")[schema.ID_COLUMN].tolist()
        for name in ("first", "again", "other")
    }
    assert test_ids["first"] == test_ids["again"]
    assert test_ids["first"] != test_ids["other"]


def test_options_of_the_other_mode_are_refused(train_features_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        preprocess.main([*train_arguments(train_features_dir, tmp_path), "--model-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--model-dir is only used with --use-type predict" in capsys.readouterr().err
    assert not any(path.exists() for path in train_outputs(tmp_path))


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


def test_no_rows(tmp_path, train_sample, write_features, expect_failure):
    features = write_features(train_sample.features.head(0), tmp_path / "features")
    expect_failure(
        preprocess.main, train_arguments(features, tmp_path), f"{features}: no rows", outputs=train_outputs(tmp_path)
    )


def test_missing_and_extra_columns(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    frame = train_sample.features.drop(columns=["cabin"]).assign(coupon="X")
    tables.write_parquet(frame, features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: missing column(s) cabin; unexpected column(s) coupon",
        outputs=train_outputs(tmp_path),
    )


def test_wrong_types(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    frame = train_sample.features.astype({"fare_per_passenger": str})
    frame.loc[0, "fare_per_passenger"] = "cheap"
    tables.write_parquet(frame, features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column fare_per_passenger must hold numbers, found 'cheap' in 1 row(s)",
        outputs=train_outputs(tmp_path),
    )


def test_numbers_where_text_belongs(tmp_path, train_sample, expect_failure):
    features = tmp_path / "features"
    features.mkdir()
    tables.write_parquet(train_sample.features.assign(cabin=3), features / "part-00000.parquet")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column cabin must hold text, found 3 (int)",
        outputs=train_outputs(tmp_path),
    )


def test_all_null_target(tmp_path, train_sample, write_features, expect_failure):
    features = write_features(train_sample.features.assign(bought_bag=None), tmp_path / "features")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column bought_bag is all null ({len(train_sample.features)} rows)",
        outputs=train_outputs(tmp_path),
    )


def test_some_null_targets(tmp_path, train_sample, write_features, expect_failure):
    frame = train_sample.features.astype({schema.LABEL.name: "Int64"})
    frame.loc[[1, 2], schema.LABEL.name] = pd.NA
    features = write_features(frame, tmp_path / "features")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column bought_bag is null in 2 of {len(frame)} rows",
        outputs=train_outputs(tmp_path),
    )


def test_single_class_target(tmp_path, train_sample, write_features, expect_failure):
    features = write_features(train_sample.features.assign(bought_bag=1), tmp_path / "features")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: column bought_bag holds only class 1",
        "needs examples of both classes",
        outputs=train_outputs(tmp_path),
    )


def test_too_few_rows_of_one_class_to_split(tmp_path, train_sample, write_features, expect_failure):
    frame = train_sample.features.head(30).assign(bought_bag=0)
    frame.loc[0, schema.LABEL.name] = 1
    features = write_features(frame, tmp_path / "features")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: 30 rows (1 in the smaller class) are too few to split",
        outputs=train_outputs(tmp_path),
    )


def test_duplicate_booking_ids(tmp_path, train_sample, write_features, expect_failure):
    frame = pd.concat([train_sample.features, train_sample.features.head(1)], ignore_index=True)
    features = write_features(frame, tmp_path / "features")
    expect_failure(
        preprocess.main,
        train_arguments(features, tmp_path),
        f"{features}: booking_id {frame.loc[0, schema.ID_COLUMN]!r} and 0 other(s) occur more than once",
        outputs=train_outputs(tmp_path),
    )


# --------------------------------------------------------------------------- predict mode


def test_predict_mode_applies_the_published_transformer(trained, predict_features_dir, tmp_path, predict_sample):
    predict_dir = tmp_path / "predict"
    assert preprocess.main(predict_arguments(predict_features_dir, trained.latest_dir, predict_dir)) == 0

    published = model_bundle.load_published(trained.latest_dir)
    prepared = tables.read_table(predict_dir, "predict set")
    assert list(prepared.columns) == [schema.ID_COLUMN, *published.bundle.input_columns]
    assert prepared[schema.ID_COLUMN].tolist() == predict_sample.features[schema.ID_COLUMN].tolist()
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
        f"{train_features_dir}: unexpected column(s) bought_bag",
        outputs=(predict_dir,),
    )


def test_model_trained_on_other_features(trained, predict_features_dir, tmp_path, republish, expect_failure):
    def older_schema(metadata: dict) -> None:
        metadata["feature_columns"] = [name for name in metadata["feature_columns"] if name != "channel"] + ["route"]

    latest = republish(trained, older_schema)
    predict_dir = tmp_path / "predict"
    expect_failure(
        preprocess.main,
        predict_arguments(predict_features_dir, latest, predict_dir),
        f"{latest} (model ",
        "missing column(s) channel; unexpected column(s) route",
        "run a train pipeline to replace it",
        outputs=(predict_dir,),
    )
