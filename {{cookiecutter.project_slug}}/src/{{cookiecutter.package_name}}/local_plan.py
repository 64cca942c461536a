"""A local run's plan: its parameters, where each step reads and writes, and its arguments.

Everything comes from ``pipeline_spec.PIPELINE`` and the environment configuration, the
same two sources ``create_pipeline.py`` builds the SageMaker pipeline from:

* parameters: the spec's defaults (settings resolved from the config), overridden by the
  command line; every pipeline parameter is an option (``NEstimators`` -> ``--n-estimators``);
* storage: each ``s3://<bucket>/<key>`` becomes ``<work-dir>/s3/<bucket>/<key>``, a local
  mirror of the bucket with the same layout;
* steps: the common branch, then either train -> quality gate -> promote, or predict;
* arguments: each step script gets the option list its SageMaker job gets, with local paths
  where SageMaker has ``/opt/ml/processing/...`` paths.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from {{ cookiecutter.package_name }} import cli, pipeline_spec
from {{ cookiecutter.package_name }}.config import (
    EnvironmentConfig,
)
from {{ cookiecutter.package_name }}.pipeline_spec import (
    PIPELINE,
    ExecutionId,
    ExecutionStart,
    InputPath,
    OutputPath,
    Param,
    PipelineSpec,
    RunDate,
    Setting,
    StepOutput,
    StepSpec,
    Token,
    Uri,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]


SRC_DIR = PROJECT_DIR / "src"


CODE_DIR = PROJECT_DIR / "production" / "code"


PACKAGE_NAME = Path(__file__).resolve().parent.name


# Which kind of run writes what a branch produces: used to explain a missing input.
BRANCH_PRODUCERS = {
    "common": "every run",
    "train": "a train run",
    "promote": "a train run whose model passes the quality gate",
    "predict": "a predict run",
}


# The tokens that have a value of their own (InputPath and OutputPath depend on the step).
Value = str | Param | Setting | ExecutionId | ExecutionStart | RunDate | Uri


class LocalRunError(Exception):
    """The run cannot go on; the message says why and what to do."""


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def new_execution_id(now: datetime.datetime | None = None) -> str:
    """A new run's id: sorts by start time, and two runs started in the same second still differ."""
    now = now or now_utc()
    return f"local-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LocalRun:
    """What one local run needs to turn the spec's tokens into local values."""

    config: EnvironmentConfig
    work_dir: Path
    parameters: dict[str, str | int | float]
    spec: PipelineSpec = PIPELINE
    # Plays the part of SageMaker's START_DATETIME: an empty ExecutionDate means its day.
    started_at: datetime.datetime = field(default_factory=now_utc)
    # Plays the part of SageMaker's PIPELINE_EXECUTION_ID: every run has its own.
    execution_id: str = ""

    def __post_init__(self) -> None:
        if not self.execution_id:
            object.__setattr__(self, "execution_id", new_execution_id(self.started_at))

    @property
    def use_type(self) -> str:
        return str(self.parameters[self.spec.branch_parameter])

    @property
    def is_train(self) -> bool:
        return self.use_type == self.spec.train_value


def local_location(work_dir: Path, value: str) -> str:
    """``s3://bucket/key`` -> ``<work-dir>/s3/bucket/key``; anything else is already local."""
    if value.startswith("s3://"):
        return str(work_dir / "s3" / value.removeprefix("s3://"))
    return value


def setting_value(run: LocalRun, setting: Setting) -> str | int | float:
    value = run.config.setting(setting.path)
    return local_location(run.work_dir, value) if isinstance(value, str) else value


def resolve(run: LocalRun, token: Value) -> str | int | float:
    """The local value of a parameter, setting, execution id or start, run date, location or literal."""
    if isinstance(token, Param):
        return run.parameters[token.name]
    if isinstance(token, Setting):
        return setting_value(run, token)
    if isinstance(token, ExecutionId):
        return run.execution_id
    if isinstance(token, ExecutionStart):
        return run.started_at.isoformat()
    if isinstance(token, RunDate):
        # What the ETL writes to its RunDate property file, computed from the same two values.
        return cli.run_date(str(run.parameters[pipeline_spec.DATE.name]), run.started_at.isoformat())
    if isinstance(token, Uri):
        return "".join(str(resolve(run, part)) for part in token.parts)
    return token


