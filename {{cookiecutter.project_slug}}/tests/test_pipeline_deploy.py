"""create_pipeline.py end to end: deploying against a moto server, the offline build, the errors users meet.

The deploy tests talk to moto over HTTP through AWS_ENDPOINT_URL, the way CI does; dummy
credentials exist only inside these tests.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
import yaml

from {{ cookiecutter.package_name }}.config import DEFAULT_CONFIG_DIR, load_config

pytestmark = [
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    # The SDK warns about its own imports and defaults: nothing this project could act on.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sagemaker"),
    pytest.mark.filterwarnings("ignore:The 'dependencies' parameter is deprecated:DeprecationWarning"),
]

PROJECT_DIR = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT_DIR / "production" / "pipelines_code" / "create_pipeline.py"
CONFIG = load_config("develop")
ROLE_NAME = CONFIG.role_arn.rsplit("/", 1)[-1]
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture
def aws_environment(monkeypatch, tmp_path):
    """No real AWS reachable: no profile, no instance metadata, retries off, SDK role checks off."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", CONFIG.region)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # moto has no iam:SimulatePrincipalPolicy


@pytest.fixture
def moto_server(monkeypatch, aws_environment):
    """A moto server on 127.0.0.1, reached through AWS_ENDPOINT_URL like CI reaches its own."""
    from moto.server import ThreadedMotoServer

    # The server logs every request; its log records would land in the output under test.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # Servers in one process share moto's state: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def account(moto_server, web_identity):
    """The develop environment's bucket and execution role exist; returns a client factory."""
    session = boto3.Session(region_name=CONFIG.region)
    session.client("s3").create_bucket(
        Bucket=CONFIG.storage.bucket, CreateBucketConfiguration={"LocationConstraint": CONFIG.region}
    )
    session.client("iam").create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST_POLICY)
    return session


@pytest.fixture
def cli(capsys):
    """Run create_pipeline.main and give back (exit status, stdout, stderr); restore logging afterwards."""
    import create_pipeline

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level

    def run(*arguments: str) -> tuple[int, str, str]:
        status = create_pipeline.main(list(arguments))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield run
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def single_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("create_pipeline: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_deploying_twice_creates_then_updates_the_same_pipeline(account, cli):
    sagemaker = account.client("sagemaker")

    status, _, log = cli("--environment", "develop")
    assert status == 0, log
    arn = sagemaker.describe_pipeline(PipelineName=CONFIG.pipeline_name)["PipelineArn"]
    assert f"Created pipeline {CONFIG.pipeline_name}" in log
    assert arn in log
    if CONFIG.registry.enabled:
        assert f"Created model package group {CONFIG.registry.model_package_group}" in log
        assert sagemaker.describe_model_package_group(ModelPackageGroupName=CONFIG.registry.model_package_group)
    first = sagemaker.describe_pipeline(PipelineName=CONFIG.pipeline_name)["PipelineDefinition"]

    status, _, log = cli("--environment", "develop")
    assert status == 0, log
    assert f"Updated pipeline {CONFIG.pipeline_name}" in log
    assert "model package group" not in log
    second = sagemaker.describe_pipeline(PipelineName=CONFIG.pipeline_name)["PipelineDefinition"]

    from definition_json import normalise

    assert normalise(second) == normalise(first)
    assert [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]] == [CONFIG.pipeline_name]
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags.items() >= CONFIG.tags.items()
    assert sagemaker.describe_pipeline(PipelineName=CONFIG.pipeline_name)["RoleArn"] == CONFIG.role_arn


def test_deploy_with_web_identity_starts_an_execution_and_waits(account, cli, tmp_path):
    # `account` gives the credentials CI has: a web identity token exchanged for a role through STS.
    output = tmp_path / "deployed.json"

    status, _, log = cli(
        "--environment", "develop", "--output", str(output),
        "--start", "--use-type", "predict", "--execution-date", "2024-05-31", "--param", "MaxDepth=6", "--wait",
    )  # fmt: skip

    assert status == 0, log
    sagemaker = boto3.Session(region_name=CONFIG.region).client("sagemaker")
    [execution] = sagemaker.list_pipeline_executions(PipelineName=CONFIG.pipeline_name)["PipelineExecutionSummaries"]
    arn = execution["PipelineExecutionArn"]
    assert f"Started execution {arn}" in log
    assert "Execution Succeeded" in log
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "UseType": "predict",
        "ExecutionDate": "2024-05-31",
        "MaxDepth": "6",
    }
    written = json.loads(output.read_text(encoding="utf-8"))
    assert [step["Name"] for step in written["Steps"]] == ["ETL", "UseTypeIsTrain"]


