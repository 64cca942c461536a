"""Run the generated project's ETL step alone, exactly as its local runner runs it (a benchmark helper).

    PYTHONPATH=<project>/src python bench/etl_step.py --package <package> --work-dir DIR --input-data-uri RAW \\
        [--empty-job]

It builds the runner's ``LocalRun`` for a train run, hands the spec's ETL step to the
runner's own ``run_step`` (``local_steps``) (the same spark-submit command, options and environment) and
prints the seconds that took as ``etl_seconds=<n>``, the runner's "done in" figure.

With ``--empty-job`` it submits ``spark_empty_job.py`` instead of the ETL, with the same
command, options (those the runner picks for this input's size) and environment: the
fixed cost of the step, which the rows do not change.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from project import EXECUTION_DATE

EMPTY_JOB = Path(__file__).resolve().parent / "spark_empty_job.py"
# The local runner's modules this helper drives: its plan, its Spark command, its steps.
LOCAL_RUN_MODULES = ("local_plan", "local_spark", "local_steps")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the ETL step of a generated project as its local runner does.")
    parser.add_argument("--package", required=True, help="the generated project's package name")
    parser.add_argument("--work-dir", type=Path, required=True, help="the runner's work dir (holds the S3 mirror)")
    parser.add_argument("--input-data-uri", required=True, help="holds train/bookings and train/customers")
    parser.add_argument("--execution-date", default=EXECUTION_DATE)
    parser.add_argument("--empty-job", action="store_true", help="submit an empty job instead of the ETL")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan, spark, steps = (importlib.import_module(f"{args.package}.{name}") for name in LOCAL_RUN_MODULES)
    config = importlib.import_module(f"{args.package}.config").load_config("develop")
    work_dir = args.work_dir.resolve()
    given = {"UseType": "train", "ExecutionDate": args.execution_date, "InputDataUri": args.input_data_uri}
    run = plan.LocalRun(config, work_dir, plan.resolve_parameters(config, work_dir, given))
    package_zip = importlib.import_module(f"{args.package}.packaging").build_package()
    started = time.perf_counter()
    if args.empty_job:
        # run_spark_step's command, with the empty job in the ETL script's place.
        command = [str(spark.spark_submit()), *spark.spark_options(run, package_zip), str(EMPTY_JOB)]
        steps.run_command("empty Spark job", command, spark.prepare_spark_environment(run))
    else:
        steps.run_step(run, run.spec.step("ETL"), package_zip)
    print(f"etl_seconds={time.perf_counter() - started:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
