"""Run the pipeline on this machine: no AWS account, no Docker, no SageMaker SDK.

Everything comes from ``pipeline_spec.PIPELINE`` and the environment configuration, the
same two sources ``create_pipeline.py`` builds the SageMaker pipeline from:

* parameters: the spec's defaults (settings resolved from the config), overridden by the
  command line; every pipeline parameter is an option (``NEstimators`` -> ``--n-estimators``);
* storage: each ``s3://<bucket>/<key>`` becomes ``<work-dir>/s3/<bucket>/<key>``, a local
  mirror of the bucket with the same layout;
* steps: the common branch, then either train -> quality gate -> promote, or predict;
* arguments: each step script gets the option list its SageMaker job gets, with local paths
  where SageMaker has ``/opt/ml/processing/...`` paths;
* how a step runs: the Spark ETL through ``spark-submit --master local[*]`` with the package
  zip as ``--py-files``; processing scripts as ``python production/code/<script>`` with
  ``PYTHONPATH=src``; the training script under the SageMaker training-toolkit contract
  (``SM_CHANNEL_*``, ``SM_MODEL_DIR``, hyperparameters as ``--name value``), after which
  ``SM_MODEL_DIR`` is tarred into ``model.tar.gz`` as SageMaker does.

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
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from {{ cookiecutter.package_name }} import cli, pipeline_spec, quality_gate
from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }}.config import (
    DEFAULT_CONFIG_DIR,
    ENVIRONMENTS,
    ConfigError,
    EnvironmentConfig,
    load_config,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs
from {{ cookiecutter.package_name }}.packaging import build_package
from {{ cookiecutter.package_name }}.pipeline_spec import (
    PIPELINE,
    ExecutionId,
    ExecutionStart,
    InputPath,
    OutputPath,
    Param,
    ParameterSpec,
    PipelineSpec,
    RunDate,
    Setting,
    StepOutput,
    StepSpec,
    Token,
    Uri,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]
SRC_DIR = PROJECT_DIR / "src"
CODE_DIR = PROJECT_DIR / "production" / "code"
PACKAGE_NAME = Path(__file__).resolve().parent.name

# Spark logs INFO lines by the hundred; warnings and errors are what a local run needs to show.
SPARK_LOG_CONFIG = """\
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""

# Local Spark is tuned by the size of the raw data (the template's bench/ measured both cases):
# * up to SMALL_INPUT_BYTES (about 600,000 rows of the sample data) the jobs are too short for the JVM's
#   optimising compiler (C2) to earn back its compile time: the quick compiler alone (C1)
#   runs the ETL on about a third less CPU;
# * above it C2's faster code wins (C1 alone costs ~20% more at a million rows), and
#   Spark's default 1 GB heap spills to disk: a larger one is a quarter quicker at ten million.
SMALL_INPUT_BYTES = 64 * 1024 * 1024
QUICK_JIT = "-XX:TieredStopAtLevel=1"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
DRIVER_MEMORY = "spark.driver.memory"
LARGE_INPUT_MAX_HEAP_MB = 4096

# Which kind of run writes what a branch produces: used to explain a missing input.
BRANCH_PRODUCERS = {
    "common": "every run",
    "train": "a train run",
    "promote": "a train run whose model passes the quality gate",
    "predict": "a predict run",
}


# The tokens that have a value of their own (InputPath and OutputPath depend on the step).
Value = str | Param | Setting | ExecutionId | ExecutionStart | RunDate | Uri


class LocalRunError(Exception):
    """The run cannot go on; the message says why and what to do."""


