"""Run the pipeline on this machine: no AWS account, no Docker, no SageMaker SDK.

The command line and the run from start to end; each part has a module of its own:

* ``local_plan``: parameters, locations and each step's arguments, from ``pipeline_spec``
  and the environment's configuration (what ``create_pipeline.py`` builds from too);
* ``local_data``: the raw data, your own (``--raw``) or sample data;
* ``local_steps``: each step as its own process, the way its SageMaker job runs it
  (``local_spark`` for the ETL's ``spark-submit``);
* ``local_gate``: the quality gate between Evaluate and Publish.

Raw data: ``--raw PATH`` copies your own data (a CSV or Parquet file for a one-source data
contract, or a directory with one folder per source) into the run's raw location; without
it, sample data of ``--rows`` rows is generated unless the location holds data already.

Example::

    python -m {{ cookiecutter.package_name }}.local_runner --use-type train --environment develop \\
        --execution-date 2024-06-01 --rows 2000 --work-dir build/local
"""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import sys
import time
from pathlib import Path

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import pipeline_spec
from {{ cookiecutter.package_name }}.config import (
    DEFAULT_CONFIG_DIR,
    ENVIRONMENTS,
    ConfigError,
    load_config,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.local_data import (
    ensure_raw_data,
)
from {{ cookiecutter.package_name }}.local_gate import check_quality_gate
from {{ cookiecutter.package_name }}.local_plan import (
    PACKAGE_NAME,
    LocalRun,
    LocalRunError,
    check_earlier_outputs,
    earlier_inputs,
    input_location,
    option_name,
    plan_run,
    render_arguments,
    render_hyperparameters,
    resolve,
    resolve_parameters,
    result_location,
    shown,
)
from {{ cookiecutter.package_name }}.local_steps import (
    run_step,
)
from {{ cookiecutter.package_name }}.packaging import build_package
from {{ cookiecutter.package_name }}.pipeline_spec import (
    PIPELINE,
    Param,
    ParameterSpec,
    PipelineSpec,
    StepSpec,
    Uri,
)


def run_timed(run: LocalRun, step: StepSpec, package_zip: Path, number: str) -> float:
    print(f"\n[{number}] {step.name} ({step.kind}, {step.script}): {step.description}")
    if step.kind == "training":
        channels = (f"{channel}={shown(input_location(run, step, channel))}" for channel in step.inputs)
        print(f"    channels: {' '.join(channels)}")
        print(f"    hyperparameters: {shlex.join(render_hyperparameters(run, step))}")
    else:
        print(f"    arguments: {shlex.join(shown(argument) for argument in render_arguments(run, step))}")
    started = time.perf_counter()
    run_step(run, step, package_zip)
    seconds = time.perf_counter() - started
    print(f"[{number}] {step.name} done in {seconds:.1f} s")
    return seconds


def run_pipeline(run: LocalRun, rows: int, raw: Path | None = None) -> dict[str, float]:
    """Run the steps of the run's use type; return the seconds each step took."""
    plan = plan_run(run)
    check_earlier_outputs(run, plan.steps)
    ensure_raw_data(run, rows, raw)
    package_zip = build_package()
    print(f"Package: {shown(package_zip)}")
    timings: dict[str, float] = {}
    for step in plan.before_gate:
        timings[step.name] = run_timed(run, step, package_zip, f"{len(timings) + 1}/{len(plan.steps)}")
    if plan.after_gate:
        check_quality_gate(run)
    for step in plan.after_gate:
        timings[step.name] = run_timed(run, step, package_zip, f"{len(timings) + 1}/{len(plan.steps)}")
    return timings


def print_summary(run: LocalRun, timings: dict[str, float]) -> None:
    print(f"\nLocal {run.use_type} run finished: {len(timings)} steps in {sum(timings.values()):.1f} s")
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds:7.1f} s")
    steps = tuple(run.spec.step(name) for name in timings)
    print("Results:")
    for step in steps:
        for channel in step.outputs:
            print(f"  {step.name + '.' + channel:<28} {shown(result_location(run, step, channel))}")
    earlier = sorted({shown(input_location(run, step, channel)) for step, channel in earlier_inputs(run, steps)})
    if earlier:
        print(f"Read from earlier runs: {', '.join(earlier)}")


