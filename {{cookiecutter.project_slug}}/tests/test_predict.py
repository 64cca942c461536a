"""predict.py: batch scoring with the published model, and the models it refuses."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }} import files, model_bundle, schema, tables

import predict

DATE = "2024-06-03"


def arguments(features_dir: Path, model_dir: Path, predictions_dir: Path, *extra: str) -> list[str]:
    return [
        "--features-dir", str(features_dir),
        "--model-dir", str(model_dir),
        "--predictions-dir", str(predictions_dir),
        "--execution-date", DATE,
        *extra,
    ]  # fmt: skip


def test_writes_one_prediction_per_booking(trained, prepared_predict_dir, predict_sample, tmp_path):
    out = tmp_path / "predictions"
    assert predict.main(arguments(prepared_predict_dir, trained.latest_dir, out)) == 0

    written = pq.read_table(out / "predictions.parquet")
    assert written.schema.equals(tables.arrow_schema(schema.PREDICTION_COLUMNS))
    predictions = written.to_pandas()
    assert predictions[schema.ID_COLUMN].tolist() == predict_sample.features[schema.ID_COLUMN].tolist()
    assert predictions["probability"].between(0, 1).all()
    assert 0 < predictions["predicted_class"].sum() < len(predictions)
    assert (predictions["predicted_class"] == (predictions["probability"] >= 0.5)).all()
    published = model_bundle.load_published(trained.latest_dir)
    assert set(predictions["model_version"]) == {published.version}
    assert set(predictions[schema.PARTITION_COLUMN]) == {datetime.date.fromisoformat(DATE)}


def test_the_decision_threshold_can_be_overridden(trained, prepared_predict_dir, tmp_path):
    out = tmp_path / "predictions"
    assert predict.main(arguments(prepared_predict_dir, trained.latest_dir, out, "--decision-threshold", "0.9")) == 0
    predictions = tables.read_table(out, "predictions")
    assert (predictions["predicted_class"] == (predictions["probability"] >= 0.9)).all()


def test_probabilities_are_the_models_own(trained, prepared_predict_dir, tmp_path):
    out = tmp_path / "predictions"
    assert predict.main(arguments(prepared_predict_dir, trained.latest_dir, out)) == 0
    bundle = model_bundle.load_bundle(trained.extracted_dir)
    matrix = tables.read_table(prepared_predict_dir, "predict set")
    expected = bundle.model.predict_proba(matrix[list(bundle.input_columns)])[:, 1]
    np.testing.assert_array_equal(tables.read_table(out, "predictions")["probability"], expected)


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
    tables.write_parquet(rows.drop(columns=[dropped]), features_dir / "predict.parquet")
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
        f"{predict_features_dir}/{model_bundle.TRANSFORMED_BY_FILE}: record of the model",
        "not found",
        outputs=(out,),
    )
