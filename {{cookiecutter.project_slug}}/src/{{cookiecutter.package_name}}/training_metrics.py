"""The metrics train.py prints, in a form SageMaker scrapes from the training job's log.

train.py prints one ``<name>=<value>;`` line per metric; the training step's metric
definitions (one regex per name, from ``metric_definitions()``) turn them into CloudWatch
metrics and the job's FinalMetricDataList. Standard library only: the pipeline builder
imports this module without scikit-learn.
"""

from __future__ import annotations

import re

METRICS = {
    "train_roc_auc": "ROC AUC on the training split (how well the model fits)",
    "test_roc_auc": "ROC AUC on the held-out test split",
    "test_pr_auc": "Average precision on the held-out test split",
    "test_log_loss": "Log loss on the held-out test split",
}
NUMBER = r"([-+]?[0-9]*\.?[0-9]+)"


def log_line(name: str, value: float) -> str:
    if name not in METRICS:
        raise KeyError(f"unknown training metric {name!r}; known: {', '.join(METRICS)}")
    return f"{name}={value:.6f};"


def metric_definitions() -> list[dict[str, str]]:
    """``[{"Name": ..., "Regex": ...}]`` for the SageMaker training job."""
    return [{"Name": name, "Regex": f"{re.escape(name)}={NUMBER};"} for name in METRICS]
