"""ETL (PySpark): the raw sources of the data contract -> the feature table, Parquet by execution date.

    spark-submit --py-files production/packages/dist/{{ cookiecutter.package_name }}.zip \\
        production/code/etl.py \\
        --input-uri <root>/raw/train --output-uri <root>/features/train \\
        --execution-date 2024-06-01 --use-type train \\
        [--execution-start 2024-06-01T02:00:00Z --run-dir <dir>]

Everything this step knows about the data comes from the data contract (``data_contract.yaml``):
it reads each source from ``<input-uri>/<source name>/`` (CSV or Parquet files, local paths or
``s3://`` URIs), checks it against the contract, cleans it, joins every other source to the main
(first) one, derives the contract's features and writes
``<output-uri>/execution_date=<date>/part-*.parquet``, replacing that date's partition only.
SageMaker runs the same file as a PySparkProcessor job with the package zip as
``submit_py_files``; under spark-submit, its ``--master`` and configuration decide where Spark runs.
An empty ``--execution-date`` (an execution started with the defaults) means the UTC day of
``--execution-start``; the date used is written to ``<run-dir>/run.json`` for the later steps.

Each source is checked in one pass over its files: unreadable values (text where a number or a
date belongs, numbers that are not finite or beyond 32-bit floats), bytes that are not in the
declared encoding, missing values in columns that must not be empty, values breaking a column's
rule (``min``, ``max``, ``values``) and, when training, the label.

Cleaning, every change logged with its row count:

* text is trimmed and empty text is missing; ``case: lower|upper`` text is lower- or upper-case;
* a value breaking its column's rule fails the run, becomes missing or drops its row, as the
  column's ``on_violation`` says;
* rows without their key and, when training, rows without a label are dropped; exact duplicate
  rows are dropped; rows of the main source whose join key has no match are kept (left join) or
  dropped (inner join), up to the join's ``max_unmatched_share``;
* a feature outside its ``min``/``max`` (or a number that is not finite) becomes missing, which the
  feature transformer imputes.

Refused with one error line that names the source, the column, the number of rows, an example and
the fix: a missing or empty source, missing or unexpected columns, any check above, one key in two
different rows, too many unmatched join keys, and a feature expression Spark cannot evaluate.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import operator
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the usual PySpark alias)

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.cli import configure_logging, execution_start, iso_date_or_empty, report, run_date
from {{ cookiecutter.package_name }}.contract import (
    MIN_ROWS,
    MIN_ROWS_PER_CLASS,
    Column,
    Contract,
    Feature,
    Source,
)
from {{ cookiecutter.package_name }}.errors import StepError

log = logging.getLogger("etl")

SPARK_TYPES = {"string": "STRING", "integer": "INT", "double": "DOUBLE", "date": "DATE"}
# The model reads numbers as 32-bit floats: beyond this range they would become infinite.
FLOAT32_MAX = 3.4e38
# Spark decodes bytes that are not valid in the declared encoding into this character.
UNDECODABLE = "\ufffd"
# The Parquet types (Spark's names) that hold each contract type without loss.
PARQUET_TYPES = {
    "string": ("string",),
    "integer": ("tinyint", "smallint", "int", "bigint"),
    "double": ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal"),
    "date": ("date",),
}
# Spark's messages for CSV that does not fit the header it read first, and what they mean.
MALFORMED_CSV = {
    "Malformed records are detected": "a line has more or fewer fields than the header",
    "CSV header does not conform to the schema": "the CSV files do not all have the same header",
}
# Column names of the working frames; safe names never start with an underscore.
FILE = "_file"
# What --run-dir receives; pipeline_spec names it as the ETL's RunDate property file.
RUN_FILE = "run.json"
MISSING_RULE_FIX = "correct the data, or change the rule or its on_violation (null, drop) in the data contract"
TYPE_RULES = {
    "integer": ("a whole number", "write whole numbers such as 3"),
    "double": ("a finite number", f"write numbers such as 12.5 (a dot for decimals, no units, within ±{FLOAT32_MAX})"),
    "date": ("a date written YYYY-MM-DD", "write dates as YYYY-MM-DD"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Raw sources of the data contract -> feature table (Parquet).")
    parser.add_argument("--input-uri", required=True, help="holds a folder per source (path or s3:// URI)")
    parser.add_argument("--output-uri", required=True, help="feature table root; gets execution_date=<date>/")
    parser.add_argument(
        "--execution-date",
        required=True,
        type=iso_date_or_empty,
        help="YYYY-MM-DD: the partition written; empty: the UTC day of --execution-start",
    )
    parser.add_argument("--use-type", required=True, choices=schema.USE_TYPES, help="train data carries the label")
    parser.add_argument(
        "--execution-start", type=execution_start, help="when the execution started (ISO 8601), for an empty date"
    )
    parser.add_argument("--run-dir", help=f"gets {RUN_FILE}: the execution date the later steps key their outputs by")
    args = parser.parse_args(argv)
    if not args.execution_date and not args.execution_start:
        parser.error("--execution-date is empty: give a date (YYYY-MM-DD) or --execution-start to use its day")
    args.execution_date = run_date(args.execution_date, args.execution_start)
    return args


def main(argv: list[str] | None = None) -> int:
    # Arguments are checked before Spark starts: a typo costs no JVM start-up.
    args = parse_args(argv)
    configure_logging()
    # py4j reports its connections at INFO: noise between the progress lines.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    with spark_session() as spark:
        try:
            run(spark, args.input_uri, args.output_uri, args.execution_date, args.use_type)
        except StepError as error:
            return report(error)
    if args.run_dir:
        write_run_file(args.run_dir, args.execution_date)
    return 0


def write_run_file(run_dir: str, execution_date: str) -> None:
    """The resolved date, for the later steps: on SageMaker they read it as a property file."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, RUN_FILE), "w", encoding="utf-8") as file:
        json.dump({"execution_date": execution_date}, file)


