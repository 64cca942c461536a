"""The newest Approved version of a Model Registry group, fetched for the predict branch.

With ``registry.enabled``, SageMaker runs PreprocessPredict and Predict with
``--model-package-group NAME`` instead of the published model (``pipeline_spec.RegistryModel``).
Each step then looks up the version of that group registered last among those whose status
is Approved, and downloads what the pipeline's RegisterModel step registered with it: the
training job's ``model.tar.gz`` and, as its model-quality statistics, the ``evaluation.json``
of its quality gate. The two are refused where a published model would be (the gate did
not pass, the evaluation is of another archive); the model's version, which the predictions
record, is ``<group>/<version number>``.

boto3 is imported inside the functions: local runs never get here, and the ``local``
dependencies leave it out.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import sha256
from {{ cookiecutter.package_name }}.model_bundle import ARCHIVE, PublishedModel, gate_passed, gate_summary, load_bundle

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

log = logging.getLogger("approved_model")

APPROVED = "Approved"
APPROVE_ONE = "approve one with `make approve ENV=<environment> VERSION=n` (or in SageMaker Studio)"
REGISTERED_BY_THE_PIPELINE = "only versions the pipeline's RegisterModel step adds can score"


@dataclass(frozen=True)
class RegisteredModel:
    """Where the registry says one version's model archive and evaluation are."""

    group: str
    number: int
    model_uri: str
    evaluation_uri: str

    @property
    def version(self) -> str:
        return f"{self.group}/{self.number}"


def load_approved(group: str, region: str | None = None) -> PublishedModel:
    """The newest Approved version of ``group``, checked as a published model is."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = aws_session(region)
        registered = newest_approved(session.client("sagemaker"), group)
        log.info("Model %s is the newest Approved version; fetching %s", registered.version, registered.model_uri)
        return fetch(session.client("s3"), registered)
    except (BotoCoreError, ClientError) as error:  # BotoCoreError: no credentials, no connection
        raise StepError(f"model package group {group}: {aws_error(error)}") from None


def aws_session(region: str | None) -> boto3.Session:
    import boto3

    session = boto3.Session(region_name=region)
    if session.region_name is None:
        raise StepError("no AWS region to find the model package group in: pass --region, or set AWS_REGION")
    return session


# --------------------------------------------------------------------------- the registry


def newest_approved(sagemaker: BaseClient, group: str) -> RegisteredModel:
    """The Approved version of ``group`` registered last."""
    require_group(sagemaker, group)
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelApprovalStatus=APPROVED, SortBy="CreationTime", SortOrder="Descending"
    )
    newest = next((summary for page in pages for summary in page["ModelPackageSummaryList"]), None)
    if newest is None:
        raise StepError(f"model package group {group} has no {APPROVED} version: {APPROVE_ONE}")
    return registered_model(sagemaker.describe_model_package(ModelPackageName=newest["ModelPackageArn"]))


def require_group(sagemaker: BaseClient, group: str) -> None:
    from botocore.exceptions import ClientError

    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if not is_not_found(error):
            raise
        raise StepError(
            f"model package group {group} does not exist in {sagemaker.meta.region_name}: deploying the pipeline "
            "with registry.enabled creates it (make deploy ENV=<environment>), a passing train execution fills it"
        ) from None


def registered_model(package: dict[str, Any]) -> RegisteredModel:
    """The locations RegisterModel gave a version: its container's model data and its model-quality statistics."""
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    statistics = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    model_uri, evaluation_uri = containers[0].get("ModelDataUrl"), statistics.get("S3Uri")
    if not model_uri:
        raise StepError(f"{package['ModelPackageArn']}: registered without ModelDataUrl; {REGISTERED_BY_THE_PIPELINE}")
    if not evaluation_uri:
        raise StepError(
            f"{package['ModelPackageArn']}: registered without model-quality statistics (its evaluation.json); "
            f"{REGISTERED_BY_THE_PIPELINE}"
        )
    return RegisteredModel(
        group=package["ModelPackageGroupName"],
        number=int(package["ModelPackageVersion"]),
        model_uri=model_uri,
        evaluation_uri=evaluation_uri,
    )


# --------------------------------------------------------------------------- the artifacts


def fetch(s3: BaseClient, registered: RegisteredModel) -> PublishedModel:
    """Download the version's evaluation and archive; refuse them where a published model would be refused."""
    evaluation = read_evaluation(s3, registered)
    if not gate_passed(evaluation):
        raise StepError(
            f"{registered.evaluation_uri}: model {registered.version} did not pass the quality gate "
            f"({gate_summary(evaluation)}); reject it and approve a model that passed"
        )
    with tempfile.TemporaryDirectory(prefix="approved-model-") as scratch:
        archive = download(s3, registered.model_uri, Path(scratch) / ARCHIVE, f"the model of {registered.version}")
        if evaluation.get("model_sha256") != sha256(archive):
            # Each execution writes its own evaluation; a mismatch means the files were changed since.
            raise StepError(
                f"{registered.evaluation_uri}: evaluates another model than {registered.model_uri} "
                f"({registered.version}): one of the two was changed after registration; "
                "approve a newer version"
            )
        try:
            bundle = load_bundle(archive.parent)
        except StepError as error:
            raise StepError(f"{registered.model_uri} ({registered.version}): {error}") from None
    return PublishedModel(bundle=bundle, version=registered.version, evaluation=evaluation, source=registered.model_uri)


def read_evaluation(s3: BaseClient, registered: RegisteredModel) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(registered.evaluation_uri)
    what = f"the evaluation of {registered.version}"
    try:
        content = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise StepError(f"{registered.evaluation_uri}: cannot read {what} ({aws_error(error)})") from None
    try:
        evaluation = json.loads(content)
    except ValueError as error:
        raise StepError(f"{registered.evaluation_uri}: {what} is not valid JSON ({error})") from None
    if not isinstance(evaluation, dict):
        raise StepError(f"{registered.evaluation_uri}: {what} must be a JSON object")
    return evaluation


def download(s3: BaseClient, uri: str, destination: Path, what: str) -> Path:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(uri)
    try:
        s3.download_file(bucket, key, str(destination))
    except (Boto3Error, ClientError) as error:  # Boto3Error: the transfer gave up after its retries
        raise StepError(f"{uri}: cannot download {what} ({aws_error(error)})") from None
    return destination


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


# --------------------------------------------------------------------------- AWS errors


def is_not_found(error: ClientError) -> bool:
    """SageMaker reports a missing group as a ValidationException saying it does not exist."""
    details = error.response.get("Error", {})
    return details.get("Code") in ("ResourceNotFound", "ResourceNotFoundException") or (
        details.get("Code") == "ValidationException" and "does not exist" in details.get("Message", "")
    )


def aws_error(error: Exception) -> str:
    """One line: what AWS refused, or what kept the request from AWS."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return one_line(str(error))
    details = error.response.get("Error", {})
    return f"AWS {error.operation_name} failed ({details.get('Code', 'error')}): {one_line(details.get('Message', ''))}"


def one_line(text: str) -> str:
    return " ".join(text.split())
