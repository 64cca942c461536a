"""evaluate.py: evaluation.json as the quality gate and the Model Registry read it."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import files, model_bundle

import evaluate


def arguments(model_dir: Path, test_dir: Path, evaluation_dir: Path, *extra: str) -> list[str]:
    return [
        "--model-dir", str(model_dir),
        "--test-dir", str(test_dir),
        "--evaluation-dir", str(evaluation_dir),
        *extra,
    ]  # fmt: skip


def test_report_holds_flat_metrics_the_gate_and_the_model_quality_form(trained, tmp_path):
    out = tmp_path / "evaluation"
    assert evaluate.main(arguments(trained.model_dir, trained.test_dir, out, "--gate-threshold", "0.7")) == 0

    report = json.loads((out / model_bundle.EVALUATION_FILE).read_text())
    metrics = report["metrics"]
    assert set(metrics) == {"roc_auc", "pr_auc", "log_loss", "accuracy", "positive_rate", "rows"}
    assert metrics["roc_auc"] > 0.7
    assert 0 < metrics["positive_rate"] < metrics["pr_auc"] <= 1
    assert report["quality_gate"] == {
        "metric": "roc_auc",
        "threshold": 0.7,
        "value": metrics["roc_auc"],
        "passed": True,
    }
    assert report["model_sha256"] == files.sha256(trained.model_dir / model_bundle.ARCHIVE)

    quality = report["binary_classification_metrics"]
    matrix = quality["confusion_matrix"]
    assert sum(count for row in matrix.values() for count in row.values()) == metrics["rows"]
    correct = matrix["0"]["0"] + matrix["1"]["1"]
    assert quality["accuracy"]["value"] == pytest.approx(correct / metrics["rows"])
    assert quality["accuracy"]["value"] == pytest.approx(metrics["accuracy"])
    assert quality["auc"]["value"] == pytest.approx(metrics["roc_auc"])
    curve = quality["receiver_operating_characteristic_curve"]
    assert len(curve["false_positive_rates"]) == len(curve["true_positive_rates"]) <= evaluate.CURVE_POINTS
    assert curve["false_positive_rates"][0] == 0
    assert curve["false_positive_rates"][-1] == 1


def test_a_failed_gate_is_reported_not_raised(trained, tmp_path):
    out = tmp_path / "evaluation"
    extra = ("--gate-metric", "accuracy", "--gate-threshold", "0.999")
    assert evaluate.main(arguments(trained.model_dir, trained.test_dir, out, *extra)) == 0
    gate = json.loads((out / model_bundle.EVALUATION_FILE).read_text())["quality_gate"]
    assert gate["metric"] == "accuracy"
    assert gate["passed"] is False


def test_the_decision_threshold_moves_accuracy_not_auc(trained, tmp_path):
    reports = {}
    for threshold in ("0.2", "0.8"):
        out = tmp_path / threshold
        assert (
            evaluate.main(arguments(trained.model_dir, trained.test_dir, out, "--decision-threshold", threshold)) == 0
        )
        reports[threshold] = json.loads((out / model_bundle.EVALUATION_FILE).read_text())
    assert reports["0.2"]["metrics"]["roc_auc"] == reports["0.8"]["metrics"]["roc_auc"]
    assert reports["0.2"]["metrics"]["accuracy"] != reports["0.8"]["metrics"]["accuracy"]
    assert reports["0.2"]["decision_threshold"] == 0.2


def test_extracted_model_files_are_read_too(trained, tmp_path):
    out = tmp_path / "evaluation"
    assert evaluate.main(arguments(trained.extracted_dir, trained.test_dir, out)) == 0
    assert json.loads((out / model_bundle.EVALUATION_FILE).read_text())["model_sha256"] is None


def test_no_model(trained, tmp_path, expect_failure):
    empty, out = tmp_path / "model", tmp_path / "evaluation"
    empty.mkdir()
    expect_failure(evaluate.main, arguments(empty, trained.test_dir, out), f"{empty}: no model here", outputs=(out,))


def test_archive_that_is_not_a_model(trained, tmp_path, expect_failure):
    model_dir, out = tmp_path / "model", tmp_path / "evaluation"
    model_dir.mkdir()
    (model_dir / model_bundle.ARCHIVE).write_bytes(b"not a tar file")
    expect_failure(
        evaluate.main,
        arguments(model_dir, trained.test_dir, out),
        f"{model_dir}/{model_bundle.ARCHIVE}: not a readable model archive",
        outputs=(out,),
    )


def test_archive_without_the_transformer(trained, tmp_path, expect_failure):
    model_dir, out = tmp_path / "model", tmp_path / "evaluation"
    model_dir.mkdir()
    with tarfile.open(model_dir / model_bundle.ARCHIVE, "w:gz") as tar:
        tar.add(trained.extracted_dir / model_bundle.MODEL_FILE, arcname=model_bundle.MODEL_FILE)
        tar.add(trained.extracted_dir / model_bundle.METADATA_FILE, arcname=model_bundle.METADATA_FILE)
    expect_failure(
        evaluate.main,
        arguments(model_dir, trained.test_dir, out),
        f"{model_dir}/{model_bundle.ARCHIVE}: lacks {model_bundle.TRANSFORMER_FILE}",
        outputs=(out,),
    )


def test_model_written_by_another_scikit_learn(trained, tmp_path, copy_tree, expect_failure):
    model_dir, out = copy_tree(trained.extracted_dir, "model"), tmp_path / "evaluation"
    metadata = json.loads((model_dir / model_bundle.METADATA_FILE).read_text())
    metadata["libraries"]["scikit-learn"] = "1.2.1"
    files.write_json(model_dir / model_bundle.METADATA_FILE, metadata)
    expect_failure(
        evaluate.main,
        arguments(model_dir, trained.test_dir, out),
        f"{model_dir}: the model was written with scikit-learn 1.2.1",
        outputs=(out,),
    )


def test_test_split_that_does_not_fit_the_model(trained, tmp_path, expect_failure, train_features_dir):
    out = tmp_path / "evaluation"
    # The feature table itself, not a model matrix: the classic mix-up of directories.
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, train_features_dir, out),
        f"{train_features_dir}: missing column(s)",
        "must come from the same training run",
        outputs=(out,),
    )