@contextmanager
def spark_session() -> Iterator[SparkSession]:
    """The running session if there is one (spark-submit's, a test's), else a new one.

    Started by plain ``python etl.py`` rather than spark-submit (no gateway to join), the new
    session is a quiet single-machine Spark bound to the loopback interface. Under
    spark-submit nothing is set here, so that its ``--master`` and configuration win.
    A session this function started is stopped on the way out.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = SparkSession.builder.appName("etl")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.master("local[*]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
        )
    spark = builder.getOrCreate()
    if spark.sparkContext.master.startswith("local"):
        spark.sparkContext.setLogLevel("WARN")
    try:
        yield spark
    finally:
        spark.stop()


def run(spark: SparkSession, input_uri: str, output_uri: str, execution_date: str, use_type: schema.UseType) -> None:
    contract = schema.contract()
    tables = [
        read_table(spark, contract, source, join_uri(input_uri, source.name), use_type) for source in contract.sources
    ]
    # Built (not computed) before any check: a feature expression Spark cannot use fails at once.
    features = derive_features(contract, join_tables(tables), use_type)
    kept = {}
    for table in tables:
        counts = collect_one(table.rows.agg(*measures(table, contract)), table.uri)
        check_table(table, counts, contract)
        kept[table.uri] = counts["kept"]
    check_keys(tables, kept)
    observation = Observation("features")
    write_partition(features.observed(observation), output_uri, execution_date)
    counts = observation.get
    features.log_nulls(counts)
    partition = join_uri(output_uri, f"{schema.PARTITION_COLUMN}={execution_date}")
    log.info("Wrote the %s feature table (%d rows) to %s", use_type, counts["rows"], partition)


def join_uri(uri: str, *parts: str) -> str:
    return "/".join((uri.rstrip("/"), *parts))


def quoted(name: str) -> str:
    """A column name for Spark SQL, whatever it holds (spaces, dots, backticks)."""
    return "`" + name.replace("`", "``") + "`"


def text_of(column: Column) -> str:
    return f"_text_{column.safe_name}"


def flag_of(column: Column) -> str:
    return f"_bad_{column.safe_name}"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Table:
    """A source as read, with the expressions that check and clean it (nothing computed yet)."""

    source: Source
    uri: str
    columns: tuple[Column, ...]  # those the files hold for this use type
    key: Column | None  # each row's key: the primary key, else the join key
    label: Column | None  # the main source's label, when training
    # Per column: its value typed (``<safe name>``), its text (``_text_<safe name>``) and, where
    # the column has a rule, whether the value breaks it (``_bad_<safe name>``). Not cached: the
    # checks and the write each parse the files again, which costs less than Spark's in-memory
    # cache (measured: bench/).
    rows: DataFrame

    def ruled(self, *policies: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if has_rule(c) and c.on_violation in policies)

    def value(self, column: Column) -> SparkColumn:
        """The column's value after its rule: missing where it breaks it and on_violation is null."""
        if has_rule(column) and column.on_violation == "null":
            return F.when(~F.col(flag_of(column)), F.col(column.safe_name))
        return F.col(column.safe_name)

    @property
    def kept(self) -> SparkColumn:
        """Rows cleaning keeps: no value breaking a rule of on_violation drop, a key, a label."""
        conditions = [~F.col(flag_of(c)) for c in self.ruled("drop")]
        conditions += [self.value(c).isNotNull() for c in (self.key, self.label) if c is not None]
        return functools.reduce(operator.and_, conditions, F.lit(True))

    @property
    def cleaned(self) -> DataFrame:
        """Typed values after the rules, without the rows cleaning drops, without duplicates."""
        values = (self.value(column).alias(column.safe_name) for column in self.columns)
        return self.rows.where(self.kept).select(*values).dropDuplicates()


