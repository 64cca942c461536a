"""An empty PySpark job: start a session, run one trivial job, stop (a benchmark helper).

Submitted by ``etl_step.py --empty-job`` with exactly the spark-submit command, options and
environment the local runner gives the ETL, it costs what every ETL run pays before reading
a byte: the JVM's start-up, Spark's session and its first (compiled) job, and shutting down.
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession


def main() -> int:
    spark = SparkSession.builder.appName("empty-job").getOrCreate()
    try:
        spark.range(1).count()
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
