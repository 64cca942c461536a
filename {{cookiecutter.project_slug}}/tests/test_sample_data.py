"""The sample-data generator: deterministic, shaped by the data contract, and with a learnable label.

Generic: every test reads the contract (or builds a small one), so they hold for every
starter and task. Tests of the generic generator call it directly, even where the project's
contract names its own generator.
"""

from __future__ import annotations

import dataclasses
import datetime
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import f1_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import sample_data, schema
from {{ cookiecutter.package_name }}.contract import Contract
from {{ cookiecutter.package_name }}.errors import StepError

PROJECT_DIR = Path(__file__).resolve().parents[1]
PACKAGE = sample_data.__name__.split(".")[0]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return schema.contract()


@pytest.fixture(scope="module")
def generic_contract(contract) -> Contract:
    """The project's contract without its own generator: what the generic generator makes of it."""
    return dataclasses.replace(contract, sample_generator=None)


def written_files(directory: Path) -> list[Path]:
    return sorted(path.relative_to(directory) for path in directory.rglob("*") if path.is_file())


def small_contract(
    columns: list[dict], label: dict, task: str = "binary", id_type: str = "string", **source: object
) -> Contract:
    data = {
        "task": task,
        "id": "Row ID",
        "label": label,
        "sources": [{"name": "rows", "columns": [{"name": "Row ID", "type": id_type, "nullable": False}, *columns]}],
    }
    data["sources"][0].update(source)
    return data_contract.parse(data, "test contract")


# ---------------------------------------------------------------------- files


def test_same_seed_same_bytes_in_another_process_other_seed_other_data(tmp_path, contract):
    arguments = ["--use-type", "train", "--rows", "150", "--seed"]
    assert sample_data.main([*arguments, "3", "--output-dir", str(tmp_path / "first")]) == 0
    assert sample_data.main([*arguments, "4", "--output-dir", str(tmp_path / "other")]) == 0
    # Another process: nothing may depend on Python's per-process hash salt.
    subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.sample_data", *arguments, "3", "--output-dir", str(tmp_path / "again")],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")},
    )

    files = written_files(tmp_path / "first")
    assert files == [Path(source.name) / f"part-00000.{source.format}" for source in contract.sources]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "first", tmp_path / "again", files, shallow=False)
    assert mismatch == errors == []
    main_file = files[0]
    assert (tmp_path / "first" / main_file).read_bytes() != (tmp_path / "other" / main_file).read_bytes()


def read_source(directory: Path, source: data_contract.Source) -> pd.DataFrame:
    parts = sorted((directory / source.name).glob(f"part-*.{source.format}"))
    if source.format == "parquet":
        return pd.concat([pq.read_table(part).to_pandas() for part in parts], ignore_index=True)
    return pd.concat([pd.read_csv(part, encoding=source.encoding) for part in parts], ignore_index=True)


@pytest.mark.parametrize("use_type", schema.USE_TYPES)
def test_written_files_hold_the_contract_columns_one_row_per_id_and_matching_keys(tmp_path, contract, use_type):
    sample_data.write_sample_data(tmp_path, use_type, rows=120, seed=1)
    frames = {source.name: read_source(tmp_path, source) for source in contract.sources}

    label = contract.label.column
    for source in contract.sources:
        assert list(frames[source.name].columns) == [c.name for c in source.columns_for(use_type, label)]
    main = frames[contract.main.name].rename(columns={c.name: c.safe_name for c in contract.main.columns})
    assert len(main) == 120
    assert main[contract.id_column].notna().all()
    assert main[contract.id_column].is_unique
    for source in contract.sources[1:]:
        joined = frames[source.name].rename(columns={c.name: c.safe_name for c in source.columns})
        key = source.join.key
        assert joined[key].notna().all()
        assert joined[key].is_unique
        assert main[key].dropna().isin(joined[key]).all()


def test_only_training_data_carries_the_label(train_sample, predict_sample, contract):
    label = contract.label_column.name
    assert label in train_sample.sources[contract.main.name]
    assert label not in predict_sample.sources[contract.main.name]
    assert contract.label.column not in predict_sample.features
    assert train_sample.sources[contract.main.name][label].notna().all()


