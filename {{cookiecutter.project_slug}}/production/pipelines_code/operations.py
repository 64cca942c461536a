"""Day-to-day commands for an environment's deployed pipeline, over boto3.

    operations.py --environment ENV start [--use-type train|predict] [--execution-date YYYY-MM-DD] [--param K=V]
    operations.py --environment ENV status [--limit N]
    operations.py --environment ENV describe [--execution-arn ARN]
    operations.py --environment ENV logs [--execution-arn ARN] [--step NAME]
    operations.py --environment ENV stop|retry [--execution-arn ARN]
    operations.py --environment ENV schedules
    operations.py --environment ENV diff [--exit-code]
    operations.py --environment ENV delete [--yes]

(``make start|status|describe|logs|stop|retry|schedules|diff|delete ENV=...`` run these.)
Without ``--execution-arn`` a command takes the latest execution. ``logs`` prints the
CloudWatch log lines of one step's job: the step named, else the last one that failed.

``diff`` compares the deployed definition with one built locally (offline, like
``create_pipeline.py --dry-run``). A problem the user can fix prints one
``operations: error: ...`` line and exits with status 1.
"""
# ruff: noqa: E402 - run as a script, src/ must be on sys.path before the package is imported.

from __future__ import annotations

import argparse
import datetime
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

PROJECT_DIR = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # pytest's `pythonpath` setting does the same for the tests
    sys.path.insert(0, str(PROJECT_DIR / "src"))

from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config

import alerts
import schedules
from aws_session import boto_session
from definition_json import unified_diff
from pipeline_errors import AWS_ERRORS, PipelineError, describe_aws_error, http_status, is_not_found, one_line
from pipeline_parameters import execution_parameters, parse_assignments


