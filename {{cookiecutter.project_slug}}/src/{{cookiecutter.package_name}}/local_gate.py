"""The quality gate of a local train run: the same metric, threshold and direction as the
pipeline's ConditionStep, read from the evaluation the Evaluate step wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }} import quality_gate
from {{ cookiecutter.package_name }}.local_plan import (
    LocalRun,
    LocalRunError,
    output_location,
    resolve,
    shown,
)


@dataclass(frozen=True)
class GateResult:
    metric: str
    value: float
    threshold: float
    report: Path
    direction: quality_gate.Direction = "at_least"

    @property
    def passed(self) -> bool:
        return quality_gate.passes(self.value, self.threshold, self.direction)


def evaluate_quality_gate(run: LocalRun) -> GateResult:
    """Read the metric from the evaluation step's property file, as the ConditionStep does."""
    gate = run.spec.quality_gate
    step = run.spec.step(gate.step)
    property_file = next(item for item in step.property_files if item.name == gate.property_file)
    path = output_location(run, step, property_file.output) / property_file.path
    metric = str(resolve(run, gate.metric))
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        value = float(report["metrics"][metric])
    except FileNotFoundError:
        raise LocalRunError(f"{gate.name}: {path} not found; step {step.name} did not write it") from None
    except (ValueError, KeyError, TypeError):
        raise LocalRunError(f"{gate.name}: {path} has no number at metrics.{metric}") from None
    return GateResult(
        metric,
        value,
        float(resolve(run, gate.threshold)),
        path,
        str(resolve(run, gate.direction)),
    )


def check_quality_gate(run: LocalRun) -> None:
    """Stop the run, as the pipeline's FailStep does, unless the model reaches the threshold."""
    gate = evaluate_quality_gate(run)
    spec = run.spec.quality_gate
    comparison = quality_gate.comparison(gate.direction, gate.passed)
    print(f"\n{spec.name}: {gate.metric} = {gate.value:.4f} {comparison} {gate.threshold} ({shown(gate.report)})")
    if not gate.passed:
        # The same words as the pipeline's FailStep.
        side = quality_gate.failed_side(gate.direction)
        raise LocalRunError(
            f"{spec.fail_step_name}: Quality gate failed: {gate.metric} = {gate.value} is {side} the threshold "
            f"{gate.threshold} ({spec.threshold.path}); the model was not published."
        )