def test_train_and_predict_ids_differ(train_sample, predict_sample, contract):
    id_name = contract.main.column(contract.id_column).name
    train_ids = train_sample.sources[contract.main.name][id_name]
    predict_ids = predict_sample.sources[contract.main.name][id_name]
    assert set(train_ids).isdisjoint(predict_ids)


def test_files_are_split_by_rows_and_match_generate(tmp_path, monkeypatch, generic_contract):
    monkeypatch.setattr(sample_data, "ROWS_PER_FILE", 100)
    sample_data.write_sample_data(tmp_path, "train", rows=250, seed=5, contract=generic_contract)

    main = generic_contract.main
    parts = sorted((tmp_path / main.name).iterdir())
    assert [part.name for part in parts] == [f"part-0000{n}.{main.format}" for n in range(3)]
    written = read_source(tmp_path, main)
    expected = sample_data.generate("train", rows=250, seed=5, contract=generic_contract).sources[main.name]
    for column in (main.column(generic_contract.id_column), generic_contract.label_column):
        assert written[column.name].tolist() == expected[column.name].tolist()


# ---------------------------------------------------------------------- the generic generator


def test_generic_values_follow_the_declared_types_values_ranges_and_nullability(generic_contract):
    data = sample_data.generate("train", 400, seed=2, contract=generic_contract)
    missing_somewhere = False
    keys = {generic_contract.id_column, generic_contract.label.column}
    keys |= {s.join.key for s in generic_contract.sources if s.join}
    for source in generic_contract.sources:
        frame = data.sources[source.name]
        for column in source.columns:
            values = frame[column.name]
            present = values.dropna()
            assert column.nullable or values.notna().all(), f"{source.name}.{column.name} has missing values"
            if column.nullable and column.safe_name not in keys:
                assert values.isna().mean() < 0.1, f"{source.name}.{column.name}: too many missing values"
                missing_somewhere |= bool(values.isna().any())
            if column.values:
                assert set(present) <= set(column.values), f"{source.name}.{column.name}"
            if column.type == "date":
                dates = present.map(datetime.date.fromisoformat)
                assert column.min is None or dates.min() >= datetime.date.fromisoformat(column.min)
                assert column.max is None or dates.max() <= datetime.date.fromisoformat(column.max)
            elif column.is_numeric:
                assert pd.api.types.is_numeric_dtype(values), f"{source.name}.{column.name} is {values.dtype}"
                assert column.min is None or present.min() >= column.min, f"{source.name}.{column.name} below min"
                assert column.max is None or present.max() <= column.max, f"{source.name}.{column.name} above max"
                if column.type == "integer":
                    assert (present == present.round()).all()
            else:
                assert present.map(type).eq(str).all(), f"{source.name}.{column.name} is not text"
    assert missing_somewhere == any(
        c.nullable and c.safe_name not in keys for s in generic_contract.sources for c in s.columns
    )


def test_generic_labels_are_the_contract_classes_in_the_declared_type(generic_contract):
    main = sample_data.generate("train", 400, seed=3, contract=generic_contract).sources[generic_contract.main.name]
    label = main[generic_contract.label_column.name]
    assert label.notna().all()
    if generic_contract.task == "regression":
        assert pd.api.types.is_float_dtype(label) or pd.api.types.is_integer_dtype(label)
        assert label.nunique() > 50
        return
    classes = set(label)
    if generic_contract.task == "binary":
        assert generic_contract.label.positive_class in classes
        assert len(classes) == 2
    else:
        assert len(classes) >= 3
    if generic_contract.label.classes:
        assert classes <= set(generic_contract.label.classes)
    # No class so rare that a stratified 80/20 split of these rows leaves it out of either part.
    assert label.value_counts().min() >= 5 * data_contract.MIN_ROWS_PER_CLASS


