"""The airline example's sample data: bookings of members and guests, customers shared by train and predict data."""

from __future__ import annotations

import hashlib

import pandas as pd

from {{ cookiecutter.package_name }} import sample_data, schema
from {{ cookiecutter.package_name }}.example import airline_sample

# The files of 150 training bookings, seed 3, as the generator has written them since it was
# first published: any change to them changes every benchmark and documented figure.
PUBLISHED_SHA256 = {
    "bookings/part-00000.csv": "0858537c59ebe5041bea68c0b4b7645a3b88e3606d63599b8e42e07a6da6adf9",
    "customers/part-00000.csv": "ce104acb0d941962740ea93f7a7de57c50db66005c320b106739599fe074d440",
}


def test_the_contract_names_this_generator():
    assert schema.contract().sample_generator == airline_sample.__name__


def test_the_written_files_are_the_published_bytes(tmp_path):
    assert sample_data.main(["--use-type", "train", "--rows", "150", "--seed", "3", "--output-dir", str(tmp_path)]) == 0
    written = {
        path.relative_to(tmp_path).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tmp_path.rglob("*.csv"))
    }
    assert written == PUBLISHED_SHA256


def test_member_bookings_name_known_customers_and_a_few_are_guests(train_sample):
    bookings, customers = train_sample.sources["bookings"], train_sample.sources["customers"]
    assert bookings["booking_id"].is_unique
    assert customers["customer_id"].is_unique
    assert bookings["customer_id"].dropna().isin(customers["customer_id"]).all()
    assert 0 < bookings["customer_id"].isna().sum() < len(bookings) / 4


def test_train_and_predict_data_share_customers_but_not_bookings(train_sample, predict_sample):
    # The predict sample is smaller: its members are the first ones of the training sample.
    shared = train_sample.sources["customers"].head(len(predict_sample.sources["customers"]))
    pd.testing.assert_frame_equal(predict_sample.sources["customers"], shared)
    train_ids = set(train_sample.sources["bookings"]["booking_id"])
    assert train_ids.isdisjoint(predict_sample.sources["bookings"]["booking_id"])


def test_files_hold_at_most_a_file_of_bookings_each_and_match_generate(tmp_path, monkeypatch):
    monkeypatch.setattr(airline_sample, "ROWS_PER_FILE", 100)
    sample_data.write_sample_data(tmp_path, "train", rows=250, seed=5)

    parts = sorted((tmp_path / "bookings").glob("*.csv"))
    assert [part.name for part in parts] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    written = pd.concat([pd.read_csv(part) for part in parts], ignore_index=True)
    expected = sample_data.generate("train", rows=250, seed=5).sources["bookings"]
    assert written["booking_id"].tolist() == expected["booking_id"].tolist()
    assert written["bought_bag"].tolist() == expected["bought_bag"].tolist()


def test_about_a_third_of_bookings_add_a_bag(train_sample):
    assert set(train_sample.features["bought_bag"]) == {0, 1}
    assert 0.25 < train_sample.features["bought_bag"].mean() < 0.45
