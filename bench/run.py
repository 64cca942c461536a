"""`make bench`: how fast the template and the project it generates are, each figure against a baseline.

    build/venv/bin/python bench/run.py [--only render,pipeline,scale,definition,scoring,install]

Every figure is measured in this run next to its baseline and reported as a ratio, because
the absolute numbers depend on the machine and on whatever else it is doing. The table is
printed at the end and written to ``build/bench/results.json`` (with per-step details, the
CPU count and how busy other processes kept the machine) and ``build/bench/results.md``.
docs/benchmarks.md explains each figure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import batch_scoring
import ci_install
import definition_build
import etl_scale
import local_pipeline
import render_time
import results
from measure import load_meter
from project import BENCH_DIR, Project, existing_project, raw_data, render_project

BENCHMARKS = ("render", "pipeline", "scale", "definition", "scoring", "install")
PIPELINE_ROWS = (100_000, 1_000_000)
SCALE_ROWS = (1_000_000, 10_000_000)
LOGS = BENCH_DIR / "logs"
DATA_DIR = BENCH_DIR / "data"  # generated raw data, kept between runs while the generator is unchanged


def row_counts(text: str) -> tuple[int, ...]:
    return tuple(int(value) for value in text.split(","))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the template and its generated project.")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}")
    parser.add_argument("--pipeline-rows", type=row_counts, default=PIPELINE_ROWS, help="sizes of benchmark 2")
    parser.add_argument("--scale-rows", type=row_counts, default=SCALE_ROWS, help="the two sizes of benchmark 3")
    parser.add_argument(
        "--project", type=Path, help="measure this generated project instead of a fresh rendering (e.g. an older one)"
    )
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    if unknown := args.only - set(BENCHMARKS):
        parser.error(f"--only: unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    if len(args.scale_rows) != 2:
        parser.error("--scale-rows takes two sizes, e.g. 1000000,10000000")
    return args


def section(report: results.Report, title: str, measure: Callable[[], tuple[list[results.Figure], dict]]) -> None:
    """Run one benchmark, noting how loaded the machine was meanwhile."""
    print(f"== {title}", flush=True)
    with load_meter() as load:
        figures, details = measure()
    report.add(figures, load.other_cores)
    report.details[title] = {**details, "seconds": round(load.seconds, 1), "other_load_cores": load.other_cores}
    for figure in figures:
        print(
            f"   {figure.measure}: {results.formatted(figure.ours, figure.unit)} "
            f"vs {results.formatted(figure.baseline, figure.unit)} (ratio {figure.ratio:.2f})",
            flush=True,
        )
    print(f"   ({load.seconds:.0f} s; other processes kept {load.other_cores:.1f} cores busy)", flush=True)


def pipeline_benchmark(
    project: Project, rows: int, kept: dict[int, local_pipeline.PipelineRuns]
) -> Callable[[], tuple[list[results.Figure], dict]]:
    """Benchmark 2 at one size; its runs are kept for the benchmarks that read their outputs."""

    def measure() -> tuple[list[results.Figure], dict]:
        raw, generated = raw_data(project, rows, ("train", "predict"), DATA_DIR, LOGS)
        runs = local_pipeline.measure_size(project, raw, rows, BENCH_DIR / "pipeline", LOGS)
        kept[rows] = runs
        return local_pipeline.figures(runs), {**local_pipeline.details(runs), "sample_data_seconds": generated}

    return measure


def scale_benchmark(
    project: Project, sizes: tuple[int, int], pipeline_runs: dict[int, local_pipeline.PipelineRuns]
) -> tuple[list[results.Figure], dict]:
    return etl_scale.measure_etl(project, sizes, pipeline_runs, DATA_DIR, BENCH_DIR / "scale", LOGS)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    report = results.Report()
    with load_meter() as whole_run:
        project = existing_project(args.project) if args.project else render_project(BENCH_DIR)
        if "render" in args.only:
            section(report, "1 render", lambda: render_time.measure(BENCH_DIR))
        # Peak memory and scoring read the largest pipeline run; scale reuses its ETL step time.
        pipeline_runs: dict[int, local_pipeline.PipelineRuns] = {}
        if args.only & {"pipeline", "scoring"}:
            for rows in args.pipeline_rows:
                section(report, f"2 local pipeline, {rows:,} rows", pipeline_benchmark(project, rows, pipeline_runs))
            largest = pipeline_runs[max(pipeline_runs)]
            section(report, "3 peak memory", lambda: (etl_scale.memory_figures(largest), {}))
        if "scale" in args.only:
            section(report, "3 scale", lambda: scale_benchmark(project, args.scale_rows, pipeline_runs))
        if "definition" in args.only:
            section(report, "4 definition build", lambda: definition_build.measure(project, BENCH_DIR, LOGS))
        if "scoring" in args.only:
            section(report, "5 batch scoring", lambda: batch_scoring.measure(largest, LOGS))
        if "install" in args.only:
            section(report, "6 CI install", lambda: ci_install.measure(project, BENCH_DIR / "install", LOGS))
    total = time.perf_counter() - started
    shutil.rmtree(BENCH_DIR / "pipeline", ignore_errors=True)
    path = results.write(report, BENCH_DIR, total, whole_run.other_cores)
    print()
    print(results.text_table(report))
    print(f"\n{results.machine_line(report, total, whole_run.other_cores)}")
    print(f"Written to {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
