"""The Model Registry of an environment, from the terminal: list the model versions, approve or reject one.

    model_registry.py --environment ENV list [--limit N]
    model_registry.py --environment ENV approve --version N [--description TEXT]
    model_registry.py --environment ENV reject --version N [--description TEXT]

(``make models|approve|reject ENV=... [VERSION=n]`` run these.)

Each train execution whose model passes the quality gate adds a version to the model package
group ``registry.model_package_group``, with its ``evaluation.json`` as the model-quality
statistics; ``list`` shows each version's approval status beside the metrics of that file.
Approving a version makes it the one ``deploy_endpoint.py`` deploys by default. A problem
the user can fix prints one ``model_registry: error: ...`` line and exits with status 1.
"""
# ruff: noqa: E402 - run as a script, src/ must be on sys.path before the package is imported.

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # pytest's `pythonpath` setting does the same for the tests
    sys.path.insert(0, str(PROJECT_DIR / "src"))

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config
from {{ cookiecutter.package_name }}.quality_gate import GATE_METRICS

from aws_session import boto_session
from operations import table, timestamp
from pipeline_errors import PipelineError, describe_aws_error, is_not_found

APPROVED = "Approved"
NEW_STATUS = {"approve": APPROVED, "reject": "Rejected"}


def shown_metrics() -> tuple[str, ...]:
    """Flat metrics of evaluation.json (evaluate.py) shown per version: the task's gate metrics."""
    return tuple(GATE_METRICS[schema.contract().task])


@dataclass(frozen=True)
class Metrics:
    """The flat metrics of a version's evaluation.json, or why they could not be read."""

    values: dict[str, float]
    problem: str = ""

    def cell(self, name: str) -> str:
        value = self.values.get(name)
        return f"{value:.4f}" if isinstance(value, int | float) else "-"


class ModelRegistry:
    """The environment's model package group; AWS errors are left to the caller."""

    def __init__(self, config: EnvironmentConfig, session: boto3.Session):
        self.config = config
        self.group = config.registry.model_package_group
        self.sagemaker = session.client("sagemaker")
        self.s3 = session.client("s3")

    # ----------------------------------------------------------------------- commands

    def list_versions(self, limit: int) -> None:
        versions = self.versions()[:limit]
        if not versions:
            print(f"{self.group} has no model versions yet: a train execution adds one when its model passes.")
            return
        metrics = {summary["ModelPackageVersion"]: self.metrics(summary["ModelPackageArn"]) for summary in versions}
        headers = ["version", "status", "registered", *shown_metrics()]
        rows = [version_row(summary, metrics[summary["ModelPackageVersion"]]) for summary in versions]
        print(f"Model package group {self.group} ({self.config.region}), newest first:")
        print(*table(headers, rows), sep="\n")
        for version, found in metrics.items():
            if found.problem:
                print(f"  version {version}: no metrics ({found.problem})")

    def set_status(self, version: int, command: str, description: str | None) -> None:
        """Approve or reject one version (``command`` is a key of NEW_STATUS)."""
        status = NEW_STATUS[command]
        summary = self.find(version)
        old = summary["ModelApprovalStatus"]
        if old == status:
            print(f"Version {version} of {self.group} is already {status}.")
            return
        details = {"ApprovalDescription": description} if description else {}
        self.sagemaker.update_model_package(
            ModelPackageArn=summary["ModelPackageArn"], ModelApprovalStatus=status, **details
        )
        print(f"Version {version} of {self.group}: {old} -> {status}")

    # ----------------------------------------------------------------------- queries

    def versions(self, status: str | None = None) -> list[dict]:
        """Summaries of the group's versions (with ``status`` only, if given), newest first."""
        self.require_group()
        filters = {"ModelApprovalStatus": status} if status else {}
        paginator = self.sagemaker.get_paginator("list_model_packages")
        pages = paginator.paginate(ModelPackageGroupName=self.group, **filters)
        summaries = [summary for page in pages for summary in page["ModelPackageSummaryList"]]
        return sorted(summaries, key=lambda summary: summary["ModelPackageVersion"], reverse=True)

    def find(self, version: int) -> dict:
        summaries = self.versions()
        for summary in summaries:
            if summary["ModelPackageVersion"] == version:
                return summary
        known = ", ".join(str(summary["ModelPackageVersion"]) for summary in reversed(summaries)) or "none yet"
        raise PipelineError(f"{self.group} has no version {version} (its versions: {known})")

    def latest_approved(self) -> dict:
        approved = self.versions(APPROVED)
        if not approved:
            environment = self.config.environment
            raise PipelineError(
                f"{self.group} has no {APPROVED} model version: approve one with "
                f"`make approve ENV={environment} VERSION=n` (list them with `make models ENV={environment}`)"
            )
        return approved[0]

    def describe(self, model_package_arn: str) -> dict:
        return self.sagemaker.describe_model_package(ModelPackageName=model_package_arn)

    def metrics(self, model_package_arn: str) -> Metrics:
        """The metrics of the evaluation.json registered as the version's model-quality statistics."""
        statistics = self.describe(model_package_arn).get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics")
        if not statistics:
            return Metrics({}, "no model-quality statistics registered")
        uri = statistics["S3Uri"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            report = json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as error:
            return Metrics({}, f"{uri}: {describe_aws_error(error)}")
        except ValueError:
            return Metrics({}, f"{uri} is not JSON")
        values = report.get("metrics") if isinstance(report, dict) else None
        if not isinstance(values, dict):
            return Metrics({}, f"{uri} has no metrics object")
        return Metrics(values)

    def require_group(self) -> None:
        try:
            self.sagemaker.describe_model_package_group(ModelPackageGroupName=self.group)
        except ClientError as error:
            if is_not_found(error):
                raise PipelineError(
                    f"model package group {self.group} (registry.model_package_group, {self.config.environment}) "
                    f"does not exist in {self.config.region}: `make deploy ENV={self.config.environment}` creates it"
                ) from None
            raise


def version_row(summary: dict, metrics: Metrics) -> list[str]:
    return [
        str(summary["ModelPackageVersion"]),
        summary.get("ModelApprovalStatus", "-"),
        timestamp(summary.get("CreationTime")),
        *(metrics.cell(name) for name in shown_metrics()),
    ]


def registry_of(config: EnvironmentConfig, session: boto3.Session) -> ModelRegistry:
    if not config.registry.enabled:
        raise PipelineError(f"the Model Registry is off for {config.environment} (its registry.enabled setting)")
    return ModelRegistry(config, session)


# --------------------------------------------------------------------------- command line


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (1, 2, ...)")
    return int(text)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="model_registry", description="List, approve or reject registered models.")
    parser.add_argument("--environment", required=True, metavar="{" + ",".join(ENVIRONMENTS) + "}")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the model versions, newest first, with status and metrics")
    listing.add_argument("--limit", type=positive_int, default=20)
    for command, status in NEW_STATUS.items():
        change = commands.add_parser(command, help=f"set a version's approval status to {status}")
        change.add_argument("--version", type=positive_int, required=True, help="the version number (see list)")
        change.add_argument("--description", help="why (kept with the version as its approval description)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment)
        registry = registry_of(config, boto_session(config))
        if arguments.command == "list":
            registry.list_versions(arguments.limit)
        else:
            registry.set_status(arguments.version, arguments.command, arguments.description)
    except (ConfigError, PipelineError) as error:
        return fail(str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(describe_aws_error(error))
    return 0


def fail(message: str) -> int:
    print(f"model_registry: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