def read_table(spark: SparkSession, contract: Contract, source: Source, uri: str, use_type: schema.UseType) -> Table:
    label = contract.label.column
    columns = source.columns_for(use_type, label)
    # Predict data may still carry the label (a copy of training data): it is not read.
    unread = tuple(c.name for c in source.columns if c not in columns)
    if source.format == "csv":
        raw = read_csv_text(spark, uri, source.encoding)
        if not raw.columns:
            raise StepError(f"{uri}: the CSV files are empty (no header row)")
        check_header_is_text(raw.columns, uri, source.encoding)
    else:
        raw = read_parquet(spark, uri)
    expected = tuple(c.name for c in columns)
    schema.check_names(raw.columns, expected, uri, f"expected the columns {', '.join(expected)}", optional=unread)
    if source.format == "parquet":
        check_parquet_types(raw, columns, uri)
    types = dict(raw.dtypes)
    typed = raw.select(
        *(F.expr(typed_sql(c, types[c.name])).alias(c.safe_name) for c in columns),
        *(F.expr(text_sql(c, types[c.name])).alias(text_of(c)) for c in columns),
        F.input_file_name().alias(FILE),
    )
    flags = {flag_of(c): F.coalesce(breaks_rule(c, F.col(c.safe_name)), F.lit(False)) for c in columns if has_rule(c)}
    key_name = source.primary_key or (source.join.key if source.join else None)
    key = source.column(key_name) if key_name else None
    label_column = source.column(label) if source is contract.main and use_type == "train" else None
    return Table(source, uri, columns, key, label_column, typed.withColumns(flags) if flags else typed)


def check_header_is_text(header: list[str], uri: str, encoding: str) -> None:
    """A header of undecodable or control characters is no CSV text: say so, rather than print
    the bytes as column names (gzip or zip bytes in a .csv file, a file of another encoding)."""
    for name in header:
        if "\ufffd" in name or any(ord(character) < 32 and character not in "\t" for character in name):
            raise StepError(
                f"{uri}: the header row is not {encoding} text (a compressed or binary file named .csv?): "
                "decompress it, or declare the source's encoding in the data contract"
            )


def read_csv_text(spark: SparkSession, uri: str, encoding: str) -> DataFrame:
    """Every column as text: types are checked by us, with errors that name the column."""
    # FAILFAST notices a line with too many or too few fields only where Spark parses lines in
    # full. By default it parses just the fields a query uses, and the check (the first pass
    # over the files) does not use them all.
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    reader = (
        spark.read.option("header", True)
        # Each file's header must match the first one's (else the columns would shift).
        .option("enforceSchema", False)
        .option("mode", "FAILFAST")
        .option("encoding", encoding)
        .option("pathGlobFilter", "*.csv")
    )
    return read_files(lambda: reader.csv(uri), uri, "CSV")


