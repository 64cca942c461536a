"""Evaluate: score the trained model on the held-out test split and write evaluation.json.

    evaluate.py --model-dir M --test-dir T --evaluation-dir E \\
        [--decision-threshold 0.5] [--gate-metric roc_auc] [--gate-threshold 0.70]

``M`` holds the training job's model.tar.gz (or its extracted files). ``E/evaluation.json``::

    metrics                          flat numbers the pipeline's quality gate reads
                                     (roc_auc, pr_auc, log_loss, accuracy, positive_rate, rows)
    decision_threshold               probability from which a booking counts as a buyer
    quality_gate                     {metric, threshold, value, passed}
    model_sha256                     checksum of the model.tar.gz evaluated (publish.py checks it)
    binary_classification_metrics    the SageMaker model-quality form, for the Model Registry

The step itself does not fail on a failed gate: the pipeline's condition (or the local
runner) reads ``quality_gate`` and stops there.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics as sk

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.cli import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    configure_logging,
    fraction,
    report,
    unit_interval,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs, sha256, write_json
from {{ cookiecutter.package_name }}.model_bundle import ARCHIVE, EVALUATION_FILE, load_bundle
from {{ cookiecutter.package_name }}.tables import read_table
from {{ cookiecutter.package_name }}.validation import model_matrix

log = logging.getLogger("evaluate")

GATE_METRICS = ("roc_auc", "pr_auc", "accuracy")  # higher is better for each
CURVE_POINTS = 101  # curves in the model-quality form are thinned to at most this many points


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score the model on the test split; write evaluation.json.")
    parser.add_argument("--model-dir", type=Path, default=Path(PROCESSING_INPUT, "model"), help="holds model.tar.gz")
    parser.add_argument("--test-dir", type=Path, default=Path(PROCESSING_INPUT, "test"), help="holds test.parquet")
    parser.add_argument(
        "--evaluation-dir", type=Path, default=Path(PROCESSING_OUTPUT, "evaluation"), help="gets evaluation.json"
    )
    parser.add_argument("--decision-threshold", type=fraction, default=0.5, help="probability that counts as a buyer")
    parser.add_argument("--gate-metric", choices=GATE_METRICS, default="roc_auc", help="metric of the quality gate")
    parser.add_argument("--gate-threshold", type=unit_interval, default=0.70, help="lowest value that passes")
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


def evaluate(
    model_dir: Path,
    test_dir: Path,
    evaluation_dir: Path,
    decision_threshold: float,
    gate_metric: str,
    gate_threshold: float,
) -> dict[str, Any]:
    bundle = load_bundle(model_dir)
    test_set = model_matrix(
        read_table(test_dir, "test split"),
        bundle.input_columns,
        str(test_dir),
        fix=f"the test split does not fit the model in {model_dir}: both must come from the same training run",
        with_label=True,
    )
    labels = test_set[schema.LABEL.name].to_numpy()
    probabilities = bundle.probabilities(test_set)
    predicted = (probabilities >= decision_threshold).astype(np.int64)

    summary = headline_metrics(labels, probabilities, predicted)
    value = summary[gate_metric]
    archive = model_dir / ARCHIVE
    evaluation = {
        "metrics": summary,
        "decision_threshold": decision_threshold,
        "quality_gate": {
            "metric": gate_metric,
            "threshold": gate_threshold,
            "value": value,
            "passed": bool(value >= gate_threshold),
        },
        "model_sha256": sha256(archive) if archive.is_file() else None,
        "binary_classification_metrics": model_quality(labels, probabilities, predicted),
    }
    with atomic_outputs(evaluation_dir) as (evaluation_out,):
        write_json(evaluation_out / EVALUATION_FILE, evaluation)
    verdict = "passed" if evaluation["quality_gate"]["passed"] else "FAILED"
    log.info("Quality gate %s: %s = %.4f, threshold %s", verdict, gate_metric, value, gate_threshold)
    return evaluation


def headline_metrics(labels: np.ndarray, probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": float(sk.roc_auc_score(labels, probabilities)),
        "pr_auc": float(sk.average_precision_score(labels, probabilities)),
        "log_loss": float(sk.log_loss(labels, probabilities, labels=[0, 1])),
        "accuracy": float(sk.accuracy_score(labels, predicted)),
        # The share of buyers in the test split: the pr_auc of a model that guesses.
        "positive_rate": float(labels.mean()),
        "rows": len(labels),
    }


def model_quality(labels: np.ndarray, probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The binary-classification form of SageMaker model-quality metrics (Model Registry)."""
    (true_negative, false_positive), (false_negative, true_positive) = sk.confusion_matrix(
        labels, predicted, labels=[0, 1]
    )
    false_positive_rates, true_positive_rates, _ = sk.roc_curve(labels, probabilities)
    precisions, recalls, _ = sk.precision_recall_curve(labels, probabilities)
    roc_points, pr_points = thinned(len(false_positive_rates)), thinned(len(precisions))
    return {
        # actual class -> predicted class -> bookings
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


def thinned(length: int) -> np.ndarray:
    """Indices of at most CURVE_POINTS evenly spread points, first and last included."""
    return np.unique(np.linspace(0, length - 1, min(length, CURVE_POINTS)).round().astype(int))


if __name__ == "__main__":
    sys.exit(main())
