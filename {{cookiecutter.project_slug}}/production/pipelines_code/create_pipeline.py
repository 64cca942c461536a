"""Build the SageMaker pipeline of one environment from ``pipeline_spec`` and create or update it.

    python production/pipelines_code/create_pipeline.py --environment develop
    python production/pipelines_code/create_pipeline.py --environment develop --dry-run
    python production/pipelines_code/create_pipeline.py --environment develop --start --use-type train --wait

Without ``--dry-run`` it checks the credentials, the bucket and the roles, creates the Model
Registry group if the registry is enabled, then creates or updates the pipeline and logs
which, with the pipeline's ARN; then it makes the pipeline's schedules equal the config's
(``schedules.py``) and puts the failed-execution alert in place (``alerts.py``).
``--dry-run`` needs no AWS account: the SDK's code uploads go to moto inside this process and
the normalised definition is written to
``build/pipeline-definition-<environment>.json``. Any problem the user can fix ends the run
with one ``create_pipeline: error: ...`` line and exit status 1.
"""
# ruff: noqa: E402 - run as a script, src/ must be on sys.path before the package is imported.

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

PROJECT_DIR = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # pytest's `pythonpath` setting does the same for the tests
    sys.path.insert(0, str(PROJECT_DIR / "src"))

from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config
from {{ cookiecutter.package_name }}.files import write_text_atomically
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

from definition_json import normalise
from pipeline_errors import AWS_ERRORS, PipelineError, describe_aws_error, one_line
from pipeline_parameters import execution_parameters, parse_assignments

if TYPE_CHECKING:
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline

log = logging.getLogger("create_pipeline")

DEFAULT_WAIT_MINUTES = 180


def get_pipeline(config: EnvironmentConfig, session: PipelineSession) -> Pipeline:
    """The pipeline of one environment, step for step what ``pipeline_spec.PIPELINE`` describes::

        ETL (Spark) ──► UseTypeIsTrain: UseType == "train" ?
                         ├─ yes ─► PreprocessTrain ─► Train ─► Evaluate ─► QualityGate: metrics.<metric> >= min_value ?
                         │                                                   ├─ yes ─► Publish [+ RegisterModel]
                         │                                                   └─ no ──► ModelBelowThreshold (FailStep)
                         └─ no ──► PreprocessPredict ─► Predict

    RegisterModel is there when ``registry.enabled``, and the predict steps then score with the
    newest Approved version of the model package group instead of models/latest. Building
    uploads the code of every step to the environment's bucket (content-addressed, see
    ``code_bundles``) through ``session``.
    """
    # The SDK is imported here rather than at the top: importing it needs an AWS region,
    # which prepare_sdk() takes from the configuration when the shell sets none.
    from sagemaker.mlops.workflow.pipeline import Pipeline

    import pipeline_steps as build
    from code_bundles import ship_step_code

    code = ship_step_code(session.boto_session.client("s3"), config)
    parameters = {spec.name: build.build_parameter(spec, config) for spec in PIPELINE.parameters}
    context = build.BuildContext(config=config, session=session, code=code, parameters=parameters)
    for spec in PIPELINE.steps:
        context.steps[spec.name] = build.build_step(spec, context)

    def steps_of(branch: str) -> list:
        return [context.steps[spec.name] for spec in PIPELINE.branch(branch)]

    promote = steps_of("promote")
    if config.registry.enabled:
        training = next(spec for spec in PIPELINE.steps if spec.kind == "training")
        promote.append(build.register_model_step(training, PIPELINE.quality_gate, context))
    gate = build.quality_gate_step(PIPELINE.quality_gate, context, promote)
    common = steps_of("common")
    branch = build.branch_on_use_type(PIPELINE, context, [*steps_of("train"), gate], steps_of("predict"), after=common)
    return Pipeline(
        name=config.pipeline_name,
        parameters=list(parameters.values()),
        steps=[*common, branch],
        sagemaker_session=session,
    )


def build_definition_offline(config: EnvironmentConfig) -> str:
    """The pipeline definition JSON, built with moto standing in for AWS."""
    from offline_aws import offline_pipeline_session

    with offline_pipeline_session(config) as session:
        return get_pipeline(config, session).definition()


def dry_run(config: EnvironmentConfig, output: Path | None) -> None:
    started = time.perf_counter()
    definition = normalise(build_definition_offline(config))
    path = write_text_atomically(definition, output or default_output(config))
    log.info("Built the %s definition offline in %.1f s: %s", config.environment, time.perf_counter() - started, path)


def default_output(config: EnvironmentConfig) -> Path:
    return PROJECT_DIR / "build" / f"pipeline-definition-{config.environment}.json"