def read_parquet(spark: SparkSession, uri: str) -> DataFrame:
    return read_files(lambda: spark.read.option("pathGlobFilter", "*.parquet").parquet(uri), uri, "Parquet")


def read_files(read: Any, uri: str, kind: str) -> DataFrame:
    try:
        return read()
    except AnalysisException as error:
        if error.getErrorClass() == "PATH_NOT_FOUND":
            raise StepError(f"{uri}: does not exist; expected a directory of {kind} files here") from None
        if error.getErrorClass() == "UNABLE_TO_INFER_SCHEMA":
            raise StepError(f"{uri}: holds no .{kind.lower()} files") from None
        raise


def check_parquet_types(raw: DataFrame, columns: tuple[Column, ...], uri: str) -> None:
    found = dict(raw.dtypes)
    for column in columns:
        spark_type = found[column.name]
        if not spark_type.startswith(PARQUET_TYPES[column.type]):
            raise StepError(
                f"{uri}: column {column.name}: is {spark_type} in the Parquet files, the data contract says "
                f"{column.type}; write it as {' or '.join(PARQUET_TYPES[column.type])}, or change its type in the "
                "data contract"
            )


def text_sql(column: Column, spark_type: str) -> str:
    """SQL for a field as text: trimmed, empty text missing, in the column's case."""
    if spark_type != "string":
        return f"CAST({quoted(column.name)} AS STRING)"
    text = f"nullif(trim({quoted(column.name)}), '')"
    return {"lower": f"lower({text})", "upper": f"upper({text})"}.get(column.case, text)


def typed_sql(column: Column, spark_type: str) -> str:
    """SQL converting a field to the column's type: null where it is missing or unreadable.

    try_cast gives null for unreadable text whatever spark.sql.ansi.enabled says.
    """
    value = text_sql(column, spark_type) if spark_type == "string" else quoted(column.name)
    if column.type == "string":
        return value
    if column.type == "integer":
        if spark_type != "string":
            return f"try_cast({value} AS INT)"
        # Whole numbers may come as "3.0", as pandas writes integer columns that have gaps.
        number = f"try_cast({value} AS DOUBLE)"
        return f"CASE WHEN {number} = floor({number}) THEN try_cast({number} AS INT) END"
    if column.type == "double":
        # Not a number, infinities and numbers beyond float32 (1e999 reads as infinity) are unreadable.
        number = f"try_cast({value} AS DOUBLE)"
        return f"CASE WHEN abs({number}) <= {FLOAT32_MAX} THEN {number} END"
    return f"try_cast({value} AS DATE)"


def has_rule(column: Column) -> bool:
    return column.min is not None or column.max is not None or bool(column.values)


def breaks_rule(column: Column, value: SparkColumn) -> SparkColumn | None:
    """True where a (present) value is outside the column's range or allowed values."""
    conditions = []
    if column.min is not None:
        conditions.append(value < bound(column, column.min))
    if column.max is not None:
        conditions.append(value > bound(column, column.max))
    if column.values:
        conditions.append(~value.isin(list(column.values)))
    return functools.reduce(operator.or_, conditions) if conditions else None


def bound(column: Column, limit: float | str) -> SparkColumn:
    return F.lit(limit).cast("date") if column.type == "date" else F.lit(limit)


def describe_rule(column: Column) -> str:
    parts = []
    if column.min is not None and column.max is not None:
        parts.append(f"from {column.min} to {column.max}")
    elif column.min is not None:
        parts.append(f"at least {column.min}")
    elif column.max is not None:
        parts.append(f"at most {column.max}")
    if column.values:
        parts.append(f"one of {schema.listing(list(column.values))}")
    return " and ".join(parts)


# --------------------------------------------------------------------------- checking


