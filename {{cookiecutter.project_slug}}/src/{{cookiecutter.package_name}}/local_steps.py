"""Running one step of a local run as its own process, the way SageMaker runs its job.

The Spark ETL through ``local_spark``; processing scripts as ``python production/code/<script>``
with ``PYTHONPATH=src``; the training script under the SageMaker training-toolkit contract
(``SM_CHANNEL_*``, ``SM_MODEL_DIR``, hyperparameters as ``--name value``), after which
``SM_MODEL_DIR`` is tarred into ``model.tar.gz`` as SageMaker does.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from {{ cookiecutter.package_name }}.local_plan import (
    CODE_DIR,
    SRC_DIR,
    LocalRun,
    LocalRunError,
    input_location,
    is_empty,
    output_location,
    producer_hint,
    render_arguments,
    render_hyperparameters,
    resolve,
)
from {{ cookiecutter.package_name }}.local_spark import (
    prepare_spark_environment,
    spark_options,
    spark_submit,
)
from {{ cookiecutter.package_name }}.pipeline_spec import (
    StepSpec,
)


def training_environment(run: LocalRun, step: StepSpec, model_dir: Path, output_data_dir: Path) -> dict[str, str]:
    """The environment variables of the SageMaker training-toolkit contract."""
    environment = {f"SM_CHANNEL_{channel.upper()}": str(input_location(run, step, channel)) for channel in step.inputs}
    environment["SM_CHANNELS"] = json.dumps(sorted(step.inputs))
    environment["SM_HPS"] = json.dumps({name: resolve(run, token) for name, token in step.hyperparameters.items()})
    environment["SM_MODEL_DIR"] = str(model_dir)
    environment["SM_OUTPUT_DATA_DIR"] = str(output_data_dir)
    return environment


def python_environment() -> dict[str, str]:
    # On SageMaker the package ships next to the script; locally src/ plays that part.
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(SRC_DIR), os.environ.get("PYTHONPATH")]))}


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
        model_dir, output_data_dir = (
            Path(job_dir) / "model",
            Path(job_dir) / "output-data",
        )
        model_dir.mkdir()
        output_data_dir.mkdir()
        command = [
            sys.executable,
            str(script_path(step)),
            *render_hyperparameters(run, step),
        ]
        environment = {
            **python_environment(),
            **training_environment(run, step, model_dir, output_data_dir),
        }
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
