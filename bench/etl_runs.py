"""The generated project's ETL step run alone, or an empty Spark job in its place (through ``etl_step.py``).

Every ETL run starts with a fixed cost the rows do not change: the JVM, Spark's session,
compiling the first jobs, stopping. The empty job measures it with the same spark-submit
command, options and environment, so that the benchmarks can tell it from the work.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from measure import run
from project import Project

ETL_STEP = Path(__file__).resolve().parent / "etl_step.py"
REPORTED = re.compile(r"^etl_seconds=(?P<seconds>[0-9.]+)$", re.MULTILINE)


def run_etl_alone(project: Project, raw: Path, work_dir: Path, log: Path, empty_job: bool = False) -> float:
    """Seconds of the ETL step (or of an empty Spark job) on ``raw``'s train data, timed as the runner times it."""
    shutil.rmtree(work_dir, ignore_errors=True)
    command = [
        sys.executable, str(ETL_STEP),
        "--package", project.package,
        "--work-dir", str(work_dir),
        "--input-data-uri", str(raw),
        *(["--empty-job"] if empty_job else []),
    ]  # fmt: skip
    finished = run(command, log, env=project.env(), cwd=project.root)
    shutil.rmtree(work_dir, ignore_errors=True)
    return float(REPORTED.search(finished.output())["seconds"])


def spark_start_up(project: Project, raw: Path, rows: int, work_dir: Path, logs: Path) -> float:
    """The ETL step's fixed cost, with the JVM options the runner picks for ``raw`` (they depend on its size)."""
    return run_etl_alone(project, raw, work_dir / f"empty-{rows}", logs / f"spark-empty-job-{rows}.log", True)