# --------------------------------------------------------------------------- values


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def new_execution_id(now: datetime.datetime | None = None) -> str:
    """A new run's id: sorts by start time, and two runs started in the same second still differ."""
    now = now or now_utc()
    return f"local-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LocalRun:
    """What one local run needs to turn the spec's tokens into local values."""

    config: EnvironmentConfig
    work_dir: Path
    parameters: dict[str, str | int | float]
    spec: PipelineSpec = PIPELINE
    # Plays the part of SageMaker's START_DATETIME: an empty ExecutionDate means its day.
    started_at: datetime.datetime = field(default_factory=now_utc)
    # Plays the part of SageMaker's PIPELINE_EXECUTION_ID: every run has its own.
    execution_id: str = ""

    def __post_init__(self) -> None:
        if not self.execution_id:
            object.__setattr__(self, "execution_id", new_execution_id(self.started_at))

    @property
    def use_type(self) -> str:
        return str(self.parameters[self.spec.branch_parameter])

    @property
    def is_train(self) -> bool:
        return self.use_type == self.spec.train_value


def local_location(work_dir: Path, value: str) -> str:
    """``s3://bucket/key`` -> ``<work-dir>/s3/bucket/key``; anything else is already local."""
    if value.startswith("s3://"):
        return str(work_dir / "s3" / value.removeprefix("s3://"))
    return value


def setting_value(run: LocalRun, setting: Setting) -> str | int | float:
    value = run.config.setting(setting.path)
    return local_location(run.work_dir, value) if isinstance(value, str) else value


def resolve(run: LocalRun, token: Value) -> str | int | float:
    """The local value of a parameter, setting, execution id or start, run date, location or literal."""
    if isinstance(token, Param):
        return run.parameters[token.name]
    if isinstance(token, Setting):
        return setting_value(run, token)
    if isinstance(token, ExecutionId):
        return run.execution_id
    if isinstance(token, ExecutionStart):
        return run.started_at.isoformat()
    if isinstance(token, RunDate):
        # What the ETL writes to its RunDate property file, computed from the same two values.
        return cli.run_date(str(run.parameters[pipeline_spec.DATE.name]), run.started_at.isoformat())
    if isinstance(token, Uri):
        return "".join(str(resolve(run, part)) for part in token.parts)
    return token


def resolve_parameters(
    config: EnvironmentConfig, work_dir: Path, given: dict[str, object], spec: PipelineSpec = PIPELINE
) -> dict[str, str | int | float]:
    """Each parameter: the value given on the command line, else the spec's default."""
    resolved: dict[str, str | int | float] = {}
    for parameter in spec.parameters:
        value = given.get(parameter.name)
        if value is None:
            value = resolve(LocalRun(config, work_dir, resolved, spec), parameter.default)
        elif isinstance(value, str):
            value = local_location(work_dir, value)
        if parameter.type == "integer":
            value = int(value)
        elif parameter.type == "float":
            value = float(value)
        if parameter.allowed and value not in parameter.allowed:
            raise LocalRunError(f"parameter {parameter.name}: {value!r} is not one of {', '.join(parameter.allowed)}")
        # Empty only where the spec's default is empty (ExecutionDate: the day the run starts).
        if value == "" and parameter.default != "":
            raise LocalRunError(f"parameter {parameter.name} has no value: give --{option_name(parameter.name)}")
        resolved[parameter.name] = value
    return resolved


# --------------------------------------------------------------------------- locations and arguments


def output_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    """Where a step's output lands; a training job's model goes to ``<output>/<job name>/output``."""
    location = Path(str(resolve(run, step.outputs[channel])))
    if step.kind == "training":
        return location / step.name / "output"
    return location


def input_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    source = step.inputs[channel]
    if isinstance(source, StepOutput):
        return output_location(run, run.spec.step(source.step), source.channel)
    return Path(str(resolve(run, source)))


def render_token(run: LocalRun, step: StepSpec, token: Token) -> str:
    if isinstance(token, InputPath):
        return str(input_location(run, step, token.channel))
    if isinstance(token, OutputPath):
        return str(output_location(run, step, token.channel))
    return str(resolve(run, token))


def render_arguments(run: LocalRun, step: StepSpec) -> list[str]:
    """The step script's options, in the spec's order: the list its SageMaker job receives."""
    arguments = []
    for option, token in step.arguments.items():
        arguments += [option, render_token(run, step, token)]
    return arguments


