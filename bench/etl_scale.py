"""Benchmark 3: how the ETL scales (10x the rows should take at most 10x the time), and each step's peak memory.

The ETL step is timed as the local runner times it. A size the local pipeline benchmark
already ran takes the ETL step of its train run; any other size runs the step alone, as
the runner would (``etl_step.py``), on generated train data.

A second figure takes off the fixed cost every ETL run starts with (Spark's start-up, measured
by an empty job, see ``etl_runs.py``) and compares the time that does grow with the rows.

Peak memory comes from the local pipeline's largest run: each step's processes together,
against the floor script.
"""

from __future__ import annotations

from pathlib import Path

from etl_runs import run_etl_alone, spark_start_up
from local_pipeline import PipelineRuns
from project import Project, raw_data
from results import Figure


def measure_etl(
    project: Project,
    sizes: tuple[int, int],
    pipeline_runs: dict[int, PipelineRuns],
    data_dir: Path,
    work_dir: Path,
    logs: Path,
) -> tuple[list[Figure], dict]:
    seconds: dict[int, float] = {}
    details: dict[str, dict] = {}
    for rows in sizes:
        raw, generated = raw_data(project, rows, ("train",), data_dir, logs)
        if rows in pipeline_runs:
            seconds[rows] = pipeline_runs[rows].train.steps["ETL"].seconds
            details[str(rows)] = {"source": "ETL step of the local pipeline's train run"}
        else:
            seconds[rows] = run_etl_alone(project, raw, work_dir / f"etl-{rows}", logs / f"etl-{rows}.log")
            details[str(rows)] = {"source": "ETL step alone", "sample_data_seconds": generated}
        details[str(rows)]["seconds"] = seconds[rows]
    small, large = sizes
    # One empty job stands for both sizes: above the runner's small-input threshold (both
    # default sizes are) the JVM options are the same. The pipeline benchmark's if it ran one.
    measured = [pipeline_runs[rows].spark_start_up for rows in (large, small) if rows in pipeline_runs]
    fixed = measured[0] if measured else spark_start_up(project, raw, large, work_dir, logs)
    details["empty_spark_job_seconds"] = fixed
    linear = f"linear: ratio {large / small:.0f}"
    figures = [
        Figure("3 scale", f"ETL step, {large:,} rows ({linear})", seconds[large], f"ETL step, {small:,} rows",
               seconds[small], "s"),
        Figure("3 scale", f"ETL step less Spark start-up, {large:,} rows", seconds[large] - fixed,
               f"the same, {small:,} rows", seconds[small] - fixed, "s",
               note=f"Spark start-up: an empty job through the same spark-submit, {fixed:.1f} s"),
    ]  # fmt: skip
    return figures, details


def memory_figures(runs: PipelineRuns) -> list[Figure]:
    """Each step's peak memory at ``runs.rows``, against the floor's peak for the whole pipeline."""
    figures = []
    for use_type, monitored in (("train", runs.train), ("predict", runs.predict)):
        for step, figures_of_step in monitored.steps.items():
            figures.append(
                Figure(
                    "3 peak memory",
                    f"{step} ({use_type} run), {runs.rows:,} rows",
                    figures_of_step.peak_rss_mb,
                    "floor_pipeline.py, whole run",
                    runs.floor.peak_rss_mb,
                    "MB",
                )
            )
    return figures
