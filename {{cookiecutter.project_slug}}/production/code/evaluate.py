"""Evaluate: score the trained model on the held-out test split and write evaluation.json.

    evaluate.py --model-dir M --test-dir T --evaluation-dir E \\
        [--decision-threshold 0.5] [--gate-metric METRIC] [--gate-threshold VALUE]

``M`` holds the training job's model.tar.gz (or its extracted files), ``T`` the test split
PreprocessTrain wrote (a training split is refused). ``E/evaluation.json``::

    metrics                 flat numbers the pipeline's quality gate reads, per task:
                            binary      roc_auc, pr_auc, log_loss, accuracy, positive_rate, rows
                            multiclass  macro_f1, accuracy, log_loss, rows
                            regression  rmse, mae, r2, rows
    decision_threshold      binary: probability from which a row counts as the positive class
    quality_gate            {metric, direction, threshold, value, passed}; direction is at_least
                            for a score, at_most for an error (rmse, mae, log_loss)
    model_sha256            checksum of the model.tar.gz evaluated (publish.py checks it)
    <task>_metrics          the SageMaker model-quality form, for the Model Registry:
                            binary_classification_metrics, multiclass_classification_metrics
                            or regression_metrics

The gate's metric and threshold default to the task's first gate metric (``quality_gate``)
and DEFAULT_THRESHOLDS; the pipeline passes those of the configuration. The step itself does
not fail on a failed gate: the pipeline's condition (or the local runner) reads
``quality_gate`` and stops there.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from {{ cookiecutter.package_name }} import quality_gate, schema
from {{ cookiecutter.package_name }}.cli import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    configure_logging,
    fraction,
    report,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs, sha256, write_json
from {{ cookiecutter.package_name }}.model_bundle import ARCHIVE, EVALUATION_FILE, ModelBundle, load_bundle, native
from {{ cookiecutter.package_name }}.tables import TEST_SPLIT, read_table
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("evaluate")

GATE_METRICS = tuple(dict.fromkeys(name for metrics in quality_gate.GATE_METRICS.values() for name in metrics))
# The gate when none is given: the first metric of the task, at this threshold (base.yaml's values).
DEFAULT_THRESHOLDS = {"binary": 0.70, "multiclass": 0.50, "regression": 0.50}
CURVE_POINTS = 101  # curves in the model-quality form are thinned to at most this many points
BOOTSTRAP_SAMPLES = 30  # resamples of the test split behind the regression form's standard deviations


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score the model on the test split; write evaluation.json.")
    parser.add_argument("--model-dir", type=Path, default=Path(PROCESSING_INPUT, "model"), help="holds model.tar.gz")
    parser.add_argument("--test-dir", type=Path, default=Path(PROCESSING_INPUT, "test"), help="holds test.parquet")
    parser.add_argument(
        "--evaluation-dir", type=Path, default=Path(PROCESSING_OUTPUT, "evaluation"), help="gets evaluation.json"
    )
    parser.add_argument(
        "--decision-threshold", type=fraction, default=0.5, help="binary: probability that counts as the positive class"
    )
    parser.add_argument("--gate-metric", choices=GATE_METRICS, help="metric of the quality gate (default: the task's)")
    parser.add_argument(
        "--gate-threshold", type=number, help="value that passes: the least of a score, the most of an error"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        evaluate(
            args.model_dir,
            args.test_dir,
            args.evaluation_dir,
            args.decision_threshold,
            args.gate_metric,
            args.gate_threshold,
        )
    except StepError as error:
        return report(error)
    return 0


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def evaluate(
    model_dir: Path,
    test_dir: Path,
    evaluation_dir: Path,
    decision_threshold: float = 0.5,
    gate_metric: str | None = None,
    gate_threshold: float | None = None,
) -> dict[str, Any]:
    bundle = load_bundle(model_dir)
    task = bundle.task
    gate_metric = gate_metric or next(iter(quality_gate.GATE_METRICS[task]))
    try:
        direction = quality_gate.direction(task, gate_metric)
    except KeyError as error:
        raise StepError(f"--gate-metric: {error.args[0]}") from None
    gate_threshold = DEFAULT_THRESHOLDS[task] if gate_threshold is None else gate_threshold
    try:
        quality_gate.check_threshold(gate_metric, gate_threshold)
    except ValueError as error:
        raise StepError(f"--gate-threshold: {error}") from None
    test_set = model_matrix(
        read_table(test_dir, "test split", role=TEST_SPLIT),
        bundle.input_columns,
        str(test_dir),
        fix=f"the test split does not fit the model in {model_dir}: both must come from the same training run",
        with_label=True,
    )
    labels = test_set[bundle.metadata["label"]].to_numpy()
    summary, quality = TASK_EVALUATIONS[task](bundle, test_set, labels, decision_threshold)
    value = summary[gate_metric]
    archive = model_dir / ARCHIVE
    evaluation = {
        "metrics": summary,
        "decision_threshold": decision_threshold,
        "quality_gate": {
            "metric": gate_metric,
            "direction": direction,
            "threshold": gate_threshold,
            "value": value,
            "passed": quality_gate.passes(value, gate_threshold, direction),
        },
        "model_sha256": sha256(archive) if archive.is_file() else None,
        **quality,
    }
    with atomic_outputs(evaluation_dir) as (evaluation_out,):
        write_json(evaluation_out / EVALUATION_FILE, evaluation)
    gate = evaluation["quality_gate"]
    log.info(
        "Quality gate %s: %s = %.4f %s %s",
        "passed" if gate["passed"] else "FAILED",
        gate_metric,
        value,
        quality_gate.comparison(direction, gate["passed"]),
        gate_threshold,
    )
    return evaluation


# --------------------------------------------------------------------------- binary


def binary_evaluation(
    bundle: ModelBundle, test_set: pd.DataFrame, labels: np.ndarray, decision_threshold: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    truth = (labels == bundle.positive_class).astype(np.int64)
    probabilities = bundle.positive_probability(test_set)
    predicted = (probabilities >= decision_threshold).astype(np.int64)
    summary = {
        "roc_auc": float(sk.roc_auc_score(truth, probabilities)),
        "pr_auc": float(sk.average_precision_score(truth, probabilities)),
        "log_loss": float(sk.log_loss(truth, probabilities, labels=[0, 1])),
        "accuracy": float(sk.accuracy_score(truth, predicted)),
        # The share of the positive class in the test split: the pr_auc of a model that guesses.
        "positive_rate": float(truth.mean()),
        "rows": len(truth),
    }
    return summary, {"binary_classification_metrics": binary_quality(truth, probabilities, predicted)}


def binary_quality(labels: np.ndarray, probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The binary-classification form of SageMaker model-quality metrics (Model Registry);
    class 1 is the positive class, 0 the other."""
    (true_negative, false_positive), (false_negative, true_positive) = sk.confusion_matrix(
        labels, predicted, labels=[0, 1]
    )
    false_positive_rates, true_positive_rates, _ = sk.roc_curve(labels, probabilities)
    precisions, recalls, _ = sk.precision_recall_curve(labels, probabilities)
    roc_points, pr_points = thinned(len(false_positive_rates)), thinned(len(precisions))
    return {
        # actual class -> predicted class -> rows
        "confusion_matrix": {
            "0": {"0": int(true_negative), "1": int(false_positive)},
            "1": {"0": int(false_negative), "1": int(true_positive)},
        },
        "accuracy": {"value": float(sk.accuracy_score(labels, predicted))},
        "precision": {"value": float(sk.precision_score(labels, predicted, zero_division=0))},
        "recall": {"value": float(sk.recall_score(labels, predicted, zero_division=0))},
        "f1": {"value": float(sk.f1_score(labels, predicted, zero_division=0))},
        "auc": {"value": float(sk.roc_auc_score(labels, probabilities))},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": false_positive_rates[roc_points].tolist(),
            "true_positive_rates": true_positive_rates[roc_points].tolist(),
        },
        "precision_recall_curve": {
            "precisions": precisions[pr_points].tolist(),
            "recalls": recalls[pr_points].tolist(),
        },
    }