def render_hyperparameters(run: LocalRun, step: StepSpec) -> list[str]:
    """Hyperparameters as the SageMaker training toolkit passes them: ``--name value``."""
    arguments = []
    for name, token in step.hyperparameters.items():
        arguments += [f"--{name}", str(resolve(run, token))]
    return arguments


def training_environment(run: LocalRun, step: StepSpec, model_dir: Path, output_data_dir: Path) -> dict[str, str]:
    """The environment variables of the SageMaker training-toolkit contract."""
    environment = {f"SM_CHANNEL_{channel.upper()}": str(input_location(run, step, channel)) for channel in step.inputs}
    environment["SM_CHANNELS"] = json.dumps(sorted(step.inputs))
    environment["SM_HPS"] = json.dumps({name: resolve(run, token) for name, token in step.hyperparameters.items()})
    environment["SM_MODEL_DIR"] = str(model_dir)
    environment["SM_OUTPUT_DATA_DIR"] = str(output_data_dir)
    return environment


# --------------------------------------------------------------------------- commands


def spark_submit() -> Path:
    """The ``spark-submit`` of the running interpreter's environment (or of its pyspark)."""
    beside_python = Path(sys.executable).parent / "spark-submit"
    if beside_python.is_file():
        return beside_python
    pyspark = importlib.util.find_spec("pyspark")
    if pyspark is not None and pyspark.submodule_search_locations:
        in_pyspark = Path(pyspark.submodule_search_locations[0]) / "bin" / "spark-submit"
        if in_pyspark.is_file():
            return in_pyspark
    raise LocalRunError(
        f"spark-submit not found beside {sys.executable}: install the local dependencies (make install)"
    )


def spark_options(run: LocalRun, package_zip: Path) -> list[str]:
    options = ["--master", "local[*]", "--py-files", str(package_zip), "--conf", "spark.ui.enabled=false"]
    # Only spark-defaults applies to a single local process; other classifications configure a cluster.
    settings = dict(run.config.etl.spark_configuration.get("spark-defaults", {}))
    if directory_bytes(Path(str(resolve(run, pipeline_spec.RAW_DATA)))) <= SMALL_INPUT_BYTES:
        settings[DRIVER_JAVA_OPTIONS] = " ".join(filter(None, [settings.get(DRIVER_JAVA_OPTIONS), QUICK_JIT]))
    else:
        settings.setdefault(DRIVER_MEMORY, large_input_heap())
    for key, value in settings.items():
        options += ["--conf", f"{key}={value}"]
    return options


