"""Per-environment configuration: ``base.yaml`` deep-merged with ``<environment>.yaml``.

The merged result is validated when it is loaded; an error names the file the
bad key came from and the dotted key, e.g.
``develop.yaml: training.n_estimators: Input should be greater than or equal to 1``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from {{ cookiecutter.package_name }} import quality_gate, schedule_expressions, schema
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

ENVIRONMENTS = ("develop", "production")
BASE_FILE = "base.yaml"
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "production" / "pipelines_code" / "config"


ROLE_ARN = r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/.+$"
# An EventBridge Scheduler group name; the pipeline's schedules live in a group named after it.
SCHEDULE_GROUP_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")


class ConfigError(ValueError):
    """The configuration files are missing, unreadable or invalid."""


class Section(BaseModel):
    # Unknown keys are errors: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Storage(Section):
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    prefix: str = Field(min_length=1, pattern=r"^[^/].*[^/]$|^[^/]$")

    @property
    def root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class Images(Section):
    sklearn_framework_version: str
    spark_framework_version: str
    spark_py_version: str = "py312"
    # Spark image tags also carry the container's major version, e.g. 3.5-cpu-py312-v1.
    spark_container_version: str = Field(default="v1", pattern=r"^v\d+$")


class Etl(Section):
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    instance_count: int = Field(ge=1)
    volume_size_gb: int = Field(ge=1)
    max_runtime_seconds: int = Field(ge=60)
    # SageMaker Spark classifications, e.g. {"spark-defaults": {"spark.executor.memory": "4g"}}
    spark_configuration: dict[str, dict[str, str]] = Field(default_factory=dict)


class Processing(Section):
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    instance_count: int = Field(ge=1)
    volume_size_gb: int = Field(ge=1)
    max_runtime_seconds: int = Field(ge=60)


class Training(Section):
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    volume_size_gb: int = Field(ge=1)
    max_runtime_seconds: int = Field(ge=60)
    n_estimators: int = Field(ge=1)
    max_depth: int = Field(ge=1)
    random_state: int


class Preprocess(Section):
    test_size: float = Field(gt=0, lt=1)
    random_state: int


class Gate(Section):
    """One task's quality gate: the metric and the threshold it must reach."""

    task: ClassVar[str]
    metric: str
    threshold: float

    @model_validator(mode="after")
    def metric_fits_the_task(self) -> Gate:
        try:
            quality_gate.direction(self.task, self.metric)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        quality_gate.check_threshold(self.metric, self.threshold)
        return self

    @property
    def direction(self) -> quality_gate.Direction:
        return quality_gate.direction(self.task, self.metric)


class BinaryGate(Gate):
    task: ClassVar[str] = "binary"


class MulticlassGate(Gate):
    task: ClassVar[str] = "multiclass"


class RegressionGate(Gate):
    task: ClassVar[str] = "regression"


class Evaluation(Section):
    decision_threshold: float = Field(gt=0, lt=1)
    # One gate per task: the data contract's task picks the one in force.
    binary: BinaryGate
    multiclass: MulticlassGate
    regression: RegressionGate

    @property
    def gate(self) -> Gate:
        return getattr(self, schema.contract().task)

    # The gate in force, by the dotted paths the pipeline description uses (``evaluation.metric``).
    @property
    def metric(self) -> str:
        return self.gate.metric

    @property
    def threshold(self) -> float:
        return self.gate.threshold

    @property
    def direction(self) -> quality_gate.Direction:
        return self.gate.direction


class Registry(Section):
    enabled: bool
    model_package_group: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    approval_status: Literal["Approved", "PendingManualApproval"]


class Alerts(Section):
    """Failed executions reported to an SNS topic, through an EventBridge rule deploy keeps in place."""

    enabled: bool
    topic: str = Field(pattern=r"^[A-Za-z0-9_-]{1,256}$")
    # False: the topic must exist already (and allow events.amazonaws.com to publish to it).
    create_topic: bool = True


class Schedule(Section):
    """An EventBridge Scheduler schedule that starts an execution of the pipeline."""

    name: str = Field(pattern=r"^[0-9a-zA-Z_.-]{1,64}$")
    expression: str
    timezone: str = "UTC"
    use_type: str
    # Other pipeline parameters, e.g. {MaxDepth: 8}; ExecutionDate is the day the execution starts.
    parameters: dict[str, str | int | float] = Field(default_factory=dict)
    enabled: bool = True
    description: str = Field(default="", max_length=512)

    @field_validator("expression")
    @classmethod
    def expression_is_valid(cls, expression: str) -> str:
        schedule_expressions.check_expression(expression)
        return expression

    @field_validator("timezone")
    @classmethod
    def timezone_exists(cls, timezone: str) -> str:
        schedule_expressions.check_timezone(timezone)
        return timezone

    @field_validator("use_type")
    @classmethod
    def use_type_is_known(cls, use_type: str) -> str:
        PIPELINE.parameter("UseType").parse(use_type)
        return use_type

    @field_validator("parameters")
    @classmethod
    def parameters_are_the_pipelines(cls, parameters: dict[str, str | int | float]) -> dict[str, str | int | float]:
        for name, value in parameters.items():
            if name == "UseType":
                raise ValueError("UseType: set it as use_type")
            if name == "ExecutionDate":
                raise ValueError("ExecutionDate: leave it out; a scheduled execution takes the day it starts (UTC)")
            if name not in PIPELINE.parameter_names:
                known = ", ".join(PIPELINE.parameter_names)
                raise ValueError(f"{name}: the pipeline has no such parameter; it has {known}")
            PIPELINE.parameter(name).parse(str(value))
        return parameters

    @property
    def pipeline_parameters(self) -> dict[str, str]:
        """What each execution it starts gets: UseType and the overrides, as SageMaker's strings."""
        return {"UseType": self.use_type, **{name: str(value) for name, value in self.parameters.items()}}


