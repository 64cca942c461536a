"""The sample-data generator: deterministic, shaped like the schema, and with a learnable label."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }} import features, sample_data, schema
from {{ cookiecutter.package_name }}.validation import conform_feature_table


def written_files(directory: Path) -> list[Path]:
    return sorted(path.relative_to(directory) for path in directory.rglob("*") if path.is_file())


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    for name, seed in (("first", 3), ("again", 3), ("other", 4)):
        assert (
            sample_data.main(
                ["--use-type", "train", "--rows", "150", "--seed", str(seed), "--output-dir", str(tmp_path / name)]
            )
            == 0
        )

    files = written_files(tmp_path / "first")
    assert files == [Path("bookings/part-00000.csv"), Path("customers/part-00000.csv")]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "first", tmp_path / "again", files, shallow=False)
    assert mismatch == errors == []
    assert (tmp_path / "first/bookings/part-00000.csv").read_bytes() != (
        tmp_path / "other/bookings/part-00000.csv"
    ).read_bytes()


@pytest.mark.parametrize("use_type", ["train", "predict"])
def test_csv_columns_follow_the_schema(tmp_path, use_type):
    sample_data.write_sample_data(tmp_path, use_type, rows=120, seed=1)
    bookings = pd.read_csv(tmp_path / "bookings/part-00000.csv")
    customers = pd.read_csv(tmp_path / "customers/part-00000.csv")

    assert tuple(bookings.columns) == schema.names(schema.booking_columns(use_type))
    assert tuple(customers.columns) == schema.names(schema.CUSTOMER_COLUMNS)
    assert len(bookings) == 120
    assert bookings[schema.ID_COLUMN].is_unique
    assert customers["customer_id"].is_unique
    # Every member booking names a known customer; guests have none.
    members = bookings["customer_id"].dropna()
    assert members.isin(customers["customer_id"]).all()
    assert 0 < bookings["customer_id"].isna().sum() < len(bookings) / 4


def test_only_training_data_carries_the_label(train_sample, predict_sample):
    assert schema.LABEL.name in train_sample.bookings
    assert schema.LABEL.name not in predict_sample.bookings
    assert schema.LABEL.name not in predict_sample.features
    assert set(train_sample.bookings[schema.LABEL.name]) == {0, 1}


def test_train_and_predict_data_share_customers_but_not_bookings(train_sample, predict_sample):
    # The predict sample is smaller: its members are the first ones of the training sample.
    shared = train_sample.customers.head(len(predict_sample.customers))
    pd.testing.assert_frame_equal(predict_sample.customers, shared)
    assert set(train_sample.bookings[schema.ID_COLUMN]).isdisjoint(predict_sample.bookings[schema.ID_COLUMN])


def test_files_are_split_by_rows_and_match_generate(tmp_path, monkeypatch):
    monkeypatch.setattr(sample_data, "ROWS_PER_FILE", 100)
    sample_data.write_sample_data(tmp_path, "train", rows=250, seed=5)

    parts = sorted((tmp_path / "bookings").glob("*.csv"))
    assert [part.name for part in parts] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    written = pd.concat([pd.read_csv(part) for part in parts], ignore_index=True)
    expected = sample_data.generate("train", rows=250, seed=5).bookings
    assert written[schema.ID_COLUMN].tolist() == expected[schema.ID_COLUMN].tolist()
    assert written[schema.LABEL.name].tolist() == expected[schema.LABEL.name].tolist()


def test_expected_feature_table_passes_the_feature_checks(train_sample):
    conformed = conform_feature_table(train_sample.features, "train", "sample")
    assert tuple(conformed.columns) == schema.names(schema.feature_table_columns("train"))
    assert 0.25 < conformed[schema.LABEL.name].mean() < 0.45


def test_label_is_learnable_well_above_the_default_gate():
    table = conform_feature_table(sample_data.generate("train", 2000, seed=11).features, "train", "sample")
    train, test = train_test_split(table, test_size=0.25, random_state=0, stratify=table[schema.LABEL.name])
    transformer, matrix = features.fit_transform(train)
    model = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0).fit(matrix, train[schema.LABEL.name])
    probabilities = model.predict_proba(features.transform(transformer, test))[:, 1]
    assert roc_auc_score(test[schema.LABEL.name], probabilities) > 0.78


def test_bad_row_count_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample_data.main(["--use-type", "train", "--rows", "0", "--output-dir", str(tmp_path / "raw")])
    assert exit_info.value.code == 2
    assert "--rows: '0' is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()
