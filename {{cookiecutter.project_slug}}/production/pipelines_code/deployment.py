"""Putting a built pipeline in place: the registry group, create-or-update, an execution."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import ClientError, WaiterError

from {{ cookiecutter.package_name }}.config import EnvironmentConfig

from pipeline_errors import PipelineError, is_not_found

WAIT_POLL_SECONDS = 30


def tags_of(config: EnvironmentConfig) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in config.tags.items()]


def pipeline_exists(sagemaker_client, name: str) -> bool:
    try:
        sagemaker_client.describe_pipeline(PipelineName=name)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def upsert(pipeline, config: EnvironmentConfig) -> tuple[str, str]:
    """Create the pipeline, or update it if it exists; return ("created" | "updated", its ARN)."""
    existed = pipeline_exists(pipeline.sagemaker_session.sagemaker_client, pipeline.name)
    response = pipeline.upsert(role_arn=config.role_arn, tags=tags_of(config))
    return ("updated" if existed else "created"), response["PipelineArn"]


def ensure_model_package_group(sagemaker_client, config: EnvironmentConfig) -> bool:
    """Create the registry's model package group unless it exists; True if it was created."""
    name = config.registry.model_package_group
    try:
        sagemaker_client.describe_model_package_group(ModelPackageGroupName=name)
        return False
    except ClientError as error:
        if not is_not_found(error):
            raise
    sagemaker_client.create_model_package_group(
        ModelPackageGroupName=name,
        ModelPackageGroupDescription=f"Models of {config.pipeline_name} that passed the quality gate",
        Tags=tags_of(config),
    )
    return True


def start(pipeline, parameters: Mapping[str, str | int | float]):
    """Start an execution with these parameter values (the others keep their defaults)."""
    return pipeline.start(parameters=dict(parameters))


def wait(execution, timeout_minutes: int) -> str:
    """Wait for the execution to end; return its final status, or raise if it did not succeed."""
    attempts = max(1, timeout_minutes * 60 // WAIT_POLL_SECONDS)
    try:
        execution.wait(delay=WAIT_POLL_SECONDS, max_attempts=attempts)
    except WaiterError:
        description = execution.describe()
        status = description.get("PipelineExecutionStatus", "unknown")
        reason = description.get("FailureReason", "")
        if status in ("Executing", "Stopping"):
            raise PipelineError(f"execution {execution.arn} still {status} after {timeout_minutes} minutes") from None
        raise PipelineError(f"execution {execution.arn} ended {status}{': ' + reason if reason else ''}") from None
    return execution.describe()["PipelineExecutionStatus"]