class Operations:
    """The commands, each a method printing to ``out``; AWS errors are left to the caller."""

    def __init__(self, config: EnvironmentConfig, sagemaker_client, out: TextIO | None = None, session=None):
        self.config = config
        self.client = sagemaker_client
        self.name = config.pipeline_name
        self.out = out if out is not None else sys.stdout
        # Clients of the other services (CloudWatch Logs, EventBridge, Scheduler) come from here.
        self.session = session if session is not None else boto_session(config)

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)

    def start(self, use_type: str | None, execution_date: str | None, assignments: list[str]) -> str:
        values = execution_parameters(use_type, execution_date, parse_assignments(assignments))
        self.require_pipeline()
        response = self.client.start_pipeline_execution(
            PipelineName=self.name,
            PipelineParameters=[{"Name": name, "Value": str(value)} for name, value in values.items()],
        )
        arn = response["PipelineExecutionArn"]
        self.print(f"Started {arn}", *(f"  {name} = {value}" for name, value in values.items()))
        return arn

    def status(self, limit: int) -> None:
        self.require_pipeline()
        summaries = self.client.list_pipeline_executions(
            PipelineName=self.name, SortBy="CreationTime", SortOrder="Descending", MaxResults=limit
        )["PipelineExecutionSummaries"][:limit]  # [:limit]: not every endpoint (moto) honours MaxResults
        if not summaries:
            self.print(f"{self.name} has no executions yet.")
            return
        self.print(*table(["started", "status", "execution"], [execution_row(summary) for summary in summaries]))

    def describe(self, execution_arn: str | None) -> None:
        arn = execution_arn or self.latest_execution_arn()
        execution = self.client.describe_pipeline_execution(PipelineExecutionArn=arn)
        parameters = self.client.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
        self.print(
            f"Execution {arn}",
            f"  status   {execution['PipelineExecutionStatus']}",
            f"  started  {timestamp(execution.get('CreationTime'))}",
            *(f"  {parameter['Name']} = {parameter['Value']}" for parameter in parameters),
        )
        if execution.get("FailureReason"):
            self.print(f"  failure  {one_line(execution['FailureReason'])}")
        steps = self.execution_steps(arn)
        self.print(*table(["step", "status", "started", "ended", "failure"], [step_row(step) for step in steps]))

    def logs(self, execution_arn: str | None, step_name: str | None) -> None:
        arn = execution_arn or self.latest_execution_arn()
        step = chosen_step(self.execution_steps(arn), step_name, arn)
        group, job = job_of(step)
        pages = (
            self.session.client("logs")
            .get_paginator("filter_log_events")
            .paginate(logGroupName=group, logStreamNamePrefix=f"{job}/")
        )
        # Filtered again here: not every CloudWatch Logs endpoint (moto) honours the prefix.
        events = [event for page in pages for event in page["events"] if event["logStreamName"].startswith(f"{job}/")]
        self.print(f"{step['StepName']} ({step.get('StepStatus', '')}): {group} {job}/*")
        if not events:
            self.print("  no log lines yet (a job's logs appear once its instances start)")
        for event in sorted(events, key=lambda event: event["timestamp"]):
            moment = datetime.datetime.fromtimestamp(event["timestamp"] / 1000, datetime.UTC)
            self.print(f"{timestamp(moment)}  {event['message'].rstrip()}")

    def stop(self, execution_arn: str | None) -> None:
        arn = execution_arn or self.latest_execution_arn()
        self.require_status(arn, ("Executing",), "stopped")
        self.client.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))
        self.print(f"Stopping {arn}")

    def retry(self, execution_arn: str | None) -> None:
        arn = execution_arn or self.latest_execution_arn()
        self.require_status(arn, ("Failed", "Stopped"), "retried")
        self.client.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))
        self.print(f"Retrying {arn} from its failed steps")

    def require_status(self, arn: str, allowed: tuple[str, ...], verb: str) -> None:
        status = self.client.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status not in allowed:
            raise PipelineError(f"execution {arn} is {status}: only {' or '.join(allowed)} ones can be {verb}")

    def schedules(self, now: datetime.datetime | None = None) -> None:
        pipeline = self.require_pipeline()
        scheduler = self.session.client("scheduler")
        rows = schedules.rows(scheduler, self.config, now or datetime.datetime.now(datetime.UTC))
        if rows:
            headers = ["schedule", "state", "expression", "timezone", "parameters", "next run"]
            self.print(*table(headers, rows))
        else:
            self.print(f"{self.name} has no schedules.")
        changes = schedules.plan(scheduler, self.config, pipeline["PipelineArn"])
        pending = ", ".join(f"{action} {name}" for action, name in changes if action != "unchanged")
        if pending:
            environment = self.config.environment
            self.print(f"{environment}.yaml differs ({pending}): `make deploy ENV={environment}`")

    def execution_steps(self, arn: str) -> list[dict]:
        try:
            pages = self.client.get_paginator("list_pipeline_execution_steps").paginate(
                PipelineExecutionArn=arn, SortOrder="Ascending"
            )
            return [step for page in pages for step in page["PipelineExecutionSteps"]]
        except ClientError as error:
            if http_status(error) >= 500:
                raise PipelineError(
                    f"could not list the steps of {arn}: {describe_aws_error(error)} "
                    "(a SageMaker emulator such as moto may not implement it)"
                ) from None
            raise

    def diff(self, exit_code: bool) -> int:
        deployed = self.require_pipeline()["PipelineDefinition"]
        # Imported here: building needs the SDK and moto, which the other commands do not.
        from create_pipeline import build_definition_offline, prepare_sdk

        prepare_sdk(self.config)
        local = build_definition_offline(self.config)
        changes = unified_diff(deployed, local, f"deployed/{self.name}", f"local/{self.config.environment}")
        if not changes:
            self.print(f"{self.name}: the deployed definition equals the local one.")
            return 0
        self.out.write(changes)
        return 1 if exit_code else 0

    def delete(self, confirmed: bool, ask: Callable[[str], str] | None = None) -> bool:
        self.require_pipeline()
        if not confirmed and not self.confirm_delete(ask):
            self.print("Not deleted.")
            return False
        # Its schedules and alert rule first: they would go on starting and watching a missing pipeline.
        for name in schedules.delete_all(self.session.client("scheduler"), self.config):
            self.print(f"Deleted schedule {name}.")
        if alerts.delete_rule(self.session.client("events"), self.config):
            self.print(f"Deleted EventBridge rule {alerts.rule_name(self.config)}.")
        self.client.delete_pipeline(PipelineName=self.name, ClientRequestToken=str(uuid.uuid4()))
        self.print(f"Deleted {self.name}.")
        return True

    def confirm_delete(self, ask: Callable[[str], str] | None) -> bool:
        if ask is None:
            if not sys.stdin.isatty():
                raise PipelineError(f"not deleting {self.name} without confirmation: add --yes")
            ask = input
        answer = ask(f"Delete pipeline {self.name} ({self.config.region})? Type its name to confirm: ")
        return answer.strip() == self.name

    def require_pipeline(self) -> dict:
        try:
            return self.client.describe_pipeline(PipelineName=self.name)
        except ClientError as error:
            if is_not_found(error):
                raise PipelineError(
                    f"pipeline {self.name} does not exist in {self.config.region}: "
                    f"deploy it with `make deploy ENV={self.config.environment}`"
                ) from None
            raise

    def latest_execution_arn(self) -> str:
        self.require_pipeline()
        summaries = self.client.list_pipeline_executions(
            PipelineName=self.name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
        )["PipelineExecutionSummaries"]
        if not summaries:
            raise PipelineError(f"{self.name} has no executions yet: start one with `make start`")
        return summaries[0]["PipelineExecutionArn"]


