"""ETL (PySpark): raw bookings and customers CSV -> the feature table, Parquet by execution date.

    spark-submit --py-files production/packages/dist/{{ cookiecutter.package_name }}.zip \\
        production/code/etl.py \\
        --input-uri <root>/raw/train --output-uri <root>/features/train \\
        --execution-date 2024-06-01 --use-type train

Reads ``<input-uri>/bookings/*.csv`` and ``<input-uri>/customers/*.csv`` (local paths or
``s3://`` URIs), checks them against ``schema.py``, cleans, joins, derives the features,
and writes ``<output-uri>/execution_date=<date>/part-*.parquet``, replacing that date's
partition only. SageMaker runs the same file as a PySparkProcessor job with the package
zip as ``submit_py_files``; under spark-submit, its ``--master`` and configuration decide
where Spark runs.

Cleaning, every change logged with its row count:

* text is trimmed and empty text is missing; categories are lower-case, airport codes upper-case;
* rows without their key (booking_id, customer_id) and, when training, bookings without a
  label are dropped; exact duplicate rows are dropped;
* impossible numbers (negative fare or days, fewer than one passenger) become missing
  values, which the feature transformer imputes.

Refused with one error line: a missing or empty source, missing or unexpected columns,
values of the wrong type, one key with two different rows, a label that is not 0/1, is
all null, or holds one class only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the usual PySpark alias)

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.cli import configure_logging, iso_date, report
from {{ cookiecutter.package_name }}.errors import StepError

log = logging.getLogger("etl")

SPARK_TYPES = {"string": "STRING", "integer": "INT", "double": "DOUBLE", "date": "DATE"}
LOWER_CASE = ("cabin", "channel", "loyalty_tier", "age_band")
UPPER_CASE = ("origin", "destination", "home_airport")
# Spark's messages for CSV that does not fit the header it read first, and what they mean.
MALFORMED_CSV = {
    "Malformed records are detected": "a line has more or fewer fields than the header",
    "CSV header does not conform to the schema": "the CSV files do not all have the same header",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Raw bookings and customers -> feature table (Parquet).")
    parser.add_argument("--input-uri", required=True, help="holds bookings/ and customers/ (path or s3:// URI)")
    parser.add_argument("--output-uri", required=True, help="feature table root; gets execution_date=<date>/")
    parser.add_argument("--execution-date", required=True, type=iso_date, help="YYYY-MM-DD: the partition written")
    parser.add_argument("--use-type", required=True, choices=schema.USE_TYPES, help="train data carries the label")
    return parser.parse_args(argv)


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
    return 0


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
    bookings = read_source(spark, join_uri(input_uri, "bookings"), schema.booking_columns(use_type), schema.ID_COLUMN)
    customers = read_source(spark, join_uri(input_uri, "customers"), schema.CUSTOMER_COLUMNS, "customer_id")
    features = derive_features(clean(bookings), clean(customers), use_type)
    write_partition(features, output_uri, execution_date)
    partition = join_uri(output_uri, f"{schema.PARTITION_COLUMN}={execution_date}")
    log.info("Wrote the %s feature table to %s", use_type, partition)


def join_uri(uri: str, *parts: str) -> str:
    return "/".join((uri.rstrip("/"), *parts))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Source:
    """A raw source, read and checked."""

    uri: str
    key: str
    # Typed columns, not cached: the check, the cleaning and the write each parse the CSV
    # again, which costs less than building Spark's in-memory cache (measured: bench/).
    rows: DataFrame
    profile: dict[str, Any]  # counts from the check, see profile_columns()


def read_source(spark: SparkSession, uri: str, columns: tuple[schema.Column, ...], key: str) -> Source:
    """The CSV files under ``uri`` with the schema's column types, checked in one pass over the files."""
    raw = read_csv_text(spark, uri)
    check_header(raw.columns, columns, uri)
    typed = raw.select(
        *(F.expr(typed_sql(column)).alias(column.name) for column in columns),
        # The text beside each converted value tells an unreadable value from a missing one.
        *(F.expr(text_sql(c.name)).alias(f"_text_{c.name}") for c in columns if c.type != "string"),
    )
    profile = collect_one(typed.agg(*profile_columns(columns, key)), uri)
    check_profile(profile, columns, key, uri)
    return Source(uri, key, typed.select(*schema.names(columns)), profile)