def measures(table: Table, contract: Contract) -> list[SparkColumn]:
    """What the check counts in its one pass over a source (``check_table`` reads them)."""
    aggregates = [F.count(F.lit(1)).alias("rows"), count_where(table.kept, "kept")]
    if table.source.format == "csv":
        # Elsewhere such a byte makes a value unreadable, reported as such.
        texts = [F.col(text_of(c)).contains(UNDECODABLE) for c in table.columns if c.type == "string"]
        if texts:
            undecodable = functools.reduce(operator.or_, texts)
            aggregates += [count_where(undecodable, "undecodable"), first_where(undecodable, F.col(FILE), "file")]
    for column in table.columns:
        name, text, value = column.safe_name, F.col(text_of(column)), F.col(column.safe_name)
        if column.type != "string":
            unreadable = text.isNotNull() & value.isNull()
            aggregates += [count_where(unreadable, f"unreadable:{name}"), first_where(unreadable, text, f"e:{name}")]
        if not column.nullable:
            missing = text.isNull()
            aggregates += [count_where(missing, f"missing:{name}"), first_where(missing, F.col(FILE), f"in:{name}")]
            if table.key is not None and table.key != column:
                aggregates.append(first_where(missing, F.col(table.key.safe_name), f"key:{name}"))
        if has_rule(column):
            bad = F.col(flag_of(column))
            aggregates += [count_where(bad, f"breaks:{name}"), first_where(bad, text, f"b:{name}")]
    if table.key is not None:
        aggregates.append(count_where(F.col(table.key.safe_name).isNull(), "keyless"))
    if table.label is not None:
        aggregates += label_measures(table, contract)
    return aggregates


def label_measures(table: Table, contract: Contract) -> list[SparkColumn]:
    value = table.value(table.label)
    aggregates = [count_where(value.isNotNull(), "labelled")]
    classes = contract.label.classes
    if contract.is_classification and classes:
        kept = table.kept
        aggregates += [count_where(kept & (value == F.lit(c)), f"class:{c}") for c in classes]
        outside = kept & ~value.isin(list(classes))
        aggregates += [count_where(outside, "outside"), first_where(outside, value.cast("string"), "outside_example")]
    return aggregates


def count_where(condition: SparkColumn, alias: str) -> SparkColumn:
    return F.count(F.when(condition, 1)).alias(alias)


def first_where(condition: SparkColumn, value: SparkColumn, alias: str) -> SparkColumn:
    return F.first(F.when(condition, value), ignorenulls=True).alias(alias)


def collect_one(frame: DataFrame, uri: str) -> dict[str, Any]:
    """The single row of an aggregate; malformed CSV surfaces here, when Spark first parses the files."""
    try:
        return frame.collect()[0].asDict()
    except Py4JJavaError as error:
        message = str(error)
        for known, meaning in MALFORMED_CSV.items():
            if known in message:
                # Spark's own text names the line or the file; it ends where the Java stack trace begins.
                detail = message[message.index(known) :].split("\n\tat ", 1)[0]
                raise StepError(f"{uri}: malformed CSV, {meaning} ({' '.join(detail.split())})") from None
        raise


def problem(table: Table, column: Column, what: str, count: int, example: Any, fix: str) -> StepError:
    return StepError(f"{table.uri}: column {column.name}: {what} in {count} row(s), e.g. {example}; {fix}")


def check_table(table: Table, counts: dict[str, Any], contract: Contract) -> None:
    """Fail on the first problem the counts show; log what cleaning will do."""
    if counts["rows"] == 0:
        raise StepError(f"{table.uri}: no rows (the files hold a header only)")
    if counts.get("undecodable"):
        encoding = table.source.encoding
        raise StepError(
            f"{table.uri}: {counts['undecodable']} row(s) hold bytes that are not valid {encoding}, e.g. in "
            f"{counts['file']}; save the files as {encoding}, or declare the source's encoding (e.g. latin-1) "
            "in the data contract"
        )
    for column in table.columns:
        check_column(table, column, counts)
    if table.key is not None and counts["keyless"] == counts["rows"]:
        raise StepError(f"{table.uri}: column {table.key.name}: empty in all {counts['rows']} rows; each row needs one")
    if table.label is not None:
        check_label(table, counts, contract)
    log_cleaning(table, counts)


