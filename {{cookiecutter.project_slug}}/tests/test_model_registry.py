"""model_registry.py and deploy_endpoint.py against moto's AWS, in this process.

moto implements what these commands call: CreateModelPackageGroup, CreateModelPackage,
ListModelPackages, DescribeModelPackage(Group), UpdateModelPackage, CreateModel,
CreateEndpointConfig, CreateEndpoint and their Describe calls. Two gaps are bridged here,
in the tests only, by botocore hooks on the session the commands use:

* moto answers DescribeModel, DescribeEndpointConfig and DescribeEndpoint with empty
  ``VpcConfig`` and ``DataCaptureConfig`` objects where AWS leaves them out, and the SDK's
  response models reject empty ones: empty objects are dropped from those answers;
* moto has no UpdateEndpoint: the request is recorded and answered as AWS answers it.

Credentials exist only inside ``mock_aws()``, which sets moto's fake ones itself.
"""

from __future__ import annotations

import json
import logging
import re
import types
import uuid
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.config import load_config

import deploy_endpoint
import model_registry

CONFIG = load_config("develop")
CONTRACT = schema.contract()
GROUP = CONFIG.registry.model_package_group
BUCKET = CONFIG.storage.bucket
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"

pytestmark = [
    # The SDK warns about its own imports and defaults: nothing this project could act on.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sagemaker"),
]


# --------------------------------------------------------------------------- AWS in this process


@pytest.fixture
def offline(offline, monkeypatch):
    """conftest's offline, in the environment's region (the SDK's session needs one)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", CONFIG.region)


@pytest.fixture(autouse=True)
def restore_logging():
    """deploy_endpoint configures the root logger for the SDK; give the next test the logging it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def updates() -> list[dict]:
    """UpdateEndpoint requests the commands sent (moto does not implement the call)."""
    return []


@pytest.fixture
def session(offline, monkeypatch, updates):
    """A session on moto, as the commands get it from aws_session.boto_session."""
    with mock_aws():
        aws = boto3.Session(region_name=CONFIG.region)
        for operation in ("DescribeModel", "DescribeEndpointConfig", "DescribeEndpoint"):
            aws.events.register(f"after-call.sagemaker.{operation}", drop_empty_objects)
        aws.events.register("before-call.sagemaker.UpdateEndpoint", lambda params, **_: answer_update(params, updates))
        for command in (model_registry, deploy_endpoint):
            monkeypatch.setattr(command, "boto_session", lambda config: aws)
        aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": CONFIG.region})
        yield aws


def drop_empty_objects(parsed: dict, **_) -> None:
    for name in [name for name, value in parsed.items() if value == {}]:
        del parsed[name]


def answer_update(params: dict, updates: list[dict]) -> tuple:
    request = json.loads(params["body"])
    updates.append(request)
    arn = f"arn:aws:sagemaker:{CONFIG.region}:123456789012:endpoint/{request['EndpointName'].lower()}"
    return types.SimpleNamespace(status_code=200, headers={}), {"EndpointArn": arn}


@pytest.fixture
def evaluation(trained) -> dict:
    """An evaluation.json written by evaluate.py."""
    return json.loads((trained.evaluation_dir / "evaluation.json").read_text())


def register(session: boto3.Session, status: str, evaluation: dict | None) -> str:
    """Add a version to the group as the pipeline's RegisterModel step does; return its ARN.

    ``evaluation`` is uploaded as the version's model-quality statistics (None: the file is missing).
    """
    key = f"{CONFIG.storage.prefix}/evaluation/{uuid.uuid4().hex}/evaluation.json"
    if evaluation is not None:
        session.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(evaluation).encode())
    container = {
        "Image": f"141502667606.dkr.ecr.{CONFIG.region}.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3",
        "ModelDataUrl": f"s3://{BUCKET}/{CONFIG.storage.prefix}/models/2024-06-01/Train/output/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    }
    return session.client("sagemaker").create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [container],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["application/json", "text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}}
        },
    )["ModelPackageArn"]


@pytest.fixture
def group(session) -> str:
    session.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
    return GROUP


@pytest.fixture
def versions(session, group, evaluation) -> dict[int, str]:
    """Version 1 and 2 Approved, 3 waiting for approval: their ARNs by version."""
    statuses = {1: APPROVED, 2: APPROVED, 3: PENDING}
    return {version: register(session, status, evaluation) for version, status in statuses.items()}


