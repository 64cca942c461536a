"""The airline example's model: a 0/1 bag label, scored as the batch jobs downstream expect it."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }} import model_bundle

import predict


def test_the_bag_label_keeps_its_integer_classes(trained):
    metadata = json.loads((trained.extracted_dir / model_bundle.METADATA_FILE).read_text())
    assert metadata["task"] == "binary"
    assert metadata["label"] == "bought_bag"
    assert metadata["id_column"] == "booking_id"
    assert metadata["classes"] == [0, 1]
    assert metadata["positive_class"] == 1


def test_predictions_flag_buyers_as_integers(trained, prepared_predict_dir, tmp_path):
    out = tmp_path / "predictions"
    arguments = ["--features-dir", str(prepared_predict_dir), "--model-dir", str(trained.latest_dir)]
    assert predict.main([*arguments, "--predictions-dir", str(out), "--execution-date", "2024-06-03"]) == 0
    written = pq.read_table(out / "predictions.parquet")
    assert written.schema.names[:3] == ["booking_id", "probability", "predicted_class"]
    assert written.schema.field("predicted_class").type == pa.int32()
    assert set(written.column("predicted_class").to_pylist()) == {0, 1}


def test_the_sample_bookings_give_a_useful_model(trained):
    evaluation = json.loads((trained.evaluation_dir / model_bundle.EVALUATION_FILE).read_text())
    assert evaluation["quality_gate"]["metric"] == "roc_auc"
    # 400 sample bookings: a 100-row test split; the planted signal gives about 0.85.
    assert evaluation["metrics"]["roc_auc"] > 0.75
    assert 0.2 < evaluation["metrics"]["positive_rate"] < 0.5