def resolve_parameters(
    config: EnvironmentConfig,
    work_dir: Path,
    given: dict[str, object],
    spec: PipelineSpec = PIPELINE,
) -> dict[str, str | int | float]:
    """Each parameter: the value given on the command line, else the spec's default."""
    resolved: dict[str, str | int | float] = {}
    for parameter in spec.parameters:
        value = given.get(parameter.name)
        if value is None:
            value = resolve(LocalRun(config, work_dir, resolved, spec), parameter.default)
        elif isinstance(value, str):
            value = local_location(work_dir, value)
        if parameter.type == "integer":
            value = int(value)
        elif parameter.type == "float":
            value = float(value)
        if parameter.allowed and value not in parameter.allowed:
            raise LocalRunError(f"parameter {parameter.name}: {value!r} is not one of {', '.join(parameter.allowed)}")
        # Empty only where the spec's default is empty (ExecutionDate: the day the run starts).
        if value == "" and parameter.default != "":
            raise LocalRunError(f"parameter {parameter.name} has no value: give --{option_name(parameter.name)}")
        resolved[parameter.name] = value
    return resolved


def output_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    """Where a step's output lands; a training job's model goes to ``<output>/<job name>/output``."""
    location = Path(str(resolve(run, step.outputs[channel])))
    if step.kind == "training":
        return location / step.name / "output"
    return location


def input_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    source = step.inputs[channel]
    if isinstance(source, StepOutput):
        return output_location(run, run.spec.step(source.step), source.channel)
    return Path(str(resolve(run, source)))


def render_token(run: LocalRun, step: StepSpec, token: Token) -> str:
    if isinstance(token, InputPath):
        return str(input_location(run, step, token.channel))
    if isinstance(token, OutputPath):
        return str(output_location(run, step, token.channel))
    return str(resolve(run, token))


def render_arguments(run: LocalRun, step: StepSpec) -> list[str]:
    """The step script's options, in the spec's order: the list its SageMaker job receives."""
    arguments = []
    for option, token in step.arguments.items():
        arguments += [option, render_token(run, step, token)]
    return arguments


def render_hyperparameters(run: LocalRun, step: StepSpec) -> list[str]:
    """Hyperparameters as the SageMaker training toolkit passes them: ``--name value``."""
    arguments = []
    for name, token in step.hyperparameters.items():
        arguments += [f"--{name}", str(resolve(run, token))]
    return arguments


def shown(value: str | Path) -> str:
    """A path under the current directory as a relative path: shorter, and still valid from here."""
    text = str(value)
    here = os.getcwd() + os.sep
    return text.removeprefix(here) if text.startswith(here) else text


def is_empty(location: Path) -> bool:
    return not location.exists() or (location.is_dir() and not any(location.iterdir()))


def producer_hint(run: LocalRun, step: StepSpec, channel: str) -> str:
    source = step.inputs[channel]
    for producer in run.spec.steps:
        if source in producer.outputs.values() or (isinstance(source, StepOutput) and source.step == producer.name):
            return f"; step {producer.name} writes it in {BRANCH_PRODUCERS[producer.branch]}"
    return ""


@dataclass(frozen=True)
class Plan:
    """The steps of one run: those before the quality gate and those it guards (train runs only)."""

    before_gate: tuple[StepSpec, ...]
    after_gate: tuple[StepSpec, ...]

    @property
    def steps(self) -> tuple[StepSpec, ...]:
        return self.before_gate + self.after_gate


def plan_run(run: LocalRun) -> Plan:
    if run.is_train:
        return Plan(
            run.spec.branch("common") + run.spec.branch("train"),
            run.spec.branch("promote"),
        )
    return Plan(run.spec.branch("common") + run.spec.branch("predict"), ())


def earlier_inputs(run: LocalRun, steps: tuple[StepSpec, ...]) -> list[tuple[StepSpec, str]]:
    """(step, channel) of the inputs that steps outside this run write, such as a predict run's model."""
    running = {step.name for step in steps}
    elsewhere = [producer for producer in run.spec.steps if producer.name not in running]
    return [
        (step, channel)
        for step in steps
        for channel, source in step.inputs.items()
        if any(source in producer.outputs.values() for producer in elsewhere)
    ]


def check_earlier_outputs(run: LocalRun, steps: tuple[StepSpec, ...]) -> None:
    """What earlier runs should have written must exist before this run starts.

    Checking up front saves a Spark ETL that would only lead to a step without its input.
    """
    for step, channel in earlier_inputs(run, steps):
        location = input_location(run, step, channel)
        if is_empty(location):
            raise LocalRunError(
                f"cannot start a {run.use_type} run: step {step.name} needs {channel!r} at {location}, "
                f"which does not exist{producer_hint(run, step, channel)}"
            )


def result_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    """An output's location, down to the file a reader looks for where there is one."""
    location = output_location(run, step, channel)
    if step.kind == "training":
        return location / "model.tar.gz"
    for property_file in step.property_files:
        if property_file.output == channel:
            return location / property_file.path
    return location


def option_name(parameter: str) -> str:
    """``NEstimators`` -> ``n-estimators``, ``InputDataUri`` -> ``input-data-uri``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", parameter).lower()