def check_column(table: Table, column: Column, counts: dict[str, Any]) -> None:
    name = column.safe_name
    if counts.get(f"unreadable:{name}"):
        what, fix = TYPE_RULES[column.type]
        fix = f"{fix}, or change the column's type in the data contract"
        raise problem(table, column, f"must be {what}", counts[f"unreadable:{name}"], repr(counts[f"e:{name}"]), fix)
    if counts.get(f"missing:{name}"):
        key = counts.get(f"key:{name}")
        example = f"the row with {table.key.name} {key!r}" if key is not None else f"a row of {counts[f'in:{name}']}"
        fix = "fill it in, or declare the column nullable: true in the data contract"
        raise problem(table, column, "must not be empty", counts[f"missing:{name}"], example, fix)
    if counts.get(f"breaks:{name}") and column.on_violation == "fail":
        what = f"must be {describe_rule(column)}"
        raise problem(table, column, what, counts[f"breaks:{name}"], repr(counts[f"b:{name}"]), MISSING_RULE_FIX)


def check_label(table: Table, counts: dict[str, Any], contract: Contract) -> None:
    """Training needs labels: of at least two classes (binary: exactly two) with enough rows each,
    or (regression) enough rows in all."""
    label, labelled = table.label, counts["labelled"]
    if labelled == 0:
        raise StepError(
            f"{table.uri}: column {label.name}: empty in all {counts['rows']} rows; training data needs labels"
        )
    if not contract.is_classification:
        if counts["kept"] < MIN_ROWS:
            raise StepError(
                f"{table.uri}: column {label.name}: {counts['kept']} labelled row(s), fewer than the {MIN_ROWS} "
                "training needs; add labelled rows"
            )
        return
    if counts.get("outside"):
        classes = schema.listing(list(contract.label.classes))
        what = f"must be one of the classes {classes}"
        example = repr(counts["outside_example"])
        raise problem(table, label, what, counts["outside"], example, "correct the labels, or declare label.classes")
    class_counts = (
        {c: counts[f"class:{c}"] for c in contract.label.classes} if contract.label.classes else count_classes(table)
    )
    present = {c: n for c, n in class_counts.items() if n}
    classes = ", ".join(map(str, class_counts))
    if len(present) < 2 or (contract.task == "binary" and len(present) != 2):
        held = ", ".join(map(str, present))
        needed = "both classes" if contract.task == "binary" else "two classes or more"
        raise StepError(
            f"{table.uri}: column {label.name}: holds only class {held} ({counts['kept']} rows): a classifier "
            f"needs examples of {needed} ({classes}); add rows of the other class(es)"
        )
    rare = {c: n for c, n in present.items() if n < MIN_ROWS_PER_CLASS}
    if rare:
        value, count = next(iter(rare.items()))
        raise StepError(
            f"{table.uri}: column {label.name}: class {value!r} in only {count} row(s); each class needs at least "
            f"{MIN_ROWS_PER_CLASS} to be in both the training and the test split; add rows of it"
        )
    for value in class_counts:
        if value not in present:
            log.warning(
                "%s: column %s: no row of class %r; the model will never predict it", table.uri, label.name, value
            )


def count_classes(table: Table) -> dict[Any, int]:
    """Rows per label value, for a label whose classes the contract does not list (one more pass)."""
    value = table.value(table.label)
    rows = table.rows.where(table.kept).groupBy(value.alias("class")).count().limit(1000).collect()
    return {row["class"]: row["count"] for row in sorted(rows, key=lambda row: str(row["class"]))}


def log_cleaning(table: Table, counts: dict[str, Any]) -> None:
    for column in table.ruled("null", "drop"):
        broken = counts[f"breaks:{column.safe_name}"]
        if broken:
            did = "became missing" if column.on_violation == "null" else "dropped their rows"
            log.warning(
                "%s: column %s: %d value(s) not %s (e.g. %r) %s (on_violation: %s)",
                table.uri,
                column.name,
                broken,
                describe_rule(column),
                counts[f"b:{column.safe_name}"],
                did,
                column.on_violation,
            )
    if table.key is not None:
        log_dropped(counts["keyless"], f"without {table.key.name}", table.uri)
    if table.label is not None:
        log_dropped(counts["rows"] - counts["labelled"], f"without {table.label.name}", table.uri)