def directory_bytes(directory: Path) -> int:
    """The size of the files under ``directory`` (0 if it does not exist)."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def large_input_heap() -> str:
    """A quarter of this machine's memory, at most LARGE_INPUT_MAX_HEAP_MB, and no less than Spark's default."""
    quarter_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4 // (1024 * 1024)
    return f"{max(1024, min(LARGE_INPUT_MAX_HEAP_MB, quarter_mb))}m"


def prepare_spark_environment(run: LocalRun) -> dict[str, str]:
    conf_dir = run.work_dir / "spark-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "log4j2.properties").write_text(SPARK_LOG_CONFIG, encoding="utf-8")
    return {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_CONF_DIR": str(conf_dir),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        # spark-submit finds its Spark home and Python through PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def python_environment() -> dict[str, str]:
    # On SageMaker the package ships next to the script; locally src/ plays that part.
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(SRC_DIR), os.environ.get("PYTHONPATH")]))}


def shown(value: str | Path) -> str:
    """A path under the current directory as a relative path: shorter, and still valid from here."""
    text = str(value)
    here = os.getcwd() + os.sep
    return text.removeprefix(here) if text.startswith(here) else text


def script_path(step: StepSpec) -> Path:
    path = CODE_DIR / step.script
    if not path.is_file():
        raise LocalRunError(f"step {step.name}: script {path} not found")
    return path


def run_command(label: str, command: list[str], environment: dict[str, str]) -> None:
    """Run a command with its output on the console; raise, showing how to rerun it, if it fails."""
    sys.stdout.flush()
    completed = subprocess.run(command, env={**os.environ, **environment}, check=False)
    if completed.returncode != 0:
        variables = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items() if key != "PATH")
        raise LocalRunError(
            f"{label} failed (exit code {completed.returncode}); the command was:\n  {variables} {shlex.join(command)}"
        )


# --------------------------------------------------------------------------- steps


def is_empty(location: Path) -> bool:
    return not location.exists() or (location.is_dir() and not any(location.iterdir()))


def producer_hint(run: LocalRun, step: StepSpec, channel: str) -> str:
    source = step.inputs[channel]
    for producer in run.spec.steps:
        if source in producer.outputs.values() or (isinstance(source, StepOutput) and source.step == producer.name):
            return f"; step {producer.name} writes it in {BRANCH_PRODUCERS[producer.branch]}"
    return ""


def check_inputs(run: LocalRun, step: StepSpec) -> None:
    """A SageMaker job fails when an input location holds nothing; fail the same way, clearly."""
    for channel in step.inputs:
        location = input_location(run, step, channel)
        if is_empty(location):
            raise LocalRunError(
                f"step {step.name}: input {channel!r} not found at {location}{producer_hint(run, step, channel)}"
            )


def run_spark_step(run: LocalRun, step: StepSpec, package_zip: Path) -> None:
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        raise LocalRunError(f"step {step.name}: Spark needs Java 17; install a JDK or set JAVA_HOME")
    command = [
        str(spark_submit()),
        *spark_options(run, package_zip),
        str(script_path(step)),
        *render_arguments(run, step),
    ]
    run_command(f"step {step.name}", command, prepare_spark_environment(run))


def run_processing_step(run: LocalRun, step: StepSpec) -> None:
    command = [sys.executable, str(script_path(step)), *render_arguments(run, step)]
    run_command(f"step {step.name}", command, python_environment())


def tar_directory(directory: Path, archive: Path) -> None:
    """Tar the content of ``directory`` (entries at the archive root, as SageMaker does)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    temporary = archive.with_name(f".{archive.name}.tmp")
    with tarfile.open(temporary, "w:gz") as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=path.name)
    temporary.replace(archive)


def run_training_step(run: LocalRun, step: StepSpec) -> None:
    output = output_location(run, step, "model")
    scratch = run.work_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"{step.name}-") as job_dir:
        model_dir, output_data_dir = Path(job_dir) / "model", Path(job_dir) / "output-data"
        model_dir.mkdir()
        output_data_dir.mkdir()
        command = [sys.executable, str(script_path(step)), *render_hyperparameters(run, step)]
        environment = {**python_environment(), **training_environment(run, step, model_dir, output_data_dir)}
        run_command(f"step {step.name}", command, environment)
        if not any(model_dir.iterdir()):
            raise LocalRunError(f"step {step.name}: the training script wrote nothing to SM_MODEL_DIR")
        tar_directory(model_dir, output / "model.tar.gz")
        if any(output_data_dir.iterdir()):
            tar_directory(output_data_dir, output / "output.tar.gz")


def run_step(run: LocalRun, step: StepSpec, package_zip: Path) -> None:
    check_inputs(run, step)
    if step.kind == "spark":
        run_spark_step(run, step, package_zip)
    elif step.kind == "training":
        run_training_step(run, step)
    else:
        run_processing_step(run, step)


# --------------------------------------------------------------------------- quality gate


@dataclass(frozen=True)
class GateResult:
    metric: str
    value: float
    threshold: float
    report: Path
    direction: quality_gate.Direction = "at_least"

    @property
    def passed(self) -> bool:
        return quality_gate.passes(self.value, self.threshold, self.direction)