NIGHTLY = {"name": "nightly-predict", "expression": "cron(0 4 * * ? *)", "timezone": "UTC", "use_type": "predict"}


def test_deploy_keeps_the_configured_schedules_and_the_alert_in_place(account, cli, config_with, monkeypatch):
    import create_pipeline

    scheduled = config_with(schedules=[NIGHTLY])
    monkeypatch.setattr(create_pipeline, "load_config", lambda environment: scheduled)
    account.client("iam").create_role(
        RoleName=scheduled.scheduler_role_arn.rsplit("/", 1)[-1], AssumeRolePolicyDocument=TRUST_POLICY
    )

    status, _, log = cli("--environment", "develop")

    assert status == 0, log
    assert "Created schedule nightly-predict" in log
    assert f"Created EventBridge rule {CONFIG.pipeline_name}-failed" in log
    scheduler = account.client("scheduler")
    schedule = scheduler.get_schedule(Name="nightly-predict", GroupName=scheduled.schedule_group)
    pipeline_arn = account.client("sagemaker").describe_pipeline(PipelineName=CONFIG.pipeline_name)["PipelineArn"]
    assert schedule["Target"]["Arn"] == pipeline_arn

    status, _, log = cli("--environment", "develop")

    assert status == 0, log
    assert "Unchanged schedule nightly-predict" in log
    assert f"Unchanged EventBridge rule {CONFIG.pipeline_name}-failed" in log
    assert "Created" not in log


def test_a_missing_scheduler_role_is_one_line_and_deploys_nothing(account, cli, config_with, monkeypatch):
    import create_pipeline

    scheduled = config_with(schedules=[NIGHTLY])
    monkeypatch.setattr(create_pipeline, "load_config", lambda environment: scheduled)

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    assert f"scheduler_role_arn {scheduled.scheduler_role_arn} (develop): no such IAM role" in single_error_line(stderr)
    assert account.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
    assert account.client("scheduler").list_schedule_groups()["ScheduleGroups"][1:] == []  # only "default"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expression": "cron(0 4 * * * *)"}, "schedules.0.expression: 'cron(0 4 * * * *)': exactly one of"),
        ({"timezone": "Mars/Olympus"}, "schedules.0.timezone: 'Mars/Olympus' is not an IANA timezone name"),
        ({"parameters": {"Depth": 3}}, "schedules.0.parameters: Depth: the pipeline has no such parameter"),
    ],
)
def test_a_bad_schedule_is_one_line_and_changes_nothing_in_aws(account, cli, tmp_path, monkeypatch, change, message):
    import create_pipeline

    for path in DEFAULT_CONFIG_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    develop = yaml.safe_load((tmp_path / "develop.yaml").read_text(encoding="utf-8"))
    develop["schedules"] = [{**NIGHTLY, **change}]
    (tmp_path / "develop.yaml").write_text(yaml.safe_dump(develop), encoding="utf-8")
    monkeypatch.setattr(create_pipeline, "load_config", functools.partial(load_config, config_dir=tmp_path))

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    assert f"develop.yaml: {message}" in single_error_line(stderr)
    assert account.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
    assert account.client("sns").list_topics()["Topics"] == []
    assert account.client("events").list_rules()["Rules"] == []