def log_dropped(count: int, what: str, uri: str) -> None:
    if count:
        log.warning("Dropped %d %s row(s) of %s", count, what, uri)


# --------------------------------------------------------------------------- keys and joins


def check_keys(tables: list[Table], kept: dict[str, int]) -> None:
    """One key in two rows that differ is an error (which of them is right?); so are more main rows
    whose join key has no match than the join allows. Exact duplicates are dropped.

    ``kept``: per source (uri), the rows cleaning keeps before dropping duplicates.
    """
    main, others = tables[0], tables[1:]
    for table in others:
        check_unique(table, [], kept[table.uri])
    check_unique(main, [table for table in others if table.source.join is not None], kept[main.uri])


def check_unique(table: Table, joins: list[Table], kept: int) -> None:
    """One pass over a source's cleaned rows: keys in differing rows and (main source) unmatched join keys."""
    distinct = table.cleaned
    if table.key is None:
        log_dropped(kept - distinct.count(), "duplicate", table.uri)
        return
    key = table.key.safe_name
    join_keys = sorted({j.source.join.key for j in joins} - {key})
    per_key = distinct.groupBy(key).agg(F.count(F.lit(1)).alias("_rows"), *(F.first(k).alias(k) for k in join_keys))
    for number, other in enumerate(joins):
        join_key = other.source.join.key
        # The keys alone, not the cleaned rows: a smaller shuffle than the rows' deduplication.
        keys = other.rows.where(other.kept).select(other.value(other.source.column(join_key)).alias(join_key))
        matched = keys.distinct().withColumn(f"_matched_{number}", F.lit(True))
        per_key = per_key.join(matched, on=join_key, how="left")
    repeated = F.col("_rows") > 1
    aggregates = [
        F.sum("_rows").alias("distinct"),
        F.sum(F.when(repeated, F.col("_rows"))).alias("conflicting"),
        first_where(repeated, F.col(key), "example"),
    ]
    for number, other in enumerate(joins):
        join_key = F.col(other.source.join.key)
        unmatched = join_key.isNotNull() & F.col(f"_matched_{number}").isNull()
        aggregates += [
            F.count(join_key).alias(f"keyed_{number}"),
            count_where(unmatched, f"unmatched_{number}"),
            first_where(unmatched, join_key.cast("string"), f"unmatched_example_{number}"),
        ]
    counts = collect_one(per_key.agg(*aggregates), table.uri)
    if counts["conflicting"]:
        raise problem(
            table,
            table.key,
            "one key in rows with different values",
            counts["conflicting"],
            repr(counts["example"]),
            f"keep one row per {table.key.name} (exact duplicate rows are dropped)",
        )
    for number, other in enumerate(joins):
        check_matches(table, other, counts, number)
    log_dropped(kept - (counts["distinct"] or 0), "duplicate", table.uri)


def check_matches(main: Table, other: Table, counts: dict[str, Any], number: int) -> None:
    join = other.source.join
    keyed, unmatched = counts[f"keyed_{number}"], counts[f"unmatched_{number}"]
    if not unmatched:
        return
    share = unmatched / keyed
    column = main.source.column(join.key)
    if share > join.max_unmatched_share:
        raise problem(
            main,
            column,
            f"no match in source {other.source.name} ({share:.1%} of the {keyed} rows with a {column.name}; "
            f"join.max_unmatched_share allows {join.max_unmatched_share:.1%})",
            unmatched,
            repr(counts[f"unmatched_example_{number}"]),
            f"add the missing rows to {other.uri}, or raise join.max_unmatched_share in the data contract",
        )
    did = "kept without its columns (left join)" if join.how == "left" else "dropped (inner join)"
    log.warning(
        "%s: column %s: %d row(s) (%.1f%%) have no match in %s: %s",
        main.uri,
        column.name,
        unmatched,
        100 * share,
        other.uri,
        did,
    )