def read_csv_text(spark: SparkSession, uri: str) -> DataFrame:
    """Every column as text: types are checked by us, with errors that name the column."""
    # FAILFAST notices a line with too many or too few fields only where Spark parses lines in
    # full. By default it parses just the fields a query uses, and the check (the first pass
    # over the files) does not use them all.
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    try:
        return (
            spark.read.option("header", True)
            # Each file's header must match the first one's (else the columns would shift).
            .option("enforceSchema", False)
            .option("mode", "FAILFAST")
            .option("pathGlobFilter", "*.csv")
            .csv(uri)
        )
    except AnalysisException as error:
        if error.getErrorClass() == "PATH_NOT_FOUND":
            raise StepError(f"{uri}: does not exist; expected a directory of CSV files here") from None
        if error.getErrorClass() == "UNABLE_TO_INFER_SCHEMA":
            raise StepError(f"{uri}: holds no .csv files") from None
        raise


def check_header(found: list[str], columns: tuple[schema.Column, ...], uri: str) -> None:
    if not found:
        raise StepError(f"{uri}: the CSV files are empty (no header row)")
    expected = schema.names(columns)
    schema.check_names(found, expected, uri, fix=f"expected the columns {', '.join(expected)}")


def text_sql(name: str) -> str:
    """SQL for a text field without surrounding blanks, empty text being missing."""
    return f"nullif(trim(`{name}`), '')"


def typed_sql(column: schema.Column) -> str:
    """SQL converting a text field to the column's type: null where the text is missing or unreadable.

    try_cast gives null for unreadable text whatever spark.sql.ansi.enabled says.
    """
    text = text_sql(column.name)
    if column.type == "string":
        return text
    if column.type == "integer":
        # Whole numbers may come as "3.0", as pandas writes integer columns that have gaps.
        number = f"try_cast({text} AS DOUBLE)"
        return f"CASE WHEN {number} = floor({number}) THEN try_cast({number} AS INT) END"
    return f"try_cast({text} AS {SPARK_TYPES[column.type]})"


def profile_columns(columns: tuple[schema.Column, ...], key: str) -> list[SparkColumn]:
    """What the check counts: rows, rows with a key, unreadable values per column (with an
    example) and, for training bookings, the label's values and the rows cleaning keeps."""
    names = schema.names(columns)
    usable = F.col(key).isNotNull()
    aggregates = [F.count(F.lit(1)).alias("rows"), F.count(key).alias("keyed")]
    for column in columns:
        if column.type != "string":
            text = F.col(f"_text_{column.name}")
            unreadable = text.isNotNull() & F.col(column.name).isNull()
            aggregates += [
                F.count(F.when(unreadable, 1)).alias(f"unreadable_{column.name}"),
                F.first(F.when(unreadable, text), ignorenulls=True).alias(f"example_{column.name}"),
            ]
    if schema.LABEL.name in names:
        label = F.col(schema.LABEL.name)
        usable &= label.isNotNull()
        aggregates += [
            F.count(label).alias("labelled"),
            F.count(F.when(label == 1, 1)).alias("positives"),
            F.count(F.when(~label.isin(0, 1), 1)).alias("invalid_labels"),
            F.first(F.when(~label.isin(0, 1), label), ignorenulls=True).alias("example_label"),
        ]
    return [*aggregates, F.count(F.when(usable, 1)).alias("usable")]


def check_profile(profile: dict[str, Any], columns: tuple[schema.Column, ...], key: str, uri: str) -> None:
    if profile["rows"] == 0:
        raise StepError(f"{uri}: no rows (the CSV files hold a header only)")
    for column in columns:
        if profile.get(f"unreadable_{column.name}"):
            raise StepError(
                f"{uri}: column {column.name} must be {describe_type(column.type)}, found "
                f"{profile[f'example_{column.name}']!r} in {profile[f'unreadable_{column.name}']} row(s)"
            )
    if profile["keyed"] == 0:
        raise StepError(f"{uri}: column {key} is empty in all {profile['rows']} rows")
    if schema.LABEL.name in schema.names(columns):
        check_label(profile, uri)


