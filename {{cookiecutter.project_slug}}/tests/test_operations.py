"""operations.py: the daily commands, against a moto server reached through AWS_ENDPOINT_URL.

moto implements the pipeline calls these commands make except ListPipelineExecutionSteps
(HTTP 500); its output is checked with botocore's Stubber instead.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import urllib.request

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import ANY, Stubber

from {{ cookiecutter.package_name }}.config import load_config

import alerts
import operations
import schedules

pytestmark = [
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    # The SDK warns about its own imports and defaults: nothing this project could act on.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sagemaker"),
    pytest.mark.filterwarnings("ignore:The 'dependencies' parameter is deprecated:DeprecationWarning"),
]

CONFIG = load_config("develop")
NAME = CONFIG.pipeline_name
SMALL_DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})


@pytest.fixture
def moto_server(monkeypatch, tmp_path, web_identity):
    """A moto server on 127.0.0.1, reached with CI's kind of credentials, for this test only."""
    from moto.server import ThreadedMotoServer

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", CONFIG.region)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # The server logs every request; its log records would land in the output under test.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # Servers in one process share moto's state: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    yield boto3.Session(region_name=CONFIG.region).client("sagemaker")
    server.stop()


@pytest.fixture
def deployed(moto_server):
    """The develop pipeline exists (its definition does not matter to most commands)."""
    moto_server.create_pipeline(PipelineName=NAME, PipelineDefinition=SMALL_DEFINITION, RoleArn=CONFIG.role_arn)
    return moto_server


