"""Benchmark 2: the generated project's local train + predict run against the floor.

Ours: ``python -m <package>.local_runner`` once with ``--use-type train`` and once with
``--use-type predict``: the Spark ETL through spark-submit and every other step as its own
Python process, files between them, as on SageMaker. The floor: ``floor_pipeline.py``
doing the same work in one pandas + scikit-learn process. Both read the same generated
raw data and use the same small hyperparameters, so that a million rows fit the time budget.

A second figure shows where the ETL step's time goes: against an empty Spark job submitted
the same way (``etl_runs.py``), the fixed cost every run pays before reading its data.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from etl_runs import spark_start_up
from measure import Run, run
from project import EXECUTION_DATE, Project
from results import Figure
from step_monitor import MonitoredRun, run_monitored

FLOOR_SCRIPT = Path(__file__).resolve().parent / "floor_pipeline.py"
N_ESTIMATORS = 20
MAX_DEPTH = 12


@dataclass(frozen=True)
class PipelineRuns:
    rows: int
    train: MonitoredRun
    predict: MonitoredRun
    floor: Run
    spark_start_up: float  # seconds of an empty Spark job submitted as the ETL is
    work_dir: Path  # the local runner's work dir: its S3 mirror holds every step's output

    @property
    def output_root(self) -> Path:
        """The S3 mirror's ``s3://<bucket>/<prefix>`` (where ``models/latest`` is)."""
        return next((self.work_dir / "s3").glob("**/models/latest")).parents[1]

    @property
    def seconds(self) -> float:
        return self.train.seconds + self.predict.seconds

    def floor_summary(self) -> dict:
        """The floor's last output line: row counts and metrics."""
        return json.loads(self.floor.output().strip().splitlines()[-1])


def runner_arguments(use_type: str, raw: Path, work_dir: Path) -> list[str]:
    return [
        "--use-type", use_type,
        "--environment", "develop",
        "--execution-date", EXECUTION_DATE,
        "--work-dir", str(work_dir),
        "--input-data-uri", str(raw),
        "--n-estimators", str(N_ESTIMATORS),
        "--max-depth", str(MAX_DEPTH),
    ]  # fmt: skip


def run_ours(project: Project, raw: Path, work_dir: Path, logs: Path, use_type: str) -> MonitoredRun:
    command = project.module("local_runner", *runner_arguments(use_type, raw, work_dir))
    return run_monitored(command, logs / f"local-{use_type}-{work_dir.name}.log", project.env(), project.root)


def run_floor(raw: Path, output_dir: Path, logs: Path) -> Run:
    command = [
        sys.executable, str(FLOOR_SCRIPT),
        "--raw-dir", str(raw),
        "--output-dir", str(output_dir),
        "--n-estimators", str(N_ESTIMATORS),
        "--max-depth", str(MAX_DEPTH),
    ]  # fmt: skip
    return run(command, logs / f"floor-{output_dir.name}.log")


def measure_size(project: Project, raw: Path, rows: int, work_dir: Path, logs: Path) -> PipelineRuns:
    local_dir = work_dir / f"local-{rows}"
    floor_dir = work_dir / f"floor-{rows}"
    for directory in (local_dir, floor_dir):
        shutil.rmtree(directory, ignore_errors=True)
    train = run_ours(project, raw, local_dir, logs, "train")
    predict = run_ours(project, raw, local_dir, logs, "predict")
    floor = run_floor(raw, floor_dir, logs)
    empty_job = spark_start_up(project, raw, rows, work_dir, logs)
    return PipelineRuns(rows, train, predict, floor, empty_job, local_dir)


def figures(runs: PipelineRuns) -> list[Figure]:
    return [
        Figure(
            "2 local pipeline",
            f"local runner train + predict, {runs.rows:,} rows",
            runs.seconds,
            "floor_pipeline.py, one process",
            runs.floor.seconds,
            "s",
        ),
        Figure(
            "2 local pipeline",
            f"its ETL step (train run), {runs.rows:,} rows",
            runs.train.steps["ETL"].seconds,
            "empty Spark job, same spark-submit",
            runs.spark_start_up,
            "s",
        ),
    ]


def details(runs: PipelineRuns) -> dict:
    # Publish keeps the train run's evaluation beside the model it published.
    evaluation = json.loads((runs.output_root / "models" / "latest" / "evaluation.json").read_text())
    return {
        "rows": runs.rows,
        "train_seconds": runs.train.seconds,
        "predict_seconds": runs.predict.seconds,
        "train_steps": {name: asdict(step) for name, step in runs.train.steps.items()},
        "predict_steps": {name: asdict(step) for name, step in runs.predict.steps.items()},
        "test_roc_auc": evaluation["metrics"]["roc_auc"],
        "empty_spark_job_seconds": runs.spark_start_up,
        "floor_seconds": runs.floor.seconds,
        "floor_cpu_seconds": runs.floor.cpu_seconds,
        "floor_peak_rss_mb": runs.floor.peak_rss_mb,
        "floor": runs.floor_summary(),
    }
