"""The metrics train.py prints, in a form SageMaker scrapes from the training job's log.

train.py prints one ``<name>=<value>;`` line per metric of the data contract's task; the
training step's metric definitions (one regex per name, from ``metric_definitions()``) turn
them into CloudWatch metrics and the job's FinalMetricDataList. Standard library only: the
pipeline builder imports this module without scikit-learn.
"""

from __future__ import annotations

import re

from {{ cookiecutter.package_name }} import schema

METRICS = {
    "binary": {
        "train_roc_auc": "ROC AUC on the training split (how well the model fits)",
        "test_roc_auc": "ROC AUC on the held-out test split",
        "test_pr_auc": "Average precision on the held-out test split",
        "test_log_loss": "Log loss on the held-out test split",
    },
    "multiclass": {
        "test_macro_f1": "F1 score averaged over the classes, on the held-out test split",
        "test_accuracy": "Share of correctly classified rows of the held-out test split",
        "test_log_loss": "Log loss on the held-out test split",
    },
    "regression": {
        "test_rmse": "Root mean squared error on the held-out test split",
        "test_mae": "Mean absolute error on the held-out test split",
        "test_r2": "Coefficient of determination (R squared) on the held-out test split",
    },
}
NUMBER = r"([-+]?[0-9]*\.?[0-9]+)"  # signed: r2 of a poor model is below 0


def task_metrics(task: str | None = None) -> dict[str, str]:
    """The training metrics of ``task`` (default: the data contract's)."""
    return METRICS[task or schema.contract().task]


def log_line(name: str, value: float, task: str | None = None) -> str:
    known = task_metrics(task)
    if name not in known:
        raise KeyError(f"unknown training metric {name!r}; known: {', '.join(known)}")
    return f"{name}={value:.6f};"


def metric_definitions(task: str | None = None) -> list[dict[str, str]]:
    """``[{"Name": ..., "Regex": ...}]`` for the SageMaker training job."""
    return [{"Name": name, "Regex": f"{re.escape(name)}={NUMBER};"} for name in task_metrics(task)]