# --------------------------------------------------------------------------- multiclass


def multiclass_evaluation(
    bundle: ModelBundle, test_set: pd.DataFrame, labels: np.ndarray, decision_threshold: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    classes = list(bundle.classes)
    probabilities = bundle.probabilities(test_set)
    # The classes' own dtype (numbers or text): scikit-learn cannot tell the kind of target
    # of an object array of numbers.
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    labels = np.asarray(labels.tolist())
    summary = {
        "macro_f1": float(sk.f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "accuracy": float(sk.accuracy_score(labels, predicted)),
        "log_loss": float(sk.log_loss(labels, probabilities, labels=classes)),
        "rows": len(labels),
    }
    return summary, {"multiclass_classification_metrics": multiclass_quality(labels, predicted, classes)}


def multiclass_quality(labels: np.ndarray, predicted: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """The multiclass form of SageMaker model-quality metrics (Model Registry)."""
    matrix = sk.confusion_matrix(labels, predicted, labels=classes)
    names = [str(native(value)) for value in classes]

    def weighted(score: Any) -> dict[str, float]:
        return {"value": float(score(labels, predicted, labels=classes, average="weighted", zero_division=0))}

    return {
        # actual class -> predicted class -> rows
        "confusion_matrix": {
            actual: {guess: int(count) for guess, count in zip(names, row, strict=True)}
            for actual, row in zip(names, matrix, strict=True)
        },
        "accuracy": {"value": float(sk.accuracy_score(labels, predicted))},
        "weighted_precision": weighted(sk.precision_score),
        "weighted_recall": weighted(sk.recall_score),
        "weighted_f1": weighted(sk.f1_score),
    }


# --------------------------------------------------------------------------- regression


def regression_evaluation(
    bundle: ModelBundle, test_set: pd.DataFrame, labels: np.ndarray, decision_threshold: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    labels = labels.astype("float64")
    predicted = bundle.predict_matrix(test_set)[schema.PREDICTION_COLUMN].to_numpy()
    summary = {**regression_scores(labels, predicted), "rows": len(labels)}
    del summary["mse"]
    return summary, {"regression_metrics": regression_quality(labels, predicted)}


def regression_scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    mse = float(sk.mean_squared_error(labels, predicted))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(sk.mean_absolute_error(labels, predicted)),
        "r2": float(sk.r2_score(labels, predicted)),
    }


def regression_quality(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The regression form of SageMaker model-quality metrics (Model Registry): each metric
    with its standard deviation over bootstrap resamples of the test split (fixed seed)."""
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(labels), len(labels)) for _ in range(BOOTSTRAP_SAMPLES)]
    resampled = [regression_scores(labels[rows], predicted[rows]) for rows in draws]
    return {
        name: {"value": value, "standard_deviation": float(np.std([scores[name] for scores in resampled]))}
        for name, value in regression_scores(labels, predicted).items()
    }


TASK_EVALUATIONS = {
    "binary": binary_evaluation,
    "multiclass": multiclass_evaluation,
    "regression": regression_evaluation,
}


def thinned(length: int) -> np.ndarray:
    """Indices of at most CURVE_POINTS evenly spread points, first and last included."""
    return np.unique(np.linspace(0, length - 1, min(length, CURVE_POINTS)).round().astype(int))


if __name__ == "__main__":
    sys.exit(main())