def evaluate_quality_gate(run: LocalRun) -> GateResult:
    """Read the metric from the evaluation step's property file, as the ConditionStep does."""
    gate = run.spec.quality_gate
    step = run.spec.step(gate.step)
    property_file = next(item for item in step.property_files if item.name == gate.property_file)
    path = output_location(run, step, property_file.output) / property_file.path
    metric = str(resolve(run, gate.metric))
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        value = float(report["metrics"][metric])
    except FileNotFoundError:
        raise LocalRunError(f"{gate.name}: {path} not found; step {step.name} did not write it") from None
    except (ValueError, KeyError, TypeError):
        raise LocalRunError(f"{gate.name}: {path} has no number at metrics.{metric}") from None
    return GateResult(metric, value, float(resolve(run, gate.threshold)), path, str(resolve(run, gate.direction)))


# --------------------------------------------------------------------------- the run


def ensure_raw_data(run: LocalRun, rows: int, given: Path | None = None) -> Path:
    """Stage the user's data (``given``) for the use type, or generate sample data unless some is there already."""
    raw = Path(str(resolve(run, pipeline_spec.RAW_DATA)))
    if given is not None:
        return stage_raw_data(given, raw, data_contract.load())
    if raw.is_dir() and any(raw.iterdir()):
        print(f"Raw data: {shown(raw)} (existing data, --rows not used)")
        return raw
    print(f"Raw data: generating {rows} sample {run.use_type} rows into {shown(raw)}")
    command = [
        sys.executable,
        "-m",
        f"{PACKAGE_NAME}.sample_data",
        "--use-type",
        run.use_type,
        "--rows",
        str(rows),
        "--output-dir",
        str(raw),
    ]
    run_command("sample data generation", command, python_environment())
    return raw


def stage_raw_data(given: Path, raw: Path, contract: data_contract.Contract) -> Path:
    """Copy the user's file or folders into the layout the ETL reads, ``<raw>/<source>/``.

    A copy: the run never changes the user's files, and a later run of the same work
    directory still finds this data. Nothing is staged unless every source is there.
    """
    given = given.resolve()
    if given == raw or raw in given.parents:
        print(f"Raw data: {shown(raw)} (given with --raw)")
        return raw
    files = raw_source_files(given, contract)
    with atomic_outputs(raw) as (staging,):
        for source, paths in files.items():
            (staging / source).mkdir()
            for path in paths:
                shutil.copyfile(path, staging / source / path.name)
    print(f"Raw data: {shown(given)} staged into {shown(raw)}")
    return raw


def raw_source_files(given: Path, contract: data_contract.Contract) -> dict[str, list[Path]]:
    """The data files of each source in ``given``: a file (one-source contracts) or one folder per source."""
    names = ", ".join(source.name for source in contract.sources)
    if not given.exists():
        raise LocalRunError(f"--raw {given}: no such file or directory")
    if given.is_file():
        if len(contract.sources) > 1:
            raise LocalRunError(
                f"--raw {given}: a file, but the data contract has {len(contract.sources)} sources ({names}); "
                f"give a directory with one folder per source, e.g. {given.parent / contract.main.name}/"
            )
        check_format(given, contract.main)
        return {contract.main.name: [given]}
    files = {}
    for source in contract.sources:
        folder = given / source.name
        if not folder.is_dir() and len(contract.sources) == 1 and data_files_of(given, source):
            folder = given  # a single source's files, straight in the directory
        if not folder.is_dir():
            raise LocalRunError(
                f"--raw {given}: no folder {source.name}/ for source {source.name} (the data contract's sources: "
                f"{names}); put its .{source.format} files in {folder}/"
            )
        files[source.name] = data_files_of(folder, source)
        if not files[source.name]:
            raise LocalRunError(f"--raw {folder}: no .{source.format} files for source {source.name}")
    return files