def one_hot(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    inputs = frame[list(contract.feature_names)].astype(dict.fromkeys(contract.categorical_features, object))
    return pd.get_dummies(inputs, dummy_na=True).astype(float).fillna(-1.0)


def test_the_label_is_learnable_well_above_the_default_quality_gate(contract):
    table = sample_data.generate("train", 2000, seed=11).features
    label = table[contract.label.column]
    stratify = label if contract.is_classification else None
    train_x, test_x, train_y, test_y = train_test_split(
        one_hot(table, contract), label, test_size=0.2, random_state=0, stratify=stratify
    )
    if contract.task == "regression":
        model = RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0).fit(train_x, train_y)
        assert r2_score(test_y, model.predict(test_x)) > 0.65
        return
    model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(train_x, train_y)
    if contract.task == "binary":
        positive = list(model.classes_).index(contract.label.positive_class)
        scores = model.predict_proba(test_x)[:, positive]
        assert roc_auc_score(test_y == contract.label.positive_class, scores) > 0.78
    else:
        assert f1_score(test_y, model.predict(test_x), average="macro") > 0.6


def test_expected_features_are_the_sources_in_safe_names(generic_contract):
    data = sample_data.generate("train", 50, seed=4, contract=generic_contract)
    derived = [f.name for f in generic_contract.features if f.expression != f"`{f.name}`"]
    if derived:
        with pytest.raises(StepError, match="are expressions: run the ETL"):
            data.features  # noqa: B018 (the property raises)
        return
    assert tuple(data.features.columns) == schema.names(generic_contract.feature_table_columns("train"))
    assert data.features[generic_contract.id_column].tolist() == (
        data.sources[generic_contract.main.name][generic_contract.main.column(generic_contract.id_column).name].tolist()
    )


# ---------------------------------------------------------------------- small contracts


def test_an_integer_label_without_classes_is_zero_or_one_and_an_integer_id_is_unique():
    contract = small_contract(
        [{"name": "Amount", "type": "double", "min": 0, "max": 50}, {"name": "Flag", "type": "integer"}],
        {"column": "Flag", "positive_class": 1},
        id_type="integer",
    )
    train = sample_data.generate("train", 300, seed=1, contract=contract).sources["rows"]
    predict = sample_data.generate("predict", 300, seed=1, contract=contract).sources["rows"]

    assert set(train["Flag"]) == {0, 1}
    assert train["Row ID"].is_unique
    assert pd.api.types.is_integer_dtype(train["Row ID"])
    assert set(train["Row ID"]).isdisjoint(predict["Row ID"])
    assert train["Amount"].dropna().between(0, 50).all()


def test_a_multiclass_label_without_classes_gets_numbered_classes():
    contract = small_contract(
        [{"name": "Score", "type": "integer", "min": 1, "max": 9}, {"name": "Group", "type": "string"}],
        {"column": "Group"},
        task="multiclass",
    )
    label = sample_data.generate("train", 300, seed=1, contract=contract).sources["rows"]["Group"]
    assert set(label) == {"class_0", "class_1", "class_2"}


def test_a_source_joined_on_another_key_has_one_row_per_key_and_predict_shares_it():
    data = {
        "task": "regression",
        "id": "order_id",
        "label": {"column": "total"},
        "sources": [
            {
                "name": "orders",
                "columns": [
                    {"name": "order_id", "type": "string", "nullable": False},
                    {"name": "shop_id", "type": "string"},
                    {"name": "quantity", "type": "integer", "min": 1, "max": 20},
                    {"name": "total", "type": "double", "min": 0},
                ],
            },
            {
                "name": "shops",
                "join": {"key": "shop_id"},
                "columns": [
                    {"name": "shop_id", "type": "string", "nullable": False},
                    {"name": "size", "type": "string", "values": ["small", "large"]},
                    {"name": "opened", "type": "date", "min": "2010-01-01", "max": "2012-12-31"},
                ],
            },
        ],
    }
    contract = data_contract.parse(data, "test contract")
    train = sample_data.generate("train", 90, seed=1, contract=contract)
    predict = sample_data.generate("predict", 90, seed=1, contract=contract)

    shops = train.sources["shops"]
    assert len(shops) == 90 // sample_data.ROWS_PER_KEY
    assert shops["shop_id"].is_unique
    assert train.sources["orders"]["shop_id"].isin(shops["shop_id"]).all()
    pd.testing.assert_frame_equal(predict.sources["shops"], shops)
    opened = pd.to_datetime(shops["opened"].dropna())
    assert opened.min() >= pd.Timestamp("2010-01-01")
    assert opened.max() <= pd.Timestamp("2012-12-31")
    assert list(train.features.columns) == ["order_id", "quantity", "size", "total"]
    assert train.sources["orders"]["total"].min() >= 0