def deploy(config: EnvironmentConfig, arguments: argparse.Namespace, start_values: dict | None) -> None:
    """Check the target, build, create or update; then optionally start an execution and wait for it."""
    from botocore.parsers import ResponseParserError
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError

    import alerts
    import aws_session
    import deployment
    import schedules

    session = aws_session.boto_session(config)
    account = aws_session.check_deploy_target(session, config)
    alerts.check(session.client("sns"), config, account)
    pipeline_session = aws_session.pipeline_session(session, config)
    try:
        pipeline = get_pipeline(config, pipeline_session)
        if config.registry.enabled and deployment.ensure_model_package_group(pipeline_session.sagemaker_client, config):
            log.info("Created model package group %s", config.registry.model_package_group)
        action, arn = deployment.upsert(pipeline, config)
    except RoleValidationError as error:  # the SDK's check of role_arn's permissions and trust
        raise PipelineError(f"role_arn {config.role_arn}: {one_line(str(error))}") from None
    except ResponseParserError:
        # Seen when the SDK simulates IAM policies against an emulator that cannot (moto).
        raise PipelineError(
            f"{describe_aws_error(ResponseParserError())}; against an emulator, set SAGEMAKER_VALIDATE_ROLE=false"
        ) from None
    log.info("%s pipeline %s in account %s: %s", action.capitalize(), config.pipeline_name, account, arn)
    for change, name in schedules.reconcile(session.client("scheduler"), config, arn):
        log.info("%s schedule %s", change.capitalize(), name)
    for change, what in alerts.reconcile(session.client("sns"), session.client("events"), config, arn, account):
        log.info("%s %s", change.capitalize(), what)
    if arguments.output:
        deployed = pipeline_session.sagemaker_client.describe_pipeline(PipelineName=config.pipeline_name)
        write_text_atomically(normalise(deployed["PipelineDefinition"]), arguments.output)
        log.info("Wrote the deployed definition to %s", arguments.output)
    if start_values is not None:
        execution = deployment.start(pipeline, start_values)
        log.info("Started execution %s with %s", execution.arn, start_values)
        if arguments.wait:
            log.info("Execution %s", deployment.wait(execution, arguments.wait_minutes))


def prepare_sdk(config: EnvironmentConfig, verbose: bool = False) -> None:
    """Call before anything loads the SDK: a region for its import, no telemetry, quiet logs."""
    # Importing the SDK creates boto3 clients, and each processing step makes a session of its
    # own: both take the shell's region and fail without one.
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = config.region
    import quiet_sdk

    quiet_sdk.disable_telemetry()
    quiet_sdk.configure_logging(verbose)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="create_pipeline", description="Create or update the SageMaker pipeline of an environment."
    )
    # Not `choices`: an unknown environment gets the same one-line error as a bad config.
    parser.add_argument("--environment", required=True, metavar="{" + ",".join(ENVIRONMENTS) + "}")
    parser.add_argument("--dry-run", action="store_true", help="build the definition offline (no AWS account)")
    parser.add_argument(
        "--output",
        type=Path,
        help="write the normalised definition here: the built one with --dry-run "
        "(default build/pipeline-definition-<environment>.json), else the deployed one",
    )
    parser.add_argument("--start", action="store_true", help="start an execution after deploying")
    parser.add_argument("--use-type", help="UseType of the execution (default: the pipeline's default)")
    parser.add_argument("--execution-date", help="ExecutionDate (default: the day the execution starts, UTC)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="any other parameter")
    parser.add_argument("--wait", action="store_true", help="wait for the started execution to end")
    parser.add_argument(
        "--wait-minutes",
        type=int,
        default=DEFAULT_WAIT_MINUTES,
        help=f"minutes to wait at most (default {DEFAULT_WAIT_MINUTES})",
    )
    parser.add_argument("--verbose", action="store_true", help="show the SDK's own log messages")
    arguments = parser.parse_args(argv)
    if arguments.dry_run and (arguments.start or arguments.wait):
        parser.error("--dry-run deploys nothing, so there is nothing to --start or --wait for")
    if arguments.wait and not arguments.start:
        parser.error("--wait needs --start")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment)
        start_values = None
        if arguments.start:
            overrides = parse_assignments(arguments.param)
            start_values = execution_parameters(arguments.use_type, arguments.execution_date, overrides)
        prepare_sdk(config, arguments.verbose)
        if arguments.dry_run:
            dry_run(config, arguments.output)
        else:
            deploy(config, arguments, start_values)
    except (ConfigError, PipelineError) as error:
        return fail(str(error))
    except AWS_ERRORS as error:
        return fail(describe_aws_error(error))
    return 0


def fail(message: str) -> int:
    print(f"create_pipeline: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
