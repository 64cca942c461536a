"""evaluate.py: evaluation.json as the quality gate and the Model Registry read it."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import files, model_bundle, quality_gate, schema, tables

import evaluate

CONTRACT = schema.contract()
TASK = CONTRACT.task
METRICS = {
    "binary": {"roc_auc", "pr_auc", "log_loss", "accuracy", "positive_rate", "rows"},
    "multiclass": {"macro_f1", "accuracy", "log_loss", "rows"},
    "regression": {"rmse", "mae", "r2", "rows"},
}
# A score the model reaches and an error it stays under, for the gate tests.
SCORE = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}[TASK]
ERROR = {"binary": "log_loss", "multiclass": "log_loss", "regression": "rmse"}[TASK]


def arguments(model_dir: Path, test_dir: Path, evaluation_dir: Path, *extra: str) -> list[str]:
    return [
        "--model-dir", str(model_dir),
        "--test-dir", str(test_dir),
        "--evaluation-dir", str(evaluation_dir),
        *extra,
    ]  # fmt: skip


def run(trained, tmp_path: Path, *extra: str, name: str = "evaluation") -> dict:
    out = tmp_path / name
    assert evaluate.main(arguments(trained.model_dir, trained.test_dir, out, *extra)) == 0
    return json.loads((out / model_bundle.EVALUATION_FILE).read_text())


def test_report_holds_the_tasks_metrics_and_the_gate(trained, tmp_path):
    report = run(trained, tmp_path)
    metrics = report["metrics"]
    assert set(metrics) == METRICS[TASK]
    assert metrics["rows"] == len(tables.read_table(trained.test_dir, "test"))
    metric = next(iter(quality_gate.GATE_METRICS[TASK]))
    assert report["quality_gate"] == {
        "metric": metric,
        "direction": "at_least",
        "threshold": evaluate.DEFAULT_THRESHOLDS[TASK],
        "value": metrics[metric],
        "passed": True,
    }
    assert report["model_sha256"] == files.sha256(trained.model_dir / model_bundle.ARCHIVE)


@pytest.mark.skipif(TASK != "binary", reason="binary models only")
def test_binary_model_quality_form(trained, tmp_path):
    report = run(trained, tmp_path)
    metrics, quality = report["metrics"], report["binary_classification_metrics"]
    assert 0 < metrics["positive_rate"] < metrics["pr_auc"] <= 1
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


@pytest.mark.skipif(TASK != "multiclass", reason="multiclass models only")
def test_multiclass_model_quality_form(trained, tmp_path):
    report = run(trained, tmp_path)
    metrics, quality = report["metrics"], report["multiclass_classification_metrics"]
    classes = [str(value) for value in model_bundle.load_bundle(trained.model_dir).classes]
    matrix = quality["confusion_matrix"]
    assert list(matrix) == classes
    assert all(list(row) == classes for row in matrix.values())
    assert sum(count for row in matrix.values() for count in row.values()) == metrics["rows"]
    correct = sum(matrix[value][value] for value in classes)
    assert quality["accuracy"]["value"] == pytest.approx(correct / metrics["rows"]) == metrics["accuracy"]
    assert 0 < metrics["macro_f1"] <= 1
    assert {"weighted_precision", "weighted_recall", "weighted_f1"} <= set(quality)


@pytest.mark.skipif(TASK != "regression", reason="regression models only")
def test_regression_model_quality_form(trained, tmp_path):
    report = run(trained, tmp_path)
    metrics, quality = report["metrics"], report["regression_metrics"]
    assert set(quality) == {"mse", "rmse", "r2", "mae"}
    for name in ("rmse", "r2", "mae"):
        assert quality[name]["value"] == pytest.approx(metrics[name])
    assert quality["mse"]["value"] == pytest.approx(metrics["rmse"] ** 2)
    assert all(entry["standard_deviation"] > 0 for entry in quality.values())
    assert metrics["mae"] <= metrics["rmse"]


def test_a_failed_gate_is_reported_not_raised(trained, tmp_path):
    # The best value a score can take: only a perfect model would reach it.
    gate = run(trained, tmp_path, "--gate-metric", SCORE, "--gate-threshold", "1")["quality_gate"]
    assert gate["metric"] == SCORE
    assert gate["passed"] is False


def test_an_error_metric_passes_at_most_its_threshold(trained, tmp_path):
    value = run(trained, tmp_path, "--gate-metric", ERROR, name="first")["metrics"][ERROR]
    above = run(trained, tmp_path, "--gate-metric", ERROR, "--gate-threshold", str(value * 2), name="above")
    below = run(trained, tmp_path, "--gate-metric", ERROR, "--gate-threshold", str(value / 2), name="below")
    assert above["quality_gate"]["direction"] == below["quality_gate"]["direction"] == "at_most"
    assert above["quality_gate"]["passed"] is True
    assert below["quality_gate"]["passed"] is False


def test_a_gate_metric_of_another_task_is_refused(trained, tmp_path, expect_failure):
    other = next(name for name in evaluate.GATE_METRICS if name not in quality_gate.GATE_METRICS[TASK])
    out = tmp_path / "evaluation"
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, trained.test_dir, out, "--gate-metric", other),
        f"--gate-metric: {other!r} is no gate metric of a {TASK} model",
        outputs=(out,),
    )


def test_a_threshold_the_metric_cannot_take_is_refused(trained, tmp_path, expect_failure):
    out = tmp_path / "evaluation"
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, trained.test_dir, out, "--gate-metric", ERROR, "--gate-threshold", "-1"),
        "--gate-threshold: threshold -1.0 is outside the values",
        outputs=(out,),
    )


def test_the_decision_threshold_moves_only_what_it_should(trained, tmp_path):
    """Binary: accuracy, not the ranking metrics; other tasks: nothing."""
    low = run(trained, tmp_path, "--decision-threshold", "0.2", name="low")
    high = run(trained, tmp_path, "--decision-threshold", "0.8", name="high")
    assert low["decision_threshold"] == 0.2
    if TASK == "binary":
        assert low["metrics"]["roc_auc"] == high["metrics"]["roc_auc"]
        assert low["metrics"]["accuracy"] != high["metrics"]["accuracy"]
    else:
        assert low["metrics"] == high["metrics"]


def test_extracted_model_files_are_read_too(trained, tmp_path):
    out = tmp_path / "evaluation"
    assert evaluate.main(arguments(trained.extracted_dir, trained.test_dir, out)) == 0
    assert json.loads((out / model_bundle.EVALUATION_FILE).read_text())["model_sha256"] is None


# --------------------------------------------------------------------------- refused inputs


def test_the_training_split_as_test_split(trained, tmp_path, expect_failure):
    """A model scored on the rows it learned looks far better than it is: refused."""
    out = tmp_path / "evaluation"
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, trained.train_dir, out),
        f"{trained.train_dir}: holds the training split, expected the test split",
        "PreprocessTrain (--test-dir)",
        outputs=(out,),
    )


def test_the_feature_table_as_test_split(trained, tmp_path, expect_failure, train_features_dir):
    out = tmp_path / "evaluation"
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, train_features_dir, out),
        f"{train_features_dir}: holds a table without a role",
        "expected the test split",
        outputs=(out,),
    )


def test_test_split_that_does_not_fit_the_model(trained, tmp_path, copy_tree, expect_failure):
    test_dir = copy_tree(trained.test_dir, "test")
    split = tables.read_table(test_dir, "test")
    dropped = split.columns[2]
    tables.write_parquet(split.drop(columns=[dropped]), test_dir / "test.parquet", role=tables.TEST_SPLIT)
    out = tmp_path / "evaluation"
    expect_failure(
        evaluate.main,
        arguments(trained.model_dir, test_dir, out),
        f"{test_dir}: missing column(s) {dropped}",
        "must come from the same training run",
        outputs=(out,),
    )


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


class Stranger:
    """Pickled below as if from a module that no longer exists."""


def corrupt_models(real: bytes) -> dict[str, bytes]:
    # The same length keeps the pickle's framing intact: only the module is wrong.
    missing_module = pickle.dumps(Stranger()).replace(__name__.encode(), b"z" * len(__name__))
    return {
        "truncated": real[: len(real) // 2],
        "garbage": b"\x80\x04 certainly not a pickle",
        "unknown opcode": b"\x80\x04\x95\xff",
        "empty": b"",
        "missing module": missing_module,
    }


@pytest.mark.parametrize("damage", ["truncated", "garbage", "unknown opcode", "empty", "missing module"])
def test_a_damaged_model_file_inside_a_readable_archive(trained, tmp_path, expect_failure, damage):
    model_dir, out = tmp_path / "model", tmp_path / "evaluation"
    model_dir.mkdir()
    real = (trained.extracted_dir / model_bundle.MODEL_FILE).read_bytes()
    with tarfile.open(model_dir / model_bundle.ARCHIVE, "w:gz") as tar:
        for name in model_bundle.BUNDLE_FILES:
            data = corrupt_models(real)[damage] if name == model_bundle.MODEL_FILE else None
            data = data if data is not None else (trained.extracted_dir / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    expect_failure(
        evaluate.main,
        arguments(model_dir, trained.test_dir, out),
        f"{model_dir}/{model_bundle.ARCHIVE}: cannot load {model_bundle.MODEL_FILE}",
        outputs=(out,),
    )


def test_a_model_file_that_holds_no_model(trained, tmp_path, copy_tree, expect_failure):
    model_dir, out = copy_tree(trained.extracted_dir, "model"), tmp_path / "evaluation"
    (model_dir / model_bundle.MODEL_FILE).write_bytes(pickle.dumps("just a string"))
    expect_failure(
        evaluate.main,
        arguments(model_dir, trained.test_dir, out),
        f"{model_dir}: {model_bundle.MODEL_FILE} holds a str, not a fitted {TASK} model",
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