def join_tables(tables: list[Table]) -> DataFrame:
    joined = tables[0].cleaned
    for table in tables[1:]:
        join = table.source.join
        joined = joined.join(table.cleaned, on=join.key, how=join.how)
    return joined


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class Features:
    """The feature table before the write: features as their expressions give them, and the
    conditions under which each becomes missing (outside its range, not a finite number)."""

    raw: DataFrame
    columns: tuple[Column, ...]
    dropped: dict[str, tuple[Feature, SparkColumn]]  # feature name -> (feature, condition)

    def observed(self, observation: Observation) -> DataFrame:
        """The table to write; ``observation`` gets its row count and what became missing, counted
        during the write rather than in a pass of their own."""
        metrics = [count_where(condition, name) for name, (_, condition) in self.dropped.items()]
        frame = self.raw.observe(observation, F.count(F.lit(1)).alias("rows"), *metrics)
        return frame.select(
            *(
                F.when(~self.dropped[c.safe_name][1], F.col(c.safe_name)).alias(c.safe_name)
                if c.safe_name in self.dropped
                else F.col(c.safe_name)
                for c in self.columns
            )
        )

    def log_nulls(self, counts: dict[str, Any]) -> None:
        for name, (feature, _) in self.dropped.items():
            if counts[name]:
                log.warning("Feature %s: %d value(s) %s became missing", name, counts[name], feature_rule(feature))


def feature_rule(feature: Feature) -> str:
    limits = [
        f"below {feature.min}" if feature.min is not None else "",
        f"above {feature.max}" if feature.max is not None else "",
    ]
    if feature.type == "double":
        limits.append("not finite")
    return " or ".join(limit for limit in limits if limit)


def derive_features(contract: Contract, joined: DataFrame, use_type: schema.UseType) -> Features:
    """One row per main row: the id, each feature (its expression cast to its type), the label."""
    columns = contract.feature_table_columns(use_type)
    by_name = {feature.name: feature for feature in contract.features}
    values = [feature_value(by_name[c.safe_name]) if c.safe_name in by_name else F.col(c.safe_name) for c in columns]
    try:
        raw = joined.select(*(value.alias(c.safe_name) for value, c in zip(values, columns, strict=True)))
    except AnalysisException:
        for feature in contract.features:
            try_feature(joined, feature)
        raise
    dropped = {}
    for feature in contract.features:
        condition = drops_feature(feature, F.col(feature.name))
        if condition is not None:
            dropped[feature.name] = (feature, F.coalesce(condition, F.lit(False)))
    return Features(raw, columns, dropped)


def feature_value(feature: Feature) -> SparkColumn:
    # The line break ends a trailing -- comment of the expression.
    try:
        return F.expr(f"try_cast(({feature.expression}\n) AS {SPARK_TYPES[feature.type]})")
    except AnalysisException as error:
        raise expression_error(feature, error) from None


def try_feature(joined: DataFrame, feature: Feature) -> None:
    try:
        joined.select(feature_value(feature))
    except AnalysisException as error:
        raise expression_error(feature, error) from None


def expression_error(feature: Feature, error: AnalysisException) -> StepError:
    reason = " ".join(str(error).strip().splitlines()[0].split())
    return StepError(
        f"data contract: feature {feature.name}: Spark cannot evaluate the expression {feature.expression!r} "
        f"({reason}); fix it in the data contract (expressions use the columns' safe names)"
    )


def drops_feature(feature: Feature, value: SparkColumn) -> SparkColumn | None:
    conditions: list[SparkColumn] = []
    if feature.min is not None:
        conditions.append(value < F.lit(feature.min))
    if feature.max is not None:
        conditions.append(value > F.lit(feature.max))
    if feature.type == "double":
        conditions.append(~(F.abs(value) <= F.lit(FLOAT32_MAX)))
    return functools.reduce(operator.or_, conditions) if conditions else None


def write_partition(features: DataFrame, output_uri: str, execution_date: str) -> None:
    """Replace ``<output_uri>/execution_date=<date>/`` and leave other dates as they are.

    Spark writes into a staging directory and moves the files at commit, so a failed job
    leaves the previous partition in place.
    """
    features.sparkSession.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    (
        features.withColumn(schema.PARTITION_COLUMN, F.lit(execution_date))
        .write.mode("overwrite")
        .partitionBy(schema.PARTITION_COLUMN)
        .parquet(output_uri)
    )


if __name__ == "__main__":
    sys.exit(main())