def data_files_of(folder: Path, source: data_contract.Source) -> list[Path]:
    """Files of the source's format; names starting with _ or . (_SUCCESS, checksums) are no data."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() == f".{source.format}" and not path.name.startswith(("_", "."))
    )


def check_format(path: Path, source: data_contract.Source) -> None:
    if path.suffix.lower() != f".{source.format}":
        raise LocalRunError(
            f"--raw {path}: source {source.name} is declared as {source.format} in the data contract; "
            f"give a .{source.format} file, or set its format: to {path.suffix.lstrip('.').lower() or '?'}"
        )


@dataclass(frozen=True)
class Plan:
    """The steps of one run: those before the quality gate and those it guards (train runs only)."""

    before_gate: tuple[StepSpec, ...]
    after_gate: tuple[StepSpec, ...]

    @property
    def steps(self) -> tuple[StepSpec, ...]:
        return self.before_gate + self.after_gate


def plan_run(run: LocalRun) -> Plan:
    if run.is_train:
        return Plan(run.spec.branch("common") + run.spec.branch("train"), run.spec.branch("promote"))
    return Plan(run.spec.branch("common") + run.spec.branch("predict"), ())


def earlier_inputs(run: LocalRun, steps: tuple[StepSpec, ...]) -> list[tuple[StepSpec, str]]:
    """(step, channel) of the inputs that steps outside this run write, such as a predict run's model."""
    running = {step.name for step in steps}
    elsewhere = [producer for producer in run.spec.steps if producer.name not in running]
    return [
        (step, channel)
        for step in steps
        for channel, source in step.inputs.items()
        if any(source in producer.outputs.values() for producer in elsewhere)
    ]


def check_earlier_outputs(run: LocalRun, steps: tuple[StepSpec, ...]) -> None:
    """What earlier runs should have written must exist before this run starts.

    Checking up front saves a Spark ETL that would only lead to a step without its input.
    """
    for step, channel in earlier_inputs(run, steps):
        location = input_location(run, step, channel)
        if is_empty(location):
            raise LocalRunError(
                f"cannot start a {run.use_type} run: step {step.name} needs {channel!r} at {location}, "
                f"which does not exist{producer_hint(run, step, channel)}"
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


def check_quality_gate(run: LocalRun) -> None:
    """Stop the run, as the pipeline's FailStep does, unless the model reaches the threshold."""
    gate = evaluate_quality_gate(run)
    spec = run.spec.quality_gate
    comparison = quality_gate.comparison(gate.direction, gate.passed)
    print(f"\n{spec.name}: {gate.metric} = {gate.value:.4f} {comparison} {gate.threshold} ({shown(gate.report)})")
    if not gate.passed:
        # The same words as the pipeline's FailStep.
        side = quality_gate.failed_side(gate.direction)
        raise LocalRunError(
            f"{spec.fail_step_name}: Quality gate failed: {gate.metric} = {gate.value} is {side} the threshold "
            f"{gate.threshold} ({spec.threshold.path}); the model was not published."
        )


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


def result_location(run: LocalRun, step: StepSpec, channel: str) -> Path:
    """An output's location, down to the file a reader looks for where there is one."""
    location = output_location(run, step, channel)
    if step.kind == "training":
        return location / "model.tar.gz"
    for property_file in step.property_files:
        if property_file.output == channel:
            return location / property_file.path
    return location


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


# --------------------------------------------------------------------------- command line


def option_name(parameter: str) -> str:
    """``NEstimators`` -> ``n-estimators``, ``InputDataUri`` -> ``input-data-uri``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", parameter).lower()


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
        "--environment", choices=ENVIRONMENTS, default="develop", help="configuration (default: develop)"
    )
    parser.add_argument(
        "--rows", type=positive_int, default=2000, metavar="N", help="sample rows to make if raw data is missing"
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
        "--work-dir", type=Path, default=Path("build/local"), metavar="DIR", help="holds the S3 mirror, s3/<bucket>"
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
        kwargs: dict[str, object] = {"dest": parameter.name, "help": parameter_help(parameter, used), "metavar": "URI"}
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