# Where SageMaker's jobs write their logs, by the key of the step's metadata that names the job.
JOB_LOG_GROUPS = {
    "ProcessingJob": "/aws/sagemaker/ProcessingJobs",
    "TrainingJob": "/aws/sagemaker/TrainingJobs",
    "TransformJob": "/aws/sagemaker/TransformJobs",
}


def chosen_step(steps: list[dict], name: str | None, arn: str) -> dict:
    """The step named, else the last failed one."""
    if name:
        for step in steps:
            if step["StepName"] == name:
                return step
        known = ", ".join(step["StepName"] for step in steps) or "none yet"
        raise PipelineError(f"execution {arn} has no step {name!r}: its steps are {known}")
    failed = [step for step in steps if step.get("StepStatus") == "Failed"]
    if not failed:
        raise PipelineError(f"no step of {arn} failed: name one with STEP=<name> (`make describe` lists them)")
    return max(failed, key=lambda step: step.get("StartTime") or datetime.datetime.min.replace(tzinfo=datetime.UTC))


def job_of(step: dict) -> tuple[str, str]:
    """(log group, job name) of a step that ran a job."""
    metadata = step.get("Metadata", {})
    for key, group in JOB_LOG_GROUPS.items():
        if "Arn" in metadata.get(key, {}):
            return group, metadata[key]["Arn"].rsplit("/", 1)[-1]
    raise PipelineError(f"step {step['StepName']} ran no job (a condition, fail or model step): it has no logs")


def execution_row(summary: dict) -> list[str]:
    return [
        timestamp(summary.get("StartTime")),
        summary.get("PipelineExecutionStatus", ""),
        summary["PipelineExecutionArn"],
    ]


def step_row(step: dict) -> list[str]:
    failure = one_line(step.get("FailureReason", ""))
    return [
        step["StepName"],
        step.get("StepStatus", ""),
        timestamp(step.get("StartTime")),
        timestamp(step.get("EndTime")),
        failure,
    ]


def timestamp(value: datetime.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="operations", description="Operate the SageMaker pipeline of an environment.")
    parser.add_argument("--environment", required=True, metavar="{" + ",".join(ENVIRONMENTS) + "}")
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="start an execution")
    start.add_argument("--use-type", help="UseType (default: the pipeline's default)")
    start.add_argument("--execution-date", help="default: the day the execution starts (UTC)")
    start.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="any other parameter")

    status = commands.add_parser("status", help="the last executions")
    status.add_argument("--limit", type=int, default=10)

    describe = commands.add_parser("describe", help="an execution and its steps (default: the latest)")
    describe.add_argument("--execution-arn")

    logs = commands.add_parser("logs", help="log lines of a step's job (default: the last failed step)")
    logs.add_argument("--execution-arn")
    logs.add_argument("--step", help="the step's name, e.g. Train")

    for command, help_text in (("stop", "stop an Executing execution"), ("retry", "retry a Failed execution")):
        commands.add_parser(command, help=help_text).add_argument("--execution-arn")

    commands.add_parser("schedules", help="the deployed schedules and their next run")

    diff = commands.add_parser("diff", help="deployed definition versus the local one")
    diff.add_argument("--exit-code", action="store_true", help="exit with 1 when they differ")

    delete = commands.add_parser("delete", help="delete the pipeline (asks first)")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace, operations: Operations) -> int:
    if arguments.command == "start":
        operations.start(arguments.use_type, arguments.execution_date, arguments.param)
    elif arguments.command == "status":
        operations.status(arguments.limit)
    elif arguments.command == "describe":
        operations.describe(arguments.execution_arn)
    elif arguments.command == "logs":
        operations.logs(arguments.execution_arn, arguments.step)
    elif arguments.command == "stop":
        operations.stop(arguments.execution_arn)
    elif arguments.command == "retry":
        operations.retry(arguments.execution_arn)
    elif arguments.command == "schedules":
        operations.schedules()
    elif arguments.command == "diff":
        return operations.diff(arguments.exit_code)
    elif arguments.command == "delete":
        operations.delete(arguments.yes)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment)
        session = boto_session(config)
        return run(arguments, Operations(config, session.client("sagemaker"), session=session))
    except (ConfigError, PipelineError) as error:
        return fail(str(error))
    except AWS_ERRORS as error:
        return fail(describe_aws_error(error))


def fail(message: str) -> int:
    print(f"operations: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
