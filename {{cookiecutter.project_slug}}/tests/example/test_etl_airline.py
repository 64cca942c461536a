"""etl.py on the airline example's sample data: the contract's expressions rebuild the features the
generator drew, and its rules clean bookings and customers as the business expects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import sample_data, schema, tables

import etl

DATE = "2024-06-01"


def write_raw(directory: Path, sources: dict[str, pd.DataFrame]) -> Path:
    """The sources as the generator writes them: ``<directory>/<source>/part-00000.csv``."""
    for name, frame in sources.items():
        (directory / name).mkdir(parents=True, exist_ok=True)
        sample_data.write_source_file(schema.contract().source(name), frame, directory / name / "part-00000.csv")
    return directory


def arguments(raw: Path, output: Path, use_type: str = "train") -> list[str]:
    return ["--input-uri", str(raw), "--output-uri", str(output), "--execution-date", DATE, "--use-type", use_type]


def read_partition(output: Path) -> pd.DataFrame:
    table = tables.read_table(output / f"execution_date={DATE}", "feature table")
    return table.sort_values("booking_id").reset_index(drop=True)


@pytest.mark.spark
@pytest.mark.parametrize("use_type", ["train", "predict"])
def test_features_equal_those_the_data_was_generated_from(spark, tmp_path, train_sample, predict_sample, use_type):
    sample = train_sample if use_type == "train" else predict_sample
    output = tmp_path / "features"
    assert etl.main(arguments(write_raw(tmp_path / "raw", sample.sources), output, use_type)) == 0

    written = read_partition(output)
    expected = sample.features.sort_values("booking_id").reset_index(drop=True)
    assert tuple(written.columns) == schema.names(schema.feature_table_columns(use_type))
    # The generator knows each booking's features; the contract's expressions must rebuild them from the raw join.
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


@pytest.mark.spark
def test_cleaning_normalises_text_and_drops_unusable_rows(spark, tmp_path, train_sample):
    bookings = train_sample.sources["bookings"].head(6).copy()
    bookings.loc[0, "cabin"] = "  Economy "
    bookings.loc[0, "origin"] = bookings.loc[0, "origin"].lower()
    bookings.loc[1, "cabin"] = "first"  # not a cabin the contract knows: missing
    bookings.loc[2, "bought_bag"] = None  # no label: dropped when training
    bookings.loc[3, "passengers"] = 0  # impossible: passengers and fare per passenger become missing
    bookings.loc[4, "days_to_departure"] = None  # recomputed from the dates
    bookings.loc[5, "fare"] = -10.0  # impossible: fare per passenger becomes missing
    duplicated = pd.concat([bookings, bookings.tail(1)], ignore_index=True)  # exact duplicate: dropped
    # Both classes need rows enough for the split: the untouched bookings follow.
    rest = train_sample.sources["bookings"].iloc[6:]
    sources = {**train_sample.sources, "bookings": pd.concat([duplicated, rest], ignore_index=True)}

    output = tmp_path / "features"
    assert etl.main(arguments(write_raw(tmp_path / "raw", sources), output)) == 0

    written = read_partition(output).set_index("booking_id")
    expected = train_sample.features.set_index("booking_id")
    ids = list(bookings["booking_id"])
    assert ids[2] not in written.index
    assert len(written) == len(train_sample.features) - 1
    assert written.loc[ids[0], "cabin"] == "economy"
    assert written.loc[ids[0], "departs_from_home"] == expected.loc[ids[0], "departs_from_home"]
    assert pd.isna(written.loc[ids[1], "cabin"])
    assert pd.isna(written.loc[ids[3], "passengers"])
    assert pd.isna(written.loc[ids[3], "fare_per_passenger"])
    assert written.loc[ids[4], "days_to_departure"] == expected.loc[ids[4], "days_to_departure"]
    assert pd.isna(written.loc[ids[5], "fare_per_passenger"])


@pytest.mark.spark
def test_guest_bookings_have_no_customer_features(spark, tmp_path, train_sample):
    output = tmp_path / "features"
    assert etl.main(arguments(write_raw(tmp_path / "raw", train_sample.sources), output)) == 0

    written = read_partition(output).set_index("booking_id")
    bookings = train_sample.sources["bookings"].set_index("booking_id")
    guests = bookings.index[bookings["customer_id"].isna()]
    assert len(guests) > 0
    customer_features = ["loyalty_tier", "age_band", "departs_from_home", "customer_tenure_days", "previous_bookings"]
    assert written.loc[guests, customer_features].isna().all().all()


@pytest.mark.spark
def test_one_customer_in_two_different_rows(spark, tmp_path, train_sample, expect_failure):
    customers = train_sample.sources["customers"]
    other_tier = "platinum" if customers.loc[0, "loyalty_tier"] != "platinum" else "none"
    conflicting = customers.head(1).assign(loyalty_tier=other_tier)
    sources = {**train_sample.sources, "customers": pd.concat([customers, conflicting])}
    raw = write_raw(tmp_path / "raw", sources)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/customers: column customer_id: one key in rows with different values in 2 row(s), "
        f"e.g. '{customers.loc[0, 'customer_id']}'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_bookings_of_unknown_customers(spark, tmp_path, train_sample, expect_failure):
    # The contract allows 1% of member bookings without their customer: a lost customers file is refused.
    customers = train_sample.sources["customers"]
    sources = {**train_sample.sources, "customers": customers.iloc[: len(customers) // 2]}
    raw = write_raw(tmp_path / "raw", sources)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/bookings: column customer_id: no match in source customers (",
        "join.max_unmatched_share allows 1.0%",
        outputs=(output,),
    )
