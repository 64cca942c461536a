"""How the Spark ETL runs locally: ``spark-submit --master local[*]`` with the package zip as
``--py-files``, settings sized to the raw data, and Spark's log kept to warnings."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from {{ cookiecutter.package_name }} import pipeline_spec
from {{ cookiecutter.package_name }}.local_plan import (
    LocalRun,
    LocalRunError,
    resolve,
)

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
    options = [
        "--master",
        "local[*]",
        "--py-files",
        str(package_zip),
        "--conf",
        "spark.ui.enabled=false",
    ]
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