@pytest.fixture
def run(capsys):
    """Run operations.main for develop: (exit status, stdout, stderr); logging is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level

    def run(*arguments: str) -> tuple[int, str, str]:
        status = operations.main(["--environment", "develop", *arguments])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield run
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("operations: error: "), stderr
    return lines[0]


def executions(client) -> list[dict]:
    return client.list_pipeline_executions(PipelineName=NAME)["PipelineExecutionSummaries"]


def test_start_passes_validated_parameters(deployed, run):
    status, out, _ = run(
        "start", "--use-type", "predict", "--execution-date", "2024-05-31", "--param", "NEstimators=50"
    )

    assert status == 0
    [execution] = executions(deployed)
    arn = execution["PipelineExecutionArn"]
    assert f"Started {arn}" in out
    parameters = deployed.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "UseType": "predict",
        "ExecutionDate": "2024-05-31",
        "NEstimators": "50",
    }


def test_start_without_a_date_leaves_it_to_the_execution(deployed, run):
    status, out, _ = run("start")

    assert status == 0
    assert "ExecutionDate" not in out
    [execution] = executions(deployed)
    parameters = deployed.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    # SageMaker then takes the default, empty: the ETL settles the day the execution started.
    assert "ExecutionDate" not in {parameter["Name"] for parameter in parameters}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--use-type", "score"], "UseType 'score': choose one of train, predict"),
        (["--execution-date", "2024-02-30"], "ExecutionDate '2024-02-30': give a date as YYYY-MM-DD"),
        (["--param", "MaxDepth"], "--param 'MaxDepth': write it as NAME=VALUE"),
    ],
)
def test_start_rejects_bad_values_and_starts_nothing(deployed, run, arguments, message):
    status, _, stderr = run("start", *arguments)

    assert status == 1
    assert message in error_line(stderr)
    assert executions(deployed) == []


def test_status_lists_the_latest_executions_first(deployed, run):
    arns = [
        deployed.start_pipeline_execution(PipelineName=NAME, PipelineExecutionDisplayName=f"run-{index}")[
            "PipelineExecutionArn"
        ]
        for index in range(3)
    ]

    status, out, _ = run("status", "--limit", "2")

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["started", "status", "execution"]
    assert len(lines) == 3
    listed = [line.split()[-1] for line in lines[1:]]
    assert set(listed) <= set(arns)
    assert all("Succeeded" in line for line in lines[1:])


def test_status_without_executions_says_so(deployed, run):
    status, out, _ = run("status")

    assert status == 0
    assert out.strip() == f"{NAME} has no executions yet."


def test_describe_shows_the_execution_then_explains_the_missing_steps_call(deployed, run):
    arn = deployed.start_pipeline_execution(
        PipelineName=NAME, PipelineParameters=[{"Name": "UseType", "Value": "predict"}]
    )["PipelineExecutionArn"]

    status, out, stderr = run("describe")

    assert status == 1
    assert f"Execution {arn}" in out
    assert "status   Succeeded" in out
    assert "UseType = predict" in out
    line = error_line(stderr)
    assert "could not list the steps" in line
    assert "HTTP 500" in line
    assert "<html" not in line


def test_describe_prints_one_row_per_step(monkeypatch):
    # Stubbed answers: the request is never sent, so it need not be signed.
    client = boto3.client("sagemaker", region_name=CONFIG.region, config=Config(signature_version=UNSIGNED))
    arn = f"arn:aws:sagemaker:{CONFIG.region}:123456789012:pipeline/{NAME}/execution/abc"
    started = datetime.datetime(2024, 5, 31, 6, 0, 0)
    out = io.StringIO()
    with Stubber(client) as stub:
        stub.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": arn, "PipelineExecutionStatus": "Failed", "CreationTime": started,
             "FailureReason": "Step failure: One or multiple steps failed."},
            {"PipelineExecutionArn": arn},
        )  # fmt: skip
        stub.add_response(
            "list_pipeline_parameters_for_execution",
            {"PipelineParameters": [{"Name": "UseType", "Value": "train"}]},
            {"PipelineExecutionArn": arn},
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {
                "PipelineExecutionSteps": [
                    {"StepName": "ETL", "StepStatus": "Succeeded", "StartTime": started, "EndTime": started},
                    {"StepName": "ModelBelowThreshold", "StepStatus": "Failed", "StartTime": started,
                     "FailureReason": "Quality gate failed: roc_auc = 0.61\n is below the threshold 0.7"},
                ]
            },
            {"PipelineExecutionArn": arn, "SortOrder": "Ascending"},
        )  # fmt: skip
        operations.Operations(CONFIG, client, out=out).describe(arn)

    lines = out.getvalue().splitlines()
    assert "  status   Failed" in lines
    assert "  UseType = train" in lines
    header = next(index for index, line in enumerate(lines) if line.startswith("step"))
    assert lines[header].split() == ["step", "status", "started", "ended", "failure"]
    assert lines[header + 1].split()[:2] == ["ETL", "Succeeded"]
    assert lines[header + 2].split()[:2] == ["ModelBelowThreshold", "Failed"]
    assert lines[header + 2].endswith("Quality gate failed: roc_auc = 0.61 is below the threshold 0.7")


def test_delete_asks_and_keeps_the_pipeline_unless_its_name_is_typed(deployed):
    out = io.StringIO()
    commands = operations.Operations(CONFIG, deployed, out=out)

    assert commands.delete(confirmed=False, ask=lambda prompt: "yes") is False
    assert "Not deleted." in out.getvalue()
    assert deployed.describe_pipeline(PipelineName=NAME)["PipelineName"] == NAME

    prompts = []
    assert commands.delete(confirmed=False, ask=lambda prompt: prompts.append(prompt) or NAME) is True
    assert NAME in prompts[0]
    assert deployed.list_pipelines()["PipelineSummaries"] == []


def test_delete_without_a_terminal_needs_yes(deployed, run):
    status, _, stderr = run("delete")

    assert status == 1
    assert "add --yes" in error_line(stderr)
    assert deployed.describe_pipeline(PipelineName=NAME)["PipelineName"] == NAME

    status, out, _ = run("delete", "--yes")

    assert status == 0
    assert f"Deleted {NAME}." in out
    assert deployed.list_pipelines()["PipelineSummaries"] == []


def test_unknown_environment_is_one_line(capsys):
    assert operations.main(["--environment", "staging", "status"]) == 1
    assert "unknown environment 'staging'" in error_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", [["status"], ["start"], ["describe"], ["delete", "--yes"], ["diff"]])
def test_commands_on_a_missing_pipeline_say_how_to_deploy(moto_server, run, command):
    status, _, stderr = run(*command)

    assert status == 1
    assert f"pipeline {NAME} does not exist in {CONFIG.region}" in error_line(stderr)
    assert "make deploy ENV=develop" in stderr


def test_diff_of_an_unchanged_pipeline_is_empty(moto_server, run):
    import create_pipeline

    # Built before anything is deployed: the offline build's in-process mock resets moto's
    # state, which this process's server shares, when it ends.
    local = create_pipeline.build_definition_offline(CONFIG)
    moto_server.create_pipeline(PipelineName=NAME, PipelineDefinition=local, RoleArn=CONFIG.role_arn)

    status, out, _ = run("diff", "--exit-code")

    assert status == 0
    assert out.strip() == f"{NAME}: the deployed definition equals the local one."


def test_diff_shows_what_a_deploy_would_change(deployed, run, monkeypatch):
    import create_pipeline

    local = {"Version": "2020-12-01", "Parameters": [{"Name": "MaxDepth", "Type": "Integer", "DefaultValue": 12}]}
    remote = {"Version": "2020-12-01", "Parameters": [{"Name": "MaxDepth", "Type": "Integer", "DefaultValue": 8}]}
    deployed.update_pipeline(PipelineName=NAME, PipelineDefinition=json.dumps(remote))
    monkeypatch.setattr(create_pipeline, "build_definition_offline", lambda config: json.dumps(local))

    status, out, _ = run("diff")
    assert status == 0
    assert f"--- deployed/{NAME}" in out
    assert "+++ local/develop" in out
    assert '-      "DefaultValue": 8,' in out
    assert '+      "DefaultValue": 12,' in out

    status, _, _ = run("diff", "--exit-code")
    assert status == 1


# ---------------------------------------------------------------- logs, stop, retry


EXECUTION_ARN = f"arn:aws:sagemaker:{CONFIG.region}:123456789012:pipeline/{NAME}/execution/abc123"
STARTED = datetime.datetime(2024, 5, 31, 6, 0, 0, tzinfo=datetime.UTC)


def stubbed_sagemaker():
    # Stubbed answers: the request is never sent, so it need not be signed.
    return boto3.client("sagemaker", region_name=CONFIG.region, config=Config(signature_version=UNSIGNED))


def steps_answer(*steps: dict) -> tuple[dict, dict]:
    return {"PipelineExecutionSteps": list(steps)}, {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"}


ETL_STEP = {
    "StepName": "ETL",
    "StepStatus": "Succeeded",
    "StartTime": STARTED,
    "Metadata": {"ProcessingJob": {"Arn": f"arn:aws:sagemaker:{CONFIG.region}:123456789012:processing-job/etl-job"}},
}
TRAIN_STEP = {
    "StepName": "Train",
    "StepStatus": "Failed",
    "StartTime": STARTED + datetime.timedelta(minutes=5),
    "Metadata": {"TrainingJob": {"Arn": f"arn:aws:sagemaker:{CONFIG.region}:123456789012:training-job/train-job"}},
}
GATE_STEP = {"StepName": "QualityGate", "StepStatus": "Succeeded", "StartTime": STARTED, "Metadata": {}}


def write_job_log(logs, group: str, stream: str, messages: list[str]) -> None:
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    # CloudWatch (and moto) refuse events older than 14 days: these are an hour old.
    first = int((datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).timestamp() * 1000)
    events = [{"timestamp": first + index, "message": message} for index, message in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def test_logs_print_the_last_failed_steps_job_from_cloudwatch(moto_server):
    logs = boto3.Session(region_name=CONFIG.region).client("logs")
    write_job_log(logs, "/aws/sagemaker/TrainingJobs", "train-job/algo-1-1717135200", ["loading", "ValueError: bad"])
    write_job_log(logs, "/aws/sagemaker/TrainingJobs", "other-job/algo-1-1717135200", ["not this job"])
    write_job_log(logs, "/aws/sagemaker/ProcessingJobs", "etl-job/algo-1-1717135200", ["etl line"])
    client, out = stubbed_sagemaker(), io.StringIO()
    commands = operations.Operations(CONFIG, client, out=out, session=boto3.Session(region_name=CONFIG.region))

    with Stubber(client) as stub:
        stub.add_response("list_pipeline_execution_steps", *steps_answer(ETL_STEP, TRAIN_STEP))
        commands.logs(EXECUTION_ARN, None)
        stub.add_response("list_pipeline_execution_steps", *steps_answer(ETL_STEP, TRAIN_STEP))
        commands.logs(EXECUTION_ARN, "ETL")

    lines = out.getvalue().splitlines()
    assert lines[0] == "Train (Failed): /aws/sagemaker/TrainingJobs train-job/*"
    assert [line.split("  ", 1)[1] for line in lines[1:3]] == ["loading", "ValueError: bad"]
    assert lines[3] == "ETL (Succeeded): /aws/sagemaker/ProcessingJobs etl-job/*"
    assert lines[4].endswith("etl line")
    assert "not this job" not in out.getvalue()


@pytest.mark.parametrize(
    ("steps", "step", "message"),
    [
        ((ETL_STEP, GATE_STEP), None, "no step of " + EXECUTION_ARN + " failed: name one with STEP=<name>"),
        ((ETL_STEP, GATE_STEP), "QualityGate", "step QualityGate ran no job"),
        ((ETL_STEP,), "Evaluate", "has no step 'Evaluate': its steps are ETL"),
    ],
)
def test_logs_of_no_job_say_which_step_to_name(steps, step, message):
    client = stubbed_sagemaker()
    commands = operations.Operations(CONFIG, client, out=io.StringIO())
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_execution_steps", *steps_answer(*steps))
        with pytest.raises(operations.PipelineError) as error:
            commands.logs(EXECUTION_ARN, step)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("command", "status", "call"),
    [("stop", "Executing", "stop_pipeline_execution"), ("retry", "Failed", "retry_pipeline_execution")],
)
def test_stop_and_retry_act_only_on_an_execution_in_the_right_state(command, status, call):
    client, out = stubbed_sagemaker(), io.StringIO()
    commands = operations.Operations(CONFIG, client, out=out)
    described = {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": status}
    with Stubber(client) as stub:
        stub.add_response("describe_pipeline_execution", described, {"PipelineExecutionArn": EXECUTION_ARN})
        stub.add_response(
            call,
            {"PipelineExecutionArn": EXECUTION_ARN},
            {"PipelineExecutionArn": EXECUTION_ARN, "ClientRequestToken": ANY},
        )
        getattr(commands, command)(EXECUTION_ARN)
        stub.assert_no_pending_responses()

        succeeded = {**described, "PipelineExecutionStatus": "Succeeded"}
        stub.add_response("describe_pipeline_execution", succeeded, {"PipelineExecutionArn": EXECUTION_ARN})
        # No stop or retry call is stubbed: making one would fail the test.
        with pytest.raises(operations.PipelineError, match=f"is Succeeded: only {status}"):
            getattr(commands, command)(EXECUTION_ARN)
    assert EXECUTION_ARN in out.getvalue()


# ---------------------------------------------------------------- schedules and delete

NIGHTLY = {"name": "nightly-predict", "expression": "cron(0 4 * * ? *)", "timezone": "UTC", "use_type": "predict"}


def test_schedules_lists_what_is_deployed_and_says_when_the_config_differs(deployed, config_with):
    config = config_with(schedules=[NIGHTLY])
    session = boto3.Session(region_name=CONFIG.region)
    out = io.StringIO()
    commands = operations.Operations(config, deployed, out=out, session=session)

    commands.schedules(now=datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.UTC))
    assert out.getvalue().splitlines() == [
        f"{NAME} has no schedules.",
        "develop.yaml differs (create nightly-predict): `make deploy ENV=develop`",
    ]

    arn = deployed.describe_pipeline(PipelineName=NAME)["PipelineArn"]
    schedules.reconcile(session.client("scheduler"), config, arn)
    out.seek(0), out.truncate()
    commands.schedules(now=datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.UTC))
    header, row = out.getvalue().splitlines()
    assert header.split() == ["schedule", "state", "expression", "timezone", "parameters", "next", "run"]
    assert row.split() == ["nightly-predict", "ENABLED", "cron(0", "4", "*", "*", "?", "*)", "UTC", "UseType=predict",
                           "2026-12-04", "04:00", "UTC"]  # fmt: skip


def test_delete_removes_the_schedules_and_the_alert_rule_first(deployed, config_with):
    config = config_with(schedules=[NIGHTLY])
    session = boto3.Session(region_name=CONFIG.region)
    arn = deployed.describe_pipeline(PipelineName=NAME)["PipelineArn"]
    account = session.client("sts").get_caller_identity()["Account"]
    schedules.reconcile(session.client("scheduler"), config, arn)
    alerts.reconcile(session.client("sns"), session.client("events"), config, arn, account)
    out = io.StringIO()

    assert operations.Operations(config, deployed, out=out, session=session).delete(confirmed=True)

    assert out.getvalue().splitlines() == [
        "Deleted schedule nightly-predict.",
        f"Deleted EventBridge rule {NAME}-failed.",
        f"Deleted {NAME}.",
    ]
    assert not schedules.group_exists(session.client("scheduler"), config.schedule_group)
    assert session.client("events").list_rules()["Rules"] == []
