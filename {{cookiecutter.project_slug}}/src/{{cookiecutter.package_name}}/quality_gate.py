"""The quality gate's metrics per task, and which way each is better.

evaluate.py computes these metrics, the configuration picks one per task with its threshold,
and the gate (the pipeline's ConditionStep, the local runner) passes a model whose value is
at least the threshold for a score (``at_least``) or at most it for an error (``at_most``).
Standard library only: the pipeline builder and the configuration import it.
"""

from __future__ import annotations

import math
from typing import Literal

Direction = Literal["at_least", "at_most"]

# Metrics evaluate.py writes under ``metrics`` that can guard the gate; the first is the default.
GATE_METRICS: dict[str, dict[str, Direction]] = {
    "binary": {"roc_auc": "at_least", "pr_auc": "at_least", "accuracy": "at_least", "log_loss": "at_most"},
    "multiclass": {"macro_f1": "at_least", "accuracy": "at_least", "log_loss": "at_most"},
    "regression": {"r2": "at_least", "rmse": "at_most", "mae": "at_most"},
}
# Scores that lie between 0 and 1; r2 is at most 1; errors and log loss are at least 0.
BOUNDS: dict[str, tuple[float, float]] = {
    "roc_auc": (0.0, 1.0),
    "pr_auc": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "macro_f1": (0.0, 1.0),
    "r2": (-math.inf, 1.0),
    "log_loss": (0.0, math.inf),
    "rmse": (0.0, math.inf),
    "mae": (0.0, math.inf),
}
WORDS = {"at_least": ("below", ">=", "<"), "at_most": ("above", "<=", ">")}


def direction(task: str, metric: str) -> Direction:
    """``at_least`` or ``at_most``; a KeyError names the metrics the task allows."""
    metrics = GATE_METRICS[task]
    if metric not in metrics:
        raise KeyError(f"{metric!r} is no gate metric of a {task} model; choose one of {', '.join(metrics)}")
    return metrics[metric]


def check_threshold(metric: str, threshold: float) -> None:
    """A ValueError unless ``threshold`` is a value ``metric`` can take."""
    low, high = BOUNDS[metric]
    if not (math.isfinite(threshold) and low <= threshold <= high):
        raise ValueError(f"threshold {threshold} is outside the values {metric} can take ({low} to {high})")


def passes(value: float, threshold: float, way: Direction) -> bool:
    return value >= threshold if way == "at_least" else value <= threshold


def failed_side(way: Direction) -> str:
    """How a failing value relates to the threshold: ``below`` (a score) or ``above`` (an error)."""
    return WORDS[way][0]


def comparison(way: Direction, passed: bool) -> str:
    return WORDS[way][1] if passed else WORDS[way][2]