def test_parquet_sources_are_written_as_parquet_with_the_declared_types(tmp_path):
    contract = small_contract(
        [
            {"name": "Count", "type": "integer", "min": 0, "max": 5},
            {"name": "Day", "type": "date"},
            {"name": "Churned", "type": "string", "values": ["yes", "no"]},
        ],
        {"column": "Churned", "positive_class": "yes"},
        format="parquet",
    )
    sample_data.write_sample_data(tmp_path, "train", 40, seed=1, contract=contract)

    table = pq.read_table(tmp_path / "rows" / "part-00000.parquet")
    assert [str(field.type) for field in table.schema] == ["string", "int32", "date32[day]", "string"]
    assert table.num_rows == 40


def test_text_that_needs_quotes_and_other_encodings_are_written_as_pandas_would(tmp_path):
    contract = small_contract(
        [
            {"name": "Town, Region", "type": "string", "values": ["Zürich, ZH", 'Bern "BE"']},
            {"name": "Churned", "type": "string", "values": ["yes", "no"]},
        ],
        {"column": "Churned", "positive_class": "yes"},
        encoding="latin-1",
    )
    sample_data.write_sample_data(tmp_path, "train", 30, seed=1, contract=contract)

    written = pd.read_csv(tmp_path / "rows" / "part-00000.csv", encoding="latin-1")
    expected = sample_data.generate("train", 30, seed=1, contract=contract).sources["rows"]
    pd.testing.assert_frame_equal(written, expected.fillna(np.nan))


def test_rows_per_class_are_balanced_enough_for_a_stratified_split():
    contract = small_contract(
        [{"name": f"x{n}", "type": "double"} for n in range(4)] + [{"name": "Next", "type": "string"}],
        {"column": "Next", "classes": ["a", "b", "c", "d", "e"]},
        task="multiclass",
    )
    for seed in range(5):
        counts = sample_data.generate("train", 500, seed=seed, contract=contract).sources["rows"]["Next"].value_counts()
        assert len(counts) == 5
        assert counts.min() > 500 / 5 / 3, counts.to_dict()


# ---------------------------------------------------------------------- errors


def test_a_missing_generator_module_is_named(tmp_path, contract, monkeypatch, capsys):
    monkeypatch.setattr(schema, "contract", lambda: dataclasses.replace(contract, sample_generator="no.such.module"))
    code = sample_data.main(["--use-type", "train", "--rows", "5", "--output-dir", str(tmp_path / "raw")])
    assert code == 1
    assert "sample_generator: module 'no.such.module' not found" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_bad_row_count_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample_data.main(["--use-type", "train", "--rows", "0", "--output-dir", str(tmp_path / "raw")])
    assert exit_info.value.code == 2
    assert "--rows: '0' is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_nothing_is_written_when_generation_fails(tmp_path, generic_contract, monkeypatch):
    def fail(*_: object) -> None:
        raise StepError("disk full")

    (tmp_path / "raw" / generic_contract.main.name).mkdir(parents=True)
    (tmp_path / "raw" / generic_contract.main.name / "keep.csv").write_text("old", encoding="utf-8")
    monkeypatch.setattr(sample_data, "write_source_file", fail)
    with pytest.raises(StepError, match="disk full"):
        sample_data.write_sample_data(tmp_path / "raw", "train", 10, contract=generic_contract)
    assert written_files(tmp_path / "raw") == [Path(generic_contract.main.name) / "keep.csv"]
    assert np.all([not p.name.startswith(".") for p in (tmp_path / "raw").iterdir()])
