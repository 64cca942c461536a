"""AWS sessions for one environment, and the checks that run before anything is deployed.

Credentials come from boto3's standard chain (profile, SSO, instance or task role, web
identity); an endpoint set in ``AWS_ENDPOINT_URL`` (e.g. a moto server in CI) is honoured.
The checks turn the usual set-up mistakes into one clear line before the SDK gets to them.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from {{ cookiecutter.package_name }}.config import EnvironmentConfig

from pipeline_errors import PipelineError, describe_aws_error, error_code, http_status


def boto_session(config: EnvironmentConfig) -> boto3.Session:
    try:
        return boto3.Session(region_name=config.region)
    except BotoCoreError as error:  # e.g. AWS_PROFILE names a profile that does not exist
        raise PipelineError(describe_aws_error(error)) from None


def pipeline_session(session: boto3.Session, config: EnvironmentConfig):
    """A PipelineSession whose uploads go to the environment's bucket and prefix."""
    # Imported here, not above: operations.py needs only boto3 and should not wait for the SDK.
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=session, default_bucket=config.storage.bucket, default_bucket_prefix=config.storage.prefix
    )


def check_deploy_target(session: boto3.Session, config: EnvironmentConfig) -> str:
    """Credentials work, the bucket exists, the role exists in the same account: return the account id."""
    account = caller_account(session)
    check_bucket(session, config)
    check_role(session, config, "role_arn", account)
    if config.schedules:
        check_role(session, config, "scheduler_role_arn", account)
    return account


def caller_account(session: boto3.Session) -> str:
    try:
        return session.client("sts").get_caller_identity()["Account"]
    except ClientError as error:
        raise PipelineError(f"AWS rejected the credentials: {describe_aws_error(error)}") from None
    except BotoCoreError as error:
        raise PipelineError(describe_aws_error(error)) from None


def check_bucket(session: boto3.Session, config: EnvironmentConfig) -> None:
    bucket = config.storage.bucket
    try:
        session.client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        status = http_status(error)
        if status == 404:
            raise PipelineError(
                f"S3 bucket {bucket!r} (storage.bucket, {config.environment}) does not exist: "
                "create it, or set storage.bucket to an existing bucket"
            ) from None
        if status == 403:
            raise PipelineError(f"S3 bucket {bucket!r}: these credentials may not use it (403 Forbidden)") from None
        raise PipelineError(describe_aws_error(error)) from None


def check_role(session: boto3.Session, config: EnvironmentConfig, key: str, account: str) -> None:
    """The role at ``key`` must exist; a caller without iam:GetRole cannot tell, and is let through."""
    role_arn = getattr(config, key)
    role_account = role_arn.split(":")[4]
    if role_account != account:
        raise PipelineError(
            f"{key} {role_arn} ({config.environment}) belongs to account {role_account}, "
            f"but the credentials are for account {account}"
        )
    try:
        session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])
    except ClientError as error:
        if error_code(error) in ("NoSuchEntity", "NoSuchEntityException"):
            raise PipelineError(
                f"{key} {role_arn} ({config.environment}): no such IAM role; create it or fix {key}"
            ) from None
        if error_code(error) not in ("AccessDenied", "AccessDeniedException"):
            raise PipelineError(describe_aws_error(error)) from None
