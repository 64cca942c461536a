"""etl.py on a local Spark: the feature table it writes, how it cleans, and what it refuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import schema, tables

import etl

DATE = "2024-06-01"


def arguments(raw: Path, output: Path, use_type: str = "train", date: str = DATE) -> list[str]:
    return ["--input-uri", str(raw), "--output-uri", str(output), "--execution-date", date, "--use-type", use_type]


def run_etl(raw: Path, output: Path, use_type: str = "train", date: str = DATE) -> int:
    return etl.main(arguments(raw, output, use_type, date))


def write_raw(directory: Path, bookings: pd.DataFrame, customers: pd.DataFrame) -> Path:
    for name, frame in (("bookings", bookings), ("customers", customers)):
        (directory / name).mkdir(parents=True, exist_ok=True)
        frame.to_csv(directory / name / "part-00000.csv", index=False)
    return directory


def read_partition(output: Path, date: str = DATE) -> pd.DataFrame:
    table = tables.read_table(output / f"execution_date={date}", "feature table")
    return table.sort_values(schema.ID_COLUMN).reset_index(drop=True)


@pytest.fixture
def raw_train(tmp_path, train_sample) -> Path:
    return write_raw(tmp_path / "raw", train_sample.bookings, train_sample.customers)


def test_arguments_are_checked_before_spark_starts():
    # A subprocess without a Spark session: a bad date must fail at once, not after JVM start-up.
    script = Path(etl.__file__)
    arguments = ["--input-uri", "in", "--output-uri", "out", "--execution-date", "2024-13-01", "--use-type", "train"]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    result = subprocess.run(
        [sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=60, env=environment
    )
    assert result.returncode == 2
    assert "--execution-date: '2024-13-01' is not a date written YYYY-MM-DD" in result.stderr
    assert "SparkSession" not in result.stderr


@pytest.mark.spark
def test_train_features_equal_those_the_data_was_generated_from(spark, raw_train, tmp_path, train_sample):
    output = tmp_path / "features"
    assert run_etl(raw_train, output) == 0

    written = read_partition(output)
    expected = train_sample.features.sort_values(schema.ID_COLUMN).reset_index(drop=True)
    assert tuple(written.columns) == schema.names(schema.feature_table_columns("train"))
    # The generator knows each booking's features; the ETL must rebuild them from the raw join.
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


@pytest.mark.spark
def test_each_run_replaces_only_its_own_date(spark, tmp_path, predict_sample):
    raw = write_raw(tmp_path / "raw", predict_sample.bookings, predict_sample.customers)
    output = tmp_path / "features"
    assert run_etl(raw, output, "predict", "2024-06-01") == 0
    first = read_partition(output, "2024-06-01")
    assert schema.LABEL.name not in first
    assert len(first) == len(predict_sample.bookings)

    # A later date with fewer bookings: the earlier partition stays as it was.
    write_raw(raw, predict_sample.bookings.head(10), predict_sample.customers)
    assert run_etl(raw, output, "predict", "2024-06-02") == 0
    assert len(read_partition(output, "2024-06-02")) == 10
    pd.testing.assert_frame_equal(read_partition(output, "2024-06-01"), first)

    # A failed rerun of the first date leaves its partition as it was too.
    (raw / "customers" / "part-00000.csv").write_text("")
    assert run_etl(raw, output, "predict", "2024-06-01") == 1
    pd.testing.assert_frame_equal(read_partition(output, "2024-06-01"), first)


@pytest.mark.spark
def test_cleaning_normalises_text_and_drops_unusable_rows(spark, tmp_path, train_sample):
    bookings = train_sample.bookings.head(6).copy()
    customers = train_sample.customers.copy()
    bookings.loc[0, "cabin"] = "  Economy "
    bookings.loc[0, "origin"] = bookings.loc[0, "origin"].lower()
    bookings.loc[1, schema.ID_COLUMN] = None  # no key: dropped
    bookings.loc[2, schema.LABEL.name] = None  # no label: dropped when training
    bookings.loc[3, "passengers"] = 0  # impossible: passengers and fare per passenger become missing
    bookings.loc[4, "days_to_departure"] = None  # recomputed from the dates
    duplicated = pd.concat([bookings, bookings.tail(1)], ignore_index=True)  # exact duplicate: dropped

    output = tmp_path / "features"
    assert run_etl(write_raw(tmp_path / "raw", duplicated, customers), output) == 0

    written = read_partition(output).set_index(schema.ID_COLUMN)
    expected = train_sample.features.head(6).set_index(schema.ID_COLUMN)
    kept = [bookings.loc[i, schema.ID_COLUMN] for i in (0, 3, 4, 5)]
    assert sorted(written.index) == sorted(kept)
    assert written.loc[kept[0], "cabin"] == "economy"
    assert written.loc[kept[0], "departs_from_home"] == expected.loc[kept[0], "departs_from_home"]
    assert pd.isna(written.loc[kept[1], "passengers"])
    assert pd.isna(written.loc[kept[1], "fare_per_passenger"])
    assert written.loc[kept[2], "days_to_departure"] == expected.loc[kept[2], "days_to_departure"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.spark
def test_missing_input_directory(spark, tmp_path, expect_failure, train_sample):
    raw = write_raw(tmp_path / "raw", train_sample.bookings, train_sample.customers)
    shutil.rmtree(raw / "customers")
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw, output), f"{raw}/customers: does not exist", outputs=(output,))


@pytest.mark.spark
def test_directory_without_csv_files(spark, raw_train, tmp_path, expect_failure):
    (raw_train / "bookings" / "part-00000.csv").rename(raw_train / "bookings" / "part-00000.txt")
    output = tmp_path / "features"
    expect_failure(
        etl.main, arguments(raw_train, output), f"{raw_train}/bookings: holds no .csv files", outputs=(output,)
    )


@pytest.mark.spark
def test_empty_file(spark, raw_train, tmp_path, expect_failure):
    (raw_train / "customers" / "part-00000.csv").write_text("")
    output = tmp_path / "features"
    expect_failure(
        etl.main, arguments(raw_train, output), f"{raw_train}/customers: the CSV files are empty", outputs=(output,)
    )


@pytest.mark.spark
def test_header_without_rows(spark, raw_train, tmp_path, expect_failure):
    header = ",".join(schema.names(schema.CUSTOMER_COLUMNS))
    (raw_train / "customers" / "part-00000.csv").write_text(header + "\n")
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw_train, output), f"{raw_train}/customers: no rows", outputs=(output,))


@pytest.mark.spark
def test_missing_and_extra_columns(spark, tmp_path, train_sample, expect_failure):
    bookings = train_sample.bookings.drop(columns=["fare"]).assign(coupon="X")
    raw = write_raw(tmp_path / "raw", bookings, train_sample.customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: missing column(s) fare; unexpected column(s) coupon",
        outputs=(output,),
    )


@pytest.mark.spark
def test_label_column_in_predict_data_is_unexpected(spark, raw_train, tmp_path, expect_failure):
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output, "predict"),
        f"{raw_train}/bookings: unexpected column(s) {schema.LABEL.name}",
        outputs=(output,),
    )


@pytest.mark.spark
def test_wrong_types(spark, tmp_path, train_sample, expect_failure):
    bookings = train_sample.bookings.astype({"fare": object})
    bookings.loc[[3, 7], "fare"] = "twelve"
    raw = write_raw(tmp_path / "raw", bookings, train_sample.customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: column fare must be a number, found 'twelve' in 2 row(s)",
        outputs=(output,),
    )


@pytest.mark.spark
def test_unreadable_date(spark, tmp_path, train_sample, expect_failure):
    customers = train_sample.customers.copy()
    customers.loc[0, "signup_date"] = "01/02/2020"
    raw = write_raw(tmp_path / "raw", train_sample.bookings, customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/customers: column signup_date must be a date written YYYY-MM-DD, found '01/02/2020'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_all_null_target(spark, tmp_path, train_sample, expect_failure):
    raw = write_raw(tmp_path / "raw", train_sample.bookings.assign(bought_bag=None), train_sample.customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: column bought_bag is all null ({len(train_sample.bookings)} rows)",
        outputs=(output,),
    )


@pytest.mark.spark
def test_single_class_target(spark, tmp_path, train_sample, expect_failure):
    raw = write_raw(tmp_path / "raw", train_sample.bookings.assign(bought_bag=0), train_sample.customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: column bought_bag holds only class 0",
        "needs examples of both classes",
        outputs=(output,),
    )


@pytest.mark.spark
def test_label_outside_zero_and_one(spark, tmp_path, train_sample, expect_failure):
    bookings = train_sample.bookings.copy()
    bookings.loc[5, schema.LABEL.name] = 2
    raw = write_raw(tmp_path / "raw", bookings, train_sample.customers)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: column bought_bag must be 0 or 1, found 2",
        outputs=(output,),
    )


@pytest.mark.spark
def test_one_key_in_two_different_rows(spark, tmp_path, train_sample, expect_failure):
    customers = train_sample.customers.copy()
    other_tier = "platinum" if customers.loc[0, "loyalty_tier"] != "platinum" else "none"
    conflicting = customers.head(1).assign(loyalty_tier=other_tier)
    raw = write_raw(tmp_path / "raw", train_sample.bookings, pd.concat([customers, conflicting]))
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/customers: customer_id '{customers.loc[0, 'customer_id']}' and 0 other(s) occur in rows",
        outputs=(output,),
    )


@pytest.mark.spark
def test_line_with_more_fields_than_the_header(spark, raw_train, tmp_path, expect_failure):
    customers_csv = raw_train / "customers" / "part-00000.csv"
    customers_csv.write_text(customers_csv.read_text() + "C99999999,gold,LHR,25-34,2020-01-01,3,surplus\n")
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/customers: malformed CSV, a line has more or fewer fields than the header",
        "C99999999",
        outputs=(output,),
    )


@pytest.mark.spark
def test_files_with_different_headers(spark, raw_train, tmp_path, train_sample, expect_failure):
    reordered = train_sample.customers[list(reversed(train_sample.customers.columns))].head(5)
    reordered.to_csv(raw_train / "customers" / "part-00001.csv", index=False)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/customers: malformed CSV, the CSV files do not all have the same header",
        f"CSV file: file://{raw_train}/customers/part-0000",
        outputs=(output,),
    )
