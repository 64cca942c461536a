"""Pipeline parameters: their defaults in one environment, and the values an execution starts with.

No SageMaker SDK here: ``operations.py`` starts executions through boto3 alone.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping

from {{ cookiecutter.package_name }}.config import EnvironmentConfig
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE, ParameterSpec, Setting, Uri

from pipeline_errors import PipelineError

Value = str | int | float

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
USE_TYPE = "UseType"
EXECUTION_DATE = "ExecutionDate"


def default_value(spec: ParameterSpec, config: EnvironmentConfig) -> Value:
    """The parameter's default in this environment (``Setting`` and ``Uri`` defaults resolved)."""
    default = spec.default
    if isinstance(default, Setting):
        return config.setting(default.path)
    if isinstance(default, Uri):
        return "".join(config.setting(part.path) if isinstance(part, Setting) else str(part) for part in default.parts)
    return default


def parameter_spec(name: str) -> ParameterSpec:
    try:
        return PIPELINE.parameter(name)
    except KeyError as error:
        raise PipelineError(error.args[0]) from None


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` as a dict; an item without ``=`` is an error naming it."""
    values = {}
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator or not name:
            raise PipelineError(f"--param {assignment!r}: write it as NAME=VALUE, e.g. --param MaxDepth=8")
        values[name.strip()] = value.strip()
    return values


def execution_parameters(
    use_type: str | None,
    execution_date: str | None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, Value]:
    """Validated values to start an execution with; parameters left out keep their defaults."""
    given: dict[str, str] = dict(overrides or {})
    if use_type is not None:
        given[USE_TYPE] = use_type
    if execution_date is not None:
        given[EXECUTION_DATE] = execution_date
    return {name: checked_value(parameter_spec(name), text) for name, text in given.items()}


def checked_value(spec: ParameterSpec, text: str) -> Value:
    if spec.name == EXECUTION_DATE:
        return checked_date(text)
    try:
        return spec.parse(text)
    except ValueError as error:
        raise PipelineError(str(error)) from None


def checked_date(text: str) -> str:
    try:
        if not DATE_FORMAT.match(text):
            raise ValueError
        datetime.date.fromisoformat(text)
    except ValueError:
        raise PipelineError(f"{EXECUTION_DATE} {text!r}: give a date as YYYY-MM-DD, e.g. 2024-05-31") from None
    return text