def test_dry_run_needs_no_aws_account_and_runs_as_a_plain_script(tmp_path):
    """`make definition` in a fresh project: no credentials, no region, no installed package."""
    output = tmp_path / "definition.json"
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")
    environment = {name: value for name, value in os.environ.items() if name in keep}
    environment["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    environment["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    environment["AWS_EC2_METADATA_DISABLED"] = "true"

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--environment", "production", "--dry-run", "--output", str(output)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    definition = json.loads(output.read_text(encoding="utf-8"))
    assert definition["Parameters"][0]["Name"] == "UseType"
    assert "Built the production definition offline" in result.stderr
    assert "Traceback" not in result.stderr
    assert "telemetry" not in result.stderr.lower()
    assert "WARNING" not in result.stderr
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no temporary left over


def test_dry_run_writes_the_normalised_definition_under_build_by_default(cli, aws_environment, monkeypatch, tmp_path):
    import create_pipeline

    # The real offline build is covered above and in test_pipeline_definition: here, what is done with it.
    built = {"Steps": [{"Name": "Train", "Uri": "s3://bucket/pipeline/Train-20240531120000/input/sm_drivers"}]}
    monkeypatch.setattr(create_pipeline, "build_definition_offline", lambda config: json.dumps(built))
    monkeypatch.setattr(create_pipeline, "PROJECT_DIR", tmp_path)

    status, _, log = cli("--environment", "develop", "--dry-run")

    assert status == 0, log
    written = tmp_path / "build" / "pipeline-definition-develop.json"
    assert "Built the develop definition offline in" in log
    assert str(written) in log
    assert json.loads(written.read_text(encoding="utf-8")) == {
        "Steps": [{"Name": "Train", "Uri": "s3://bucket/pipeline/Train-<build-time>/input/sm_drivers"}]
    }
    assert written.read_text(encoding="utf-8").startswith('{\n  "Steps": [\n')
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask  # readable like any file the user writes
    assert [path.name for path in written.parent.iterdir()] == [written.name]  # no temporary left behind


def test_unknown_environment_is_one_line(cli):
    status, _, stderr = cli("--environment", "staging")

    assert status == 1
    assert "unknown environment 'staging'" in single_error_line(stderr)
    assert "develop, production" in stderr


def test_invalid_configuration_names_file_and_key(cli, monkeypatch, tmp_path):
    import create_pipeline

    for path in DEFAULT_CONFIG_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    develop = yaml.safe_load((tmp_path / "develop.yaml").read_text(encoding="utf-8"))
    develop["training"] = {"n_estimators": 0}
    (tmp_path / "develop.yaml").write_text(yaml.safe_dump(develop), encoding="utf-8")
    monkeypatch.setattr(create_pipeline, "load_config", functools.partial(load_config, config_dir=tmp_path))

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    line = single_error_line(stderr)
    assert "develop.yaml: training.n_estimators" in line
    assert "greater than or equal to 1" in line


def test_missing_credentials_are_one_line(cli, aws_environment):
    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    assert "no AWS credentials found" in single_error_line(stderr)


def test_missing_bucket_is_one_line(cli, moto_server, web_identity):
    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    line = single_error_line(stderr)
    assert f"S3 bucket '{CONFIG.storage.bucket}' (storage.bucket, develop) does not exist" in line


def test_unknown_role_is_one_line(cli, moto_server, web_identity):
    boto3.client("s3", region_name=CONFIG.region).create_bucket(
        Bucket=CONFIG.storage.bucket, CreateBucketConfiguration={"LocationConstraint": CONFIG.region}
    )

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    assert f"role_arn {CONFIG.role_arn} (develop): no such IAM role" in single_error_line(stderr)


def test_role_of_another_account_is_one_line(account, cli, monkeypatch):
    import create_pipeline

    foreign = CONFIG.model_copy(update={"role_arn": "arn:aws:iam::999999999999:role/elsewhere"})
    monkeypatch.setattr(create_pipeline, "load_config", lambda environment: foreign)

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    account = CONFIG.role_arn.split(":")[4]
    assert f"belongs to account 999999999999, but the credentials are for account {account}" in stderr


def test_sdk_role_checks_against_an_emulator_are_one_line(account, cli, monkeypatch):
    # The SDK simulates the role's IAM policies unless told not to; moto answers with an error page.
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE")

    status, _, stderr = cli("--environment", "develop")

    assert status == 1
    line = single_error_line(stderr)
    assert "not an AWS response" in line
    assert "set SAGEMAKER_VALIDATE_ROLE=false" in line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--start", "--use-type", "score"], "UseType 'score': choose one of train, predict"),
        (["--start", "--execution-date", "31/05/2024"], "ExecutionDate '31/05/2024': give a date as YYYY-MM-DD"),
        (["--start", "--param", "Trees=3"], "unknown pipeline parameter 'Trees'"),
        (["--start", "--param", "MaxDepth=deep"], "MaxDepth 'deep': must be an integer"),
    ],
)
def test_bad_execution_values_fail_before_anything_is_built(cli, arguments, message):
    status, _, stderr = cli("--environment", "develop", *arguments)

    assert status == 1
    assert message in single_error_line(stderr)


def test_dry_run_without_moto_says_what_to_install(cli, monkeypatch):
    from offline_aws import import_moto
    from pipeline_errors import PipelineError

    monkeypatch.setitem(sys.modules, "moto", None)  # what a missing package looks like to import

    with pytest.raises(PipelineError, match=r"moto is not installed.*pip install -e '\.\[dev\]'"):
        import_moto()


def test_wait_without_start_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli("--environment", "develop", "--wait")

    assert exit_info.value.code == 2
