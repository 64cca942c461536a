"""Deploy a registered model to a real-time SageMaker endpoint (optional: an endpoint is billed while it runs).

    deploy_endpoint.py --environment ENV [--model-package-arn ARN] [--endpoint-name NAME]
        [--instance-type ml.m5.large] [--instance-count 1] [--wait] [--wait-minutes 30]

(``make endpoint ENV=... [MODEL_PACKAGE_ARN=arn] [INSTANCE_TYPE=ml.m5.large]`` runs it with ``--wait``.)

Without ``--model-package-arn`` it deploys the newest Approved version of the environment's
model package group (``registry.model_package_group``); a version that is not Approved is
refused. Through the SageMaker SDK's resources it creates

1. a model from the model package: the scikit-learn serving image, ``model.tar.gz`` and
   ``inference.py`` as the pipeline registered them, run with the environment's ``role_arn``;
2. an endpoint configuration with one variant of ``--instance-count`` x ``--instance-type``;
3. the endpoint, named after the model package group unless ``--endpoint-name`` is given.
   An existing endpoint is moved to the new configuration instead: SageMaker starts the new
   instances before it stops the old ones, so the endpoint keeps answering.

The model and the configuration are named ``<endpoint>-v<version>-<UTC time>``: every
deployment has its own, and an earlier one can be restored. A problem the user can fix
prints one ``deploy_endpoint: error: ...`` line and exits with status 1.

Call the endpoint, then delete it when it is no longer needed::

    aws sagemaker-runtime invoke-endpoint --endpoint-name NAME --content-type text/csv \\
        --body fileb://rows.csv answer.json
    aws sagemaker delete-endpoint --endpoint-name NAME
"""
# ruff: noqa: E402 - run as a script, src/ must be on sys.path before the package is imported.

from __future__ import annotations

import argparse
import datetime
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

PROJECT_DIR = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # pytest's `pythonpath` setting does the same for the tests
    sys.path.insert(0, str(PROJECT_DIR / "src"))

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config

from aws_session import boto_session, caller_account
from create_pipeline import prepare_sdk
from model_registry import APPROVED, ModelRegistry, registry_of
from pipeline_errors import PipelineError, describe_aws_error, is_not_found, one_line

if TYPE_CHECKING:
    from sagemaker.core.resources import Endpoint
    from sagemaker.core.shapes import Tag

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_WAIT_MINUTES = 30
WAIT_POLL_SECONDS = 30
VARIANT_NAME = "AllTraffic"
# SageMaker's rule for model, endpoint configuration and endpoint names.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NAME_LIMIT = 63
INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str
    instance_type: str
    instance_count: int


def chosen_package(registry: ModelRegistry, model_package_arn: str | None) -> dict:
    """The model package to deploy: the one given, else the group's newest Approved version."""
    arn = model_package_arn or registry.latest_approved()["ModelPackageArn"]
    package = registry.describe(arn)
    status = package.get("ModelApprovalStatus")
    if status != APPROVED:
        environment = registry.config.environment
        raise PipelineError(
            f"{arn} is {status}: only {APPROVED} models are deployed; approve it first "
            f"(`make approve ENV={environment} VERSION={package.get('ModelPackageVersion', 'n')}`)"
        )
    return package


def resource_name(endpoint_name: str, version: int | None, now: datetime.datetime) -> str:
    """``<endpoint>-v<version>-<UTC time>``, the endpoint part shortened to fit SageMaker's 63 characters."""
    suffix = f"{f'-v{version}' if version else ''}-{now:%Y%m%d%H%M%S}"
    return endpoint_name[: NAME_LIMIT - len(suffix)].rstrip("-") + suffix


def deploy(config: EnvironmentConfig, session: boto3.Session, package: dict, deployment: Deployment) -> Endpoint:
    """Create the model and the endpoint configuration, then create the endpoint or move it to them."""
    # Imported here: importing the SDK takes seconds, which --help and argument errors should not wait for.
    from sagemaker.core.resources import EndpointConfig, Model
    from sagemaker.core.shapes import ContainerDefinition, ProductionVariant, Tag

    where = {"session": session, "region": config.region}
    tags = [Tag(key=key, value=value) for key, value in config.tags.items()]
    version = package.get("ModelPackageVersion")
    name = resource_name(deployment.endpoint_name, version, datetime.datetime.now(datetime.UTC))
    print(
        f"Deploying {package['ModelPackageArn']} to endpoint {deployment.endpoint_name} "
        f"on {deployment.instance_count} x {deployment.instance_type}"
    )
    Model.create(
        model_name=name,
        primary_container=ContainerDefinition(model_package_name=package["ModelPackageArn"]),
        execution_role_arn=config.role_arn,
        tags=tags,
        **where,
    )
    print(f"  created model {name}")
    variant = ProductionVariant(
        variant_name=VARIANT_NAME,
        model_name=name,
        initial_instance_count=deployment.instance_count,
        instance_type=deployment.instance_type,
    )
    EndpointConfig.create(endpoint_config_name=name, production_variants=[variant], tags=tags, **where)
    print(f"  created endpoint configuration {name}")
    return create_or_update_endpoint(deployment.endpoint_name, name, tags, where)