def execution_date(value: str) -> str:
    if value == "":
        return value  # the day the run starts (UTC), as on SageMaker
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        datetime.date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r}: {error}") from None
    return value


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def parameters_in(token: object) -> set[str]:
    """Names of the parameters a token, location or input refers to."""
    if isinstance(token, Param):
        return {token.name}
    if isinstance(token, Uri):
        return set().union(*(parameters_in(part) for part in token.parts))
    return set()


def parameters_used_by_steps(spec: PipelineSpec) -> set[str]:
    used: set[str] = set()
    for step in spec.steps:
        tokens = [
            *step.arguments.values(),
            *step.hyperparameters.values(),
            *step.inputs.values(),
            *step.outputs.values(),
        ]
        used |= set().union(*(parameters_in(token) for token in tokens))
    return used


def parameter_help(parameter: ParameterSpec, used: set[str]) -> str:
    where = "" if parameter.name in used else "; only SageMaker uses it"
    return f"{parameter.description} (pipeline parameter {parameter.name}{where})"


def parse_arguments(argv: list[str] | None, spec: PipelineSpec = PIPELINE) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE_NAME}.local_runner",
        description="Run the SageMaker pipeline's steps on this machine, on a local mirror of its S3 layout.",
        epilog="An s3://<bucket>/<key> URI given to an option means <work-dir>/s3/<bucket>/<key>.",
    )
    parser.add_argument(
        "--environment",
        choices=ENVIRONMENTS,
        default="develop",
        help="configuration (default: develop)",
    )
    parser.add_argument(
        "--rows",
        type=positive_int,
        default=2000,
        metavar="N",
        help="sample rows to make if raw data is missing",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        metavar="PATH",
        help="your own data instead of sample data: a CSV or Parquet file (one-source data contracts) or a "
        "directory with one folder per source, copied into the run's raw location; a train run needs at least "
        f"{data_contract.MIN_ROWS} rows, and {data_contract.MIN_ROWS_PER_CLASS} of each class when classifying "
        "(so that the stratified 80/20 split leaves some in both parts)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("build/local"),
        metavar="DIR",
        help="holds the S3 mirror, s3/<bucket>",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        metavar="DIR",
        help="holds base.yaml and <environment>.yaml",
    )
    # Every pipeline parameter is an option, so a local run takes what a SageMaker execution takes.
    used = parameters_used_by_steps(spec)
    for parameter in spec.parameters:
        kwargs: dict[str, object] = {
            "dest": parameter.name,
            "help": parameter_help(parameter, used),
            "metavar": "URI",
        }
        if parameter.allowed:
            kwargs.update(choices=parameter.allowed, metavar=None)
        if parameter.name == pipeline_spec.DATE.name:
            kwargs.update(type=execution_date, metavar="YYYY-MM-DD")
        elif parameter.type == "integer":
            kwargs.update(type=positive_int, metavar="N")
        elif parameter.type == "float":
            kwargs.update(type=float, metavar="X")
        parser.add_argument(f"--{option_name(parameter.name)}", **kwargs)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        config = load_config(arguments.environment, arguments.config_dir)
        work_dir = arguments.work_dir.resolve()
        given = {parameter.name: getattr(arguments, parameter.name) for parameter in PIPELINE.parameters}
        run = LocalRun(config, work_dir, resolve_parameters(config, work_dir, given))
        print(
            f"Local {run.use_type} run {run.execution_id} of {config.environment} "
            f"for {resolve(run, pipeline_spec.RUN_DATE)}, storage mirrored under {shown(work_dir / 's3')}"
        )
        timings = run_pipeline(run, arguments.rows, arguments.raw)
    except (ConfigError, LocalRunError, StepError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print_summary(run, timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
