"""Build a pipeline with no AWS account: moto plays S3 (and friends) inside this process.

A definition build uploads step code, so it needs an S3 to talk to. ``offline_pipeline_session``
starts moto's in-process mock, creates the environment's bucket in it and hands out a
PipelineSession; nothing is sent to AWS and nothing outlives the ``with`` block.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from unittest import mock

import boto3

from {{ cookiecutter.package_name }}.config import EnvironmentConfig

from aws_session import pipeline_session
from pipeline_errors import PipelineError

# For the duration of an offline build only:
OFFLINE_ENVIRONMENT = {
    # moto implements no iam:SimulatePrincipalPolicy, which the SDK's role validation calls.
    "SAGEMAKER_VALIDATE_ROLE": "false",
    # An unimplemented call should fail at once instead of being retried with back-off.
    "AWS_MAX_ATTEMPTS": "1",
    # A configured endpoint (e.g. a moto server in CI) would bypass the in-process mock.
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
}
# moto supplies its own fake credentials; a profile name would still be looked up (and may not exist).
IGNORED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@contextlib.contextmanager
def offline_pipeline_session(config: EnvironmentConfig) -> Iterator:
    mock_aws = import_moto()
    # The SDK also makes sessions of its own (one per processing step) from the ambient region.
    environment = {**OFFLINE_ENVIRONMENT, "AWS_DEFAULT_REGION": config.region}
    with mock.patch.dict(os.environ, environment), mock_aws():
        for name in IGNORED_VARIABLES:
            os.environ.pop(name, None)  # restored by patch.dict on the way out
        session = boto3.Session(region_name=config.region)
        create_bucket(session, config)
        yield pipeline_session(session, config)


def import_moto():
    try:
        from moto import mock_aws
    except ImportError:
        raise PipelineError(
            "moto is not installed: building offline (--dry-run, diff) needs the dev extra, "
            "e.g. pip install -e '.[dev]'"
        ) from None
    return mock_aws


def create_bucket(session: boto3.Session, config: EnvironmentConfig) -> None:
    s3 = session.client("s3")
    location = (
        {} if config.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": config.region}}
    )
    # An outer mock (a test's) may have made it already.
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=config.storage.bucket, **location)