def check_label(profile: dict[str, Any], uri: str) -> None:
    """Training needs labels, all 0 or 1, of both classes."""
    name, labelled, positives = schema.LABEL.name, profile["labelled"], profile["positives"]
    if labelled == 0:
        raise StepError(f"{uri}: column {name} is all null ({profile['rows']} rows): training data needs labels")
    if profile["invalid_labels"]:
        example, count = profile["example_label"], profile["invalid_labels"]
        raise StepError(f"{uri}: column {name} must be 0 or 1, found {example} in {count} row(s)")
    if positives in (0, labelled):
        raise StepError(
            f"{uri}: column {name} holds only class {1 if positives else 0} ({labelled} rows): "
            "a classifier needs examples of both classes (0 and 1)"
        )


def describe_type(column_type: str) -> str:
    return {"integer": "a whole number", "double": "a number", "date": "a date written YYYY-MM-DD"}[column_type]


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


# --------------------------------------------------------------------------- cleaning


def clean(source: Source) -> DataFrame:
    """Normalised text; no rows without key (or, when training, without label); no duplicate
    rows. A key in two rows that differ is an error: which of them is right?"""
    key, profile = source.key, source.profile
    training = schema.LABEL.name in source.rows.columns
    usable = source.rows.where(F.col(key).isNotNull())
    if training:
        usable = usable.where(F.col(schema.LABEL.name).isNotNull())
    distinct = normalise_text(usable).dropDuplicates()
    repeated = F.col("count") > 1
    distinct_rows, conflicting, example = (
        distinct.groupBy(key)
        .count()
        .agg(F.sum("count"), F.count(F.when(repeated, 1)), F.first(F.when(repeated, F.col(key)), ignorenulls=True))
        .collect()[0]
    )
    if conflicting:
        raise StepError(
            f"{source.uri}: {key} {example!r} and {conflicting - 1} other(s) occur in rows with different values"
        )
    log_dropped(profile["rows"] - profile["keyed"], f"without {key}", source.uri)
    if training:
        log_dropped(profile["rows"] - profile["labelled"], f"without {schema.LABEL.name}", source.uri)
    log_dropped(profile["usable"] - distinct_rows, "duplicate", source.uri)
    return distinct


def normalise_text(frame: DataFrame) -> DataFrame:
    """Categories compare in lower case; airport codes are upper-case IATA codes."""

    def normalised(name: str) -> SparkColumn:
        if name in LOWER_CASE:
            return F.lower(name).alias(name)
        if name in UPPER_CASE:
            return F.upper(name).alias(name)
        return F.col(name)

    return frame.select(*(normalised(name) for name in frame.columns))


def log_dropped(count: int, what: str, uri: str) -> None:
    if count:
        log.warning("Dropped %d %s row(s) of %s", count, what, uri)


# --------------------------------------------------------------------------- features


def derive_features(bookings: DataFrame, customers: DataFrame, use_type: schema.UseType) -> DataFrame:
    """One row per booking with the schema's feature-table columns, in its order and types."""
    joined = bookings.join(customers, on="customer_id", how="left")
    days = F.coalesce(F.col("days_to_departure"), F.datediff("departure_date", "booking_date"))
    passengers = F.when(F.col("passengers") >= 1, F.col("passengers"))
    derived = {
        "days_to_departure": F.when(days >= 0, days),
        "departure_month": F.month("departure_date"),
        # weekday(): 0 is Monday; the feature counts ISO-style from 1.
        "departure_weekday": F.weekday("departure_date") + 1,
        "passengers": passengers,
        "fare_per_passenger": F.when(F.col("fare") >= 0, F.col("fare") / passengers),
        "departs_from_home": (F.col("origin") == F.col("home_airport")).cast("int"),
        "customer_tenure_days": non_negative(F.datediff("booking_date", "signup_date")),
        "previous_bookings": non_negative(F.col("previous_bookings")),
    }
    return joined.select(
        *(
            derived.get(column.name, F.col(column.name)).cast(SPARK_TYPES[column.type]).alias(column.name)
            for column in schema.feature_table_columns(use_type)
        )
    )


def non_negative(value: SparkColumn) -> SparkColumn:
    return F.when(value >= 0, value)


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