def run(main, *arguments: str, capsys) -> tuple[int, str, str]:
    status = main(["--environment", "develop", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(stderr: str, tool: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{tool}: error: ")
    return lines[0]


def status_of(session: boto3.Session, arn: str) -> dict:
    return session.client("sagemaker").describe_model_package(ModelPackageName=arn)


# --------------------------------------------------------------------------- model_registry.py


def test_list_shows_versions_newest_first_with_status_and_metrics(versions, evaluation, capsys):
    status, out, _ = run(model_registry.main, "list", capsys=capsys)
    assert status == 0
    title, header, *rows = out.splitlines()
    assert title == f"Model package group {GROUP} ({CONFIG.region}), newest first:"
    assert header.split() == ["version", "status", "registered", *model_registry.shown_metrics()]
    cells = [row.split() for row in rows]
    assert [(row[0], row[1]) for row in cells] == [("3", PENDING), ("2", APPROVED), ("1", APPROVED)]
    shown, evaluated = model_registry.shown_metrics(), evaluation["metrics"]
    assert set(shown) <= set(evaluated), f"list shows {shown}; a {CONTRACT.task} evaluation has {sorted(evaluated)}"
    metrics = [f"{evaluated[name]:.4f}" for name in shown]
    # Cells 2 and 3 are the registration date and time.
    assert all(row[4:] == metrics for row in cells)


def test_list_tells_which_metrics_it_could_not_read(session, group, evaluation, capsys):
    register(session, APPROVED, evaluation)
    register(session, PENDING, None)
    status, out, _ = run(model_registry.main, "list", capsys=capsys)
    assert status == 0
    newest = out.splitlines()[2].split()
    assert newest[:2] == ["2", PENDING]
    assert newest[4:] == ["-"] * len(model_registry.shown_metrics())
    missing = r"^  version 2: no metrics \(s3://.+/evaluation.json: AWS GetObject failed \(NoSuchKey\)"
    assert re.search(missing, out, re.MULTILINE)


def test_list_of_an_empty_group(group, capsys):
    status, out, _ = run(model_registry.main, "list", capsys=capsys)
    assert status == 0
    assert out.startswith(f"{GROUP} has no model versions yet")


def test_limit_keeps_the_newest(versions, capsys):
    _, out, _ = run(model_registry.main, "list", "--limit", "1", capsys=capsys)
    assert [row.split()[0] for row in out.splitlines()[2:]] == ["3"]


@pytest.mark.parametrize(("command", "new_status"), [("approve", APPROVED), ("reject", REJECTED)])
def test_approve_or_reject_a_version(session, versions, command, new_status, capsys):
    status, out, _ = run(model_registry.main, command, "--version", "3", "--description", "checked", capsys=capsys)
    assert status == 0
    assert out == f"Version 3 of {GROUP}: {PENDING} -> {new_status}\n"
    package = status_of(session, versions[3])
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == (new_status, "checked")
    assert status_of(session, versions[2])["ModelApprovalStatus"] == APPROVED


def test_approving_an_approved_version_changes_nothing(session, versions, capsys):
    before = status_of(session, versions[1]).get("LastModifiedTime")
    status, out, _ = run(model_registry.main, "approve", "--version", "1", capsys=capsys)
    assert (status, out) == (0, f"Version 1 of {GROUP} is already {APPROVED}.\n")
    assert status_of(session, versions[1]).get("LastModifiedTime") == before  # no UpdateModelPackage


def test_unknown_version_is_one_line_naming_the_known_ones(versions, capsys):
    status, _, err = run(model_registry.main, "approve", "--version", "9", capsys=capsys)
    assert status == 1
    assert one_error_line(err, "model_registry").endswith(f"{GROUP} has no version 9 (its versions: 1, 2, 3)")


def test_missing_group_says_how_to_create_it(session, capsys):
    status, _, err = run(model_registry.main, "list", capsys=capsys)
    assert status == 1
    error = one_error_line(err, "model_registry")
    assert f"model package group {GROUP} (registry.model_package_group, develop) does not exist" in error
    assert "`make deploy ENV=develop` creates it" in error


def test_registry_switched_off_in_the_configuration(session, monkeypatch, capsys):
    switched_off = CONFIG.model_copy(update={"registry": CONFIG.registry.model_copy(update={"enabled": False})})
    monkeypatch.setattr(model_registry, "load_config", lambda environment: switched_off)
    status, _, err = run(model_registry.main, "list", capsys=capsys)
    assert status == 1
    error = one_error_line(err, "model_registry")
    assert error.endswith("the Model Registry is off for develop (its registry.enabled setting)")


def test_version_is_required_to_approve(capsys):
    with pytest.raises(SystemExit):
        model_registry.parse_arguments(["--environment", "develop", "approve"])
    assert "--version" in capsys.readouterr().err


# --------------------------------------------------------------------------- deploy_endpoint.py


def describe_deployment(session: boto3.Session, endpoint_name: str) -> tuple[dict, dict, dict]:
    """The endpoint, its configuration and the model of its one variant, as moto holds them."""
    sagemaker = session.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return endpoint, config, model


def test_deploys_the_newest_approved_version(session, versions, capsys):
    status, out, _ = run(deploy_endpoint.main, capsys=capsys)
    assert status == 0, out
    endpoint, config, model = describe_deployment(session, GROUP)
    assert endpoint["EndpointConfigName"] == config["EndpointConfigName"]
    assert model["PrimaryContainer"]["ModelPackageName"] == versions[2]  # 3 is not approved yet
    assert model["ExecutionRoleArn"] == CONFIG.role_arn
    assert re.fullmatch(re.escape(GROUP) + r"-v2-\d{14}", config["EndpointConfigName"])  # <group>-v<n>-<time>
    variant = config["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == (deploy_endpoint.DEFAULT_INSTANCE_TYPE, 1)
    assert variant["ModelName"] == config["EndpointConfigName"]
    assert f"creating endpoint {GROUP}" in out


def test_deploys_a_given_version_on_given_instances(session, versions, capsys):
    arguments = ["--model-package-arn", versions[1], "--endpoint-name", "model-canary"]
    status, _, _ = run(
        deploy_endpoint.main, *arguments, "--instance-type", "ml.c5.xlarge", "--instance-count", "2", capsys=capsys
    )
    assert status == 0
    _, config, model = describe_deployment(session, "model-canary")
    assert model["PrimaryContainer"]["ModelPackageName"] == versions[1]
    variant = config["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 2)


def test_an_existing_endpoint_moves_to_the_new_configuration(session, versions, updates, capsys):
    assert run(deploy_endpoint.main, "--model-package-arn", versions[1], capsys=capsys)[0] == 0
    status, out, _ = run(deploy_endpoint.main, capsys=capsys)
    assert status == 0
    assert len(updates) == 1
    assert updates[0]["EndpointName"] == GROUP
    sagemaker = session.client("sagemaker")
    new_config = sagemaker.describe_endpoint_config(EndpointConfigName=updates[0]["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=new_config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == versions[2]
    assert f"updating endpoint {GROUP} to the new configuration" in out


def test_wait_reports_the_endpoint_in_service(session, versions, capsys):
    status, out, _ = run(deploy_endpoint.main, "--wait", capsys=capsys)
    assert status == 0
    assert f"\nEndpoint {GROUP} is InService.\nCall it (once InService):\n" in out
    assert out.endswith(f"aws sagemaker delete-endpoint --endpoint-name {GROUP}\n")


def test_a_version_waiting_for_approval_is_not_deployed(session, versions, capsys):
    status, _, err = run(deploy_endpoint.main, "--model-package-arn", versions[3], capsys=capsys)
    assert status == 1
    error = one_error_line(err, "deploy_endpoint")
    assert f"{versions[3]} is {PENDING}: only {APPROVED} models are deployed" in error
    assert "`make approve ENV=develop VERSION=3`" in error
    assert session.client("sagemaker").list_models()["Models"] == []


def test_an_unknown_model_package_is_one_line(session, versions, capsys):
    unknown = versions[1].removesuffix("/1") + "/9"
    status, _, err = run(deploy_endpoint.main, "--model-package-arn", unknown, capsys=capsys)
    assert status == 1
    assert f"AWS DescribeModelPackage failed (ValidationException): Model package {unknown} not found" in err


def test_no_approved_version_is_one_line(session, group, evaluation, capsys):
    register(session, PENDING, evaluation)
    status, _, err = run(deploy_endpoint.main, capsys=capsys)
    assert status == 1
    error = one_error_line(err, "deploy_endpoint")
    assert f"{GROUP} has no {APPROVED} model version: approve one with `make approve ENV=develop VERSION=n`" in error
    assert session.client("sagemaker").list_models()["Models"] == []


@pytest.mark.parametrize("main", [model_registry.main, deploy_endpoint.main], ids=["model_registry", "deploy_endpoint"])
def test_missing_credentials_are_one_line(offline, main, capsys):
    arguments = ["list"] if main is model_registry.main else []
    status, _, err = run(main, *arguments, capsys=capsys)
    assert status == 1
    assert "no AWS credentials found" in one_error_line(err, main.__module__)


def test_names_fit_sagemaker_limits():
    now = datetime(2024, 6, 1, 12, 30, 5, tzinfo=UTC)
    assert deploy_endpoint.resource_name("model", 7, now) == "model-v7-20240601123005"
    # 44 characters of the endpoint name fit beside "-v12-<time>"; the 44th is a hyphen.
    cut_at_a_hyphen = deploy_endpoint.resource_name("a" * 43 + "-" + "b" * 19, 12, now)
    assert cut_at_a_hyphen == "a" * 43 + "-v12-20240601123005"
    assert deploy_endpoint.NAME_PATTERN.fullmatch(cut_at_a_hyphen)
    assert len(deploy_endpoint.resource_name("c" * 63, 12, now)) == 63


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--instance-type", "m5.large", "is not a SageMaker instance type"),
        ("--endpoint-name", "model_canary", "is not an endpoint name"),
        ("--instance-count", "0", "is not a whole number of at least 1"),
    ],
)
def test_bad_options_are_refused(option, value, message, capsys):
    with pytest.raises(SystemExit):
        deploy_endpoint.parse_arguments(["--environment", "develop", option, value])
    assert message in capsys.readouterr().err