class EnvironmentConfig(Section):
    environment: Literal["develop", "production"]
    region: str = Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
    role_arn: str = Field(pattern=ROLE_ARN)
    # The role EventBridge Scheduler starts executions with (infra/iam/<env>-scheduler-*.json).
    scheduler_role_arn: str = Field(pattern=ROLE_ARN)
    pipeline_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    storage: Storage
    images: Images
    etl: Etl
    processing: Processing
    training: Training
    preprocess: Preprocess
    evaluation: Evaluation
    registry: Registry
    alerts: Alerts
    schedules: list[Schedule] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("schedules")
    @classmethod
    def schedule_names_are_unique(cls, schedules: list[Schedule]) -> list[Schedule]:
        names = [schedule.name for schedule in schedules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"schedule names must be unique: {', '.join(repeated)} appears more than once")
        return schedules

    @model_validator(mode="after")
    def names_made_from_the_pipelines_fit(self) -> EnvironmentConfig:
        # The schedule group is named after the pipeline and the alert rule <pipeline_name>-failed;
        # both take at most 64 characters, the pipeline's name up to 256.
        if self.schedules and not SCHEDULE_GROUP_NAME.match(self.pipeline_name):
            raise ValueError(
                f"pipeline_name: {self.pipeline_name!r} names the group of its schedules, which takes "
                "at most 64 letters, digits, '-', '_' or '.': shorten it or remove the schedules"
            )
        if self.alerts.enabled and len(self.pipeline_name) > 64 - len("-failed"):
            raise ValueError(
                f"pipeline_name: {self.pipeline_name!r} is too long to name its alert rule "
                "(<pipeline_name>-failed, at most 64 characters): shorten it or set alerts.enabled: false"
            )
        return self

    @property
    def schedule_group(self) -> str:
        return self.pipeline_name

    @field_validator("tags")
    @classmethod
    def tags_are_short(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or len(value) > 256:
                raise ValueError(f"tag {key!r}: keys need 1-128 characters and values at most 256")
        return tags

    def setting(self, path: str) -> Any:
        """Value at a dotted path such as ``training.n_estimators`` (see ``pipeline_spec.Setting``)."""
        value: Any = self
        for part in path.split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                raise KeyError(f"configuration has no setting {path!r}") from None
        return value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins; mappings present in both are merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: must be a mapping of settings, not {type(content).__name__}")
    return content


def has_key(mapping: dict[str, Any], location: tuple[Any, ...]) -> bool:
    for part in location:
        in_list = isinstance(mapping, list) and isinstance(part, int) and part < len(mapping)
        if not (in_list or (isinstance(mapping, dict) and part in mapping)):
            return False
        mapping = mapping[part]
    return True


def describe_errors(error: ValidationError, override: dict[str, Any], base_name: str, override_name: str) -> str:
    lines = []
    for item in error.errors():
        location = tuple(item["loc"])
        key = ".".join(str(part) for part in location)
        if item["type"] == "missing":
            # In neither file: the environment's file is where a value of this environment goes.
            everywhere = Path(base_name).name
            lines.append(f"{override_name}: {key}: missing; set it there, or in {everywhere} for every environment")
            continue
        source = override_name if has_key(override, location) else base_name
        # A check of several keys at once has no location; its message names the key.
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {key}: {message}" if key else f"{source}: {message}")
    return "\n".join(lines)


def load_config(environment: str, config_dir: Path | str = DEFAULT_CONFIG_DIR) -> EnvironmentConfig:
    """Load, merge and validate the configuration of one environment."""
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}: choose one of {', '.join(ENVIRONMENTS)}")
    config_dir = Path(config_dir)
    base = read_yaml(config_dir / BASE_FILE)
    override_name = f"{environment}.yaml"
    override = read_yaml(config_dir / override_name)
    merged = deep_merge(base, override)
    merged["environment"] = environment
    try:
        return EnvironmentConfig.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(
            describe_errors(error, override, str(config_dir / BASE_FILE), str(config_dir / override_name))
        ) from None