def create_or_update_endpoint(endpoint_name: str, config_name: str, tags: list[Tag], where: dict) -> Endpoint:
    from sagemaker.core.resources import Endpoint

    try:
        endpoint = Endpoint.get(endpoint_name=endpoint_name, **where)
    except ClientError as error:
        if not is_not_found(error):
            raise
        endpoint = Endpoint.create(endpoint_name=endpoint_name, endpoint_config_name=config_name, tags=tags, **where)
        print(f"  creating endpoint {endpoint_name} ({endpoint.endpoint_status})")
        return endpoint
    endpoint.endpoint_config_name = config_name
    endpoint.update()
    print(f"  updating endpoint {endpoint_name} to the new configuration ({endpoint.endpoint_status})")
    return endpoint


def wait_until_in_service(endpoint: Endpoint, minutes: int) -> None:
    from sagemaker.core.utils.exceptions import WaiterError

    try:
        endpoint.wait_for_status("InService", poll=WAIT_POLL_SECONDS, timeout=minutes * 60)
    except WaiterError as error:
        raise PipelineError(f"endpoint {endpoint.endpoint_name}: {one_line(str(error))}") from None
    print(f"Endpoint {endpoint.endpoint_name} is InService.")


def print_next_steps(name: str) -> None:
    print(
        "Call it (once InService):",
        f"  aws sagemaker-runtime invoke-endpoint --endpoint-name {name} --content-type text/csv "
        "--body fileb://rows.csv answer.json",
        "Delete it when it is no longer needed (it is billed while it runs):",
        f"  aws sagemaker delete-endpoint --endpoint-name {name}",
        sep="\n",
    )


# --------------------------------------------------------------------------- command line


def endpoint_name(text: str) -> str:
    if not NAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an endpoint name: up to 63 letters, digits and hyphens, not starting or ending with one"
        )
    return text


def instance_type(text: str) -> str:
    if not INSTANCE_TYPE_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SageMaker instance type such as {DEFAULT_INSTANCE_TYPE}")
    return text


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy_endpoint", description="Deploy a registered model to a real-time SageMaker endpoint."
    )
    parser.add_argument("--environment", required=True, metavar="{" + ",".join(ENVIRONMENTS) + "}")
    parser.add_argument("--model-package-arn", help="the model version to deploy (default: the newest Approved one)")
    parser.add_argument("--endpoint-name", type=endpoint_name, help="default: the model package group's name")
    parser.add_argument("--instance-type", type=instance_type, default=DEFAULT_INSTANCE_TYPE)
    parser.add_argument("--instance-count", type=positive_int, default=1)
    parser.add_argument("--wait", action="store_true", help="wait until the endpoint is InService")
    parser.add_argument("--wait-minutes", type=positive_int, default=DEFAULT_WAIT_MINUTES, help="stop waiting after")
    parser.add_argument("--verbose", action="store_true", help="show the SDK's own log messages")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment)
        prepare_sdk(config, arguments.verbose)
        session = boto_session(config)
        caller_account(session)  # missing or refused credentials: one line before anything happens
        package = chosen_package(registry_of(config, session), arguments.model_package_arn)
        deployment = Deployment(
            endpoint_name=arguments.endpoint_name or config.registry.model_package_group,
            instance_type=arguments.instance_type,
            instance_count=arguments.instance_count,
        )
        endpoint = deploy(config, session, package, deployment)
        if arguments.wait:
            wait_until_in_service(endpoint, arguments.wait_minutes)
        print_next_steps(deployment.endpoint_name)
    except (ConfigError, PipelineError) as error:
        return fail(str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(describe_aws_error(error))
    return 0


def fail(message: str) -> int:
    print(f"deploy_endpoint: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
