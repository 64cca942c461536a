"""Day-to-day commands for an environment's deployed pipeline, over boto3.

    operations.py --environment ENV start [--use-type train|predict] [--execution-date YYYY-MM-DD] [--param K=V]
    operations.py --environment ENV status [--limit N]
    operations.py --environment ENV describe [--execution-arn ARN]
    operations.py --environment ENV diff [--exit-code]
    operations.py --environment ENV delete [--yes]

(``make start|status|describe|diff|delete ENV=...`` run these.)

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

from aws_session import boto_session
from definition_json import unified_diff
from pipeline_errors import AWS_ERRORS, PipelineError, describe_aws_error, http_status, is_not_found, one_line
from pipeline_parameters import execution_parameters, parse_assignments


class Operations:
    """The commands, each a method printing to ``out``; AWS errors are left to the caller."""

    def __init__(self, config: EnvironmentConfig, sagemaker_client, out: TextIO | None = None):
        self.config = config
        self.client = sagemaker_client
        self.name = config.pipeline_name
        self.out = out if out is not None else sys.stdout

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)

    def start(self, use_type: str | None, execution_date: str, assignments: list[str]) -> str:
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
    start.add_argument("--execution-date", default=datetime.date.today().isoformat(), help="default: today")
    start.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="any other parameter")

    status = commands.add_parser("status", help="the last executions")
    status.add_argument("--limit", type=int, default=10)

    describe = commands.add_parser("describe", help="an execution and its steps (default: the latest)")
    describe.add_argument("--execution-arn")

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
    elif arguments.command == "diff":
        return operations.diff(arguments.exit_code)
    elif arguments.command == "delete":
        operations.delete(arguments.yes)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment)
        client = boto_session(config).client("sagemaker")
        return run(arguments, Operations(config, client))
    except (ConfigError, PipelineError) as error:
        return fail(str(error))
    except AWS_ERRORS as error:
        return fail(describe_aws_error(error))


def fail(message: str) -> int:
    print(f"operations: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
