"""predict.py: batch scoring with the published model, and the models it refuses."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import files, model_bundle, schema, tables

import predict

DATE = "2024-06-03"
CONTRACT = schema.contract()
ID, TASK = CONTRACT.id_column, CONTRACT.task


def arguments(features_dir: Path, model_dir: Path, predictions_dir: Path, *extra: str) -> list[str]:
    return [
        "--features-dir", str(features_dir),
        "--model-dir", str(model_dir),
        "--predictions-dir", str(predictions_dir),
        "--execution-date", DATE,
        *extra,
    ]  # fmt: skip


def run(trained, prepared_dir: Path, out: Path, *extra: str) -> pd.DataFrame:
    assert predict.main(arguments(prepared_dir, trained.latest_dir, out, *extra)) == 0
    return tables.read_table(out, "predictions", role=tables.PREDICTIONS)


def test_writes_one_prediction_per_row(trained, prepared_predict_dir, predict_sample, tmp_path):
    out = tmp_path / "predictions"
    predictions = run(trained, prepared_predict_dir, out)

    published = model_bundle.load_published(trained.latest_dir)
    columns = schema.prediction_columns(published.bundle.classes)
    assert pq.read_table(out / "predictions.parquet").schema.equals(tables.arrow_schema(columns))
    assert predictions[ID].tolist() == predict_sample.features[ID].tolist()
    assert set(predictions[schema.MODEL_VERSION_COLUMN]) == {published.version}
    assert set(predictions[schema.PARTITION_COLUMN]) == {datetime.date.fromisoformat(DATE)}


@pytest.mark.skipif(TASK != "binary", reason="binary models only")
def test_binary_predictions_are_a_probability_and_a_class(trained, prepared_predict_dir, tmp_path):
    predictions = run(trained, prepared_predict_dir, tmp_path / "predictions")
    bundle = model_bundle.load_published(trained.latest_dir).bundle
    assert predictions[schema.PROBABILITY_COLUMN].between(0, 1).all()
    positive = predictions[schema.PREDICTED_CLASS_COLUMN] == bundle.positive_class
    assert 0 < positive.sum() < len(predictions)
    assert (positive == (predictions[schema.PROBABILITY_COLUMN] >= 0.5)).all()
    assert set(predictions[schema.PREDICTED_CLASS_COLUMN]) == set(bundle.classes)


@pytest.mark.skipif(TASK != "multiclass", reason="multiclass models only")
def test_multiclass_predictions_give_each_class_a_probability(trained, prepared_predict_dir, tmp_path):
    predictions = run(trained, prepared_predict_dir, tmp_path / "predictions")
    classes = model_bundle.load_published(trained.latest_dir).bundle.classes
    probabilities = predictions[[data_contract.class_column(value) for value in classes]]
    assert probabilities.sum(axis="columns").to_numpy() == pytest.approx(1.0)
    most_likely = [classes[index] for index in probabilities.to_numpy().argmax(axis=1)]
    assert predictions[schema.PREDICTED_CLASS_COLUMN].tolist() == most_likely
    assert len(set(most_likely)) > 1


@pytest.mark.skipif(TASK != "regression", reason="regression models only")
def test_regression_predictions_are_numbers_in_the_labels_range(trained, prepared_predict_dir, tmp_path):
    predictions = run(trained, prepared_predict_dir, tmp_path / "predictions")[schema.PREDICTION_COLUMN]
    labels = tables.read_table(trained.train_dir, "train")[CONTRACT.label.column]
    # A forest averages training labels: its predictions lie within their range.
    assert predictions.between(labels.min(), labels.max()).all()
    assert predictions.nunique() > 1


def test_the_decision_threshold_can_be_overridden(trained, prepared_predict_dir, tmp_path):
    default = run(trained, prepared_predict_dir, tmp_path / "default")
    strict = run(trained, prepared_predict_dir, tmp_path / "strict", "--decision-threshold", "0.9")
    if TASK == "binary":
        positive = model_bundle.load_published(trained.latest_dir).bundle.positive_class
        predicted = strict[schema.PREDICTED_CLASS_COLUMN] == positive
        assert (predicted == (strict[schema.PROBABILITY_COLUMN] >= 0.9)).all()
        assert predicted.sum() < (default[schema.PREDICTED_CLASS_COLUMN] == positive).sum()
    else:
        # Only a binary model has a threshold: the others predict the same.
        assert strict.equals(default)


def test_predictions_are_the_models_own(trained, prepared_predict_dir, tmp_path):
    predictions = run(trained, prepared_predict_dir, tmp_path / "predictions")
    bundle = model_bundle.load_bundle(trained.extracted_dir)
    matrix = tables.read_table(prepared_predict_dir, "predict set")[list(bundle.input_columns)]
    if TASK == "regression":
        np.testing.assert_array_equal(predictions[schema.PREDICTION_COLUMN], bundle.model.predict(matrix))
    elif TASK == "binary":
        positive = list(bundle.model.classes_).index(bundle.positive_class)
        expected = bundle.model.predict_proba(matrix)[:, positive]
        np.testing.assert_array_equal(predictions[schema.PROBABILITY_COLUMN], expected)
    else:
        names = [data_contract.class_column(value) for value in bundle.model.classes_]
        np.testing.assert_array_equal(predictions[names], bundle.model.predict_proba(matrix))


def test_columns_the_model_does_not_read_are_left_alone(trained, prepared_predict_dir, copy_tree, tmp_path):
    prepared = copy_tree(prepared_predict_dir, "prepared")
    rows = tables.read_table(prepared, "predict set").assign(note="not a model input")
    tables.write_parquet(rows, prepared / "predict.parquet", role=tables.PREDICTION_INPUTS)
    with_note = run(trained, prepared, tmp_path / "with-note")
    assert with_note.equals(run(trained, prepared_predict_dir, tmp_path / "plain"))


def test_predict_before_any_model_exists(prepared_predict_dir, tmp_path, expect_failure):
    empty_latest = tmp_path / "models" / "latest"
    empty_latest.mkdir(parents=True)
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(prepared_predict_dir, empty_latest, out),
        f"{empty_latest}: no published model ({model_bundle.ARCHIVE} missing)",
        "make run-local USE_TYPE=train",
        outputs=(out,),
    )


def test_refuses_a_model_without_a_passed_evaluation(
    trained, prepared_predict_dir, tmp_path, copy_tree, expect_failure
):
    latest = copy_tree(trained.latest_dir, "latest")
    evaluation = json.loads((latest / model_bundle.EVALUATION_FILE).read_text())
    evaluation["quality_gate"]["passed"] = False
    files.write_json(latest / model_bundle.EVALUATION_FILE, evaluation)
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(prepared_predict_dir, latest, out),
        f"{latest}/{model_bundle.EVALUATION_FILE}: this model did not pass the quality gate",
        outputs=(out,),
    )


def test_refuses_an_archive_the_manifest_does_not_name(
    trained, prepared_predict_dir, tmp_path, copy_tree, expect_failure
):
    latest = copy_tree(trained.latest_dir, "latest")
    manifest = json.loads((latest / model_bundle.MANIFEST_FILE).read_text())
    manifest["model_sha256"] = "f" * 64
    files.write_json(latest / model_bundle.MANIFEST_FILE, manifest)
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(prepared_predict_dir, latest, out),
        f"{latest}/{model_bundle.ARCHIVE}: differs from the model",
        outputs=(out,),
    )


def test_rows_prepared_by_another_models_transformer(
    trained, prepared_predict_dir, tmp_path, republish, expect_failure
):
    # A model published between PreprocessPredict and Predict.
    newer = republish(trained, lambda metadata: metadata["training"].update(note="retrained"))
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(prepared_predict_dir, newer, out),
        f"{prepared_predict_dir}: prepared with the transformer of model",
        predict.RERUN_PREPROCESS,
        outputs=(out,),
    )


def test_rows_that_do_not_fit_the_model(trained, prepared_predict_dir, copy_tree, tmp_path, expect_failure):
    features_dir = copy_tree(prepared_predict_dir, "prepared")
    rows = tables.read_table(features_dir, "predict set")
    dropped = rows.columns[1]
    tables.write_parquet(rows.drop(columns=[dropped]), features_dir / "predict.parquet", role=tables.PREDICTION_INPUTS)
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(features_dir, trained.latest_dir, out),
        f"{features_dir}: missing column(s) {dropped}",
        outputs=(out,),
    )


def test_feature_table_instead_of_prepared_rows(trained, predict_features_dir, tmp_path, expect_failure):
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(predict_features_dir, trained.latest_dir, out),
        f"{predict_features_dir}: holds a table without a role",
        "expected the prediction inputs",
        outputs=(out,),
    )


def test_the_test_split_instead_of_prepared_rows(trained, tmp_path, expect_failure):
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(trained.test_dir, trained.latest_dir, out),
        f"{trained.test_dir}: holds the test split, expected the prediction inputs",
        "PreprocessPredict (--predict-dir)",
        outputs=(out,),
    )


def test_prepared_rows_without_the_record_of_their_transformer(
    trained, prepared_predict_dir, copy_tree, tmp_path, expect_failure
):
    prepared = copy_tree(prepared_predict_dir, "prepared")
    (prepared / model_bundle.TRANSFORMED_BY_FILE).unlink()
    out = tmp_path / "predictions"
    expect_failure(
        predict.main,
        arguments(prepared, trained.latest_dir, out),
        f"{prepared}/{model_bundle.TRANSFORMED_BY_FILE}: record of the model",
        "not found",
        outputs=(out,),
    )


def test_a_model_of_another_task(trained, prepared_predict_dir, tmp_path, republish, expect_failure):
    other = next(task for task in data_contract.TASKS if task != TASK)
    latest = republish(trained, lambda metadata: metadata.update(task=other))
    out = tmp_path / "predictions"
    # A regressor cannot even pass for a classifier; the two classifiers differ only in their task.
    problem = "not a fitted binary model" if TASK == "regression" else f"the data contract's task is {TASK}"
    expect_failure(predict.main, arguments(prepared_predict_dir, latest, out), problem, outputs=(out,))
