"""etl.py on a local Spark, for any data contract: the feature table it writes, how it cleans, what it refuses.

The raw sources are small CSV files made here from the contract (valid values from each column's
declared values or range), so these tests hold for every starter and task.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import gzip
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }} import schema, tables
from {{ cookiecutter.package_name }}.contract import (
    MIN_ROWS,
    MIN_ROWS_PER_CLASS,
    Column,
    Contract,
    Feature,
    Join,
    Source,
)

import etl

DATE = "2024-06-01"
# Main rows: every class gets more than MIN_ROWS_PER_CLASS of them, the task more than MIN_ROWS.
ROWS = 48
# Rows of every other source: main rows take their join keys in turn.
OTHER_ROWS = 12


# --------------------------------------------------------------------------- raw data from the contract


def contract() -> Contract:
    return schema.contract()


def classes(of: Contract) -> tuple:
    label = of.label_column
    return of.label.classes or label.values or (of.label.positive_class, f"not-{of.label.positive_class}")


def key_text(column: Column, number: int) -> str:
    return f"{column.safe_name}-{number:04d}" if column.type == "string" else str(number + 1)


def valid_text(column: Column, number: int) -> str:
    """A value the column accepts, varying with ``number``; text in the case the contract does not ask for."""
    if column.values:
        text = str(column.values[number % len(column.values)])
    elif column.type == "string":
        text = f"{column.safe_name} {number}"
    elif column.type == "date":
        start = datetime.date.fromisoformat(str(column.min or "2024-01-01"))
        return (start + datetime.timedelta(days=number % 28)).isoformat()
    else:
        low = column.min if column.min is not None else 0
        high = column.max if column.max is not None else low + 1000
        if column.type == "integer":
            return str(math.ceil(low) + number % (math.floor(high) - math.ceil(low) + 1))
        return str(low + (number % 10) * (high - low) / 10)
    # Checks and features see the contract's case: the file need not use it.
    return {"lower": text.upper(), "upper": text.lower()}.get(column.case, text)


def row_texts(of: Contract, source: Source, number: int, use_type: str) -> dict[str, str]:
    """Row ``number`` of ``source``, by file column name."""
    own_keys = {source.primary_key, source.join.key if source.join else None}
    foreign_keys = {s.join.key for s in of.sources if s.join} - own_keys
    row = {}
    for column in source.columns_for(use_type, of.label.column):
        if column.safe_name in own_keys:
            text = key_text(column, number)
        elif column.safe_name in foreign_keys:
            text = key_text(column, number % OTHER_ROWS)
        elif column.safe_name == of.label.column and of.is_classification:
            text = str(classes(of)[number % len(classes(of))])
        else:
            text = valid_text(column, number)
        row[column.name] = text
    return row


def raw_rows(use_type: str = "train", of: Contract | None = None) -> dict[str, list[dict[str, str]]]:
    """Valid rows per source: ROWS main rows, OTHER_ROWS of each other source."""
    of = of or contract()
    return {
        source.name: [
            row_texts(of, source, number, use_type) for number in range(ROWS if source is of.main else OTHER_ROWS)
        ]
        for source in of.sources
    }


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header if header is not None else list(rows[0])
    with path.open("w", newline="", encoding=encoding) as stream:
        writer = csv.DictWriter(stream, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_raw(directory: Path, rows: dict[str, list[dict[str, str]]], of: Contract | None = None) -> Path:
    """``<directory>/<source>/part-00000.csv`` per source, in the source's encoding."""
    of = of or contract()
    for source in of.sources:
        header = [c.name for c in source.columns if any(c.name in row for row in rows[source.name][:1])]
        write_csv(directory / source.name / "part-00000.csv", rows[source.name], header, source.encoding)
    return directory


def arguments(raw: Path, output: Path, use_type: str = "train", date: str = DATE) -> list[str]:
    return ["--input-uri", str(raw), "--output-uri", str(output), "--execution-date", date, "--use-type", use_type]


def run_etl(raw: Path, output: Path, use_type: str = "train", date: str = DATE) -> int:
    return etl.main(arguments(raw, output, use_type, date))


def read_partition(output: Path, date: str = DATE) -> pd.DataFrame:
    table = tables.read_table(output / f"execution_date={date}", "feature table")
    return table.sort_values(contract().id_column).reset_index(drop=True)


def with_contract(monkeypatch, changed: Contract) -> Contract:
    """Run the ETL on ``changed`` instead of the project's contract."""
    monkeypatch.setattr(schema, "contract", lambda: changed)
    return changed


def change_column(of: Contract, source: Source, column: Column, **changes) -> Contract:
    columns = tuple(dataclasses.replace(c, **changes) if c == column else c for c in source.columns)
    changed = dataclasses.replace(source, columns=columns)
    return dataclasses.replace(of, sources=tuple(changed if s == source else s for s in of.sources))


def plain_columns(of: Contract) -> list[tuple[Source, Column]]:
    """Columns that are neither a key nor the label, in contract order."""
    keys = {of.id_column, of.label.column} | {k for s in of.sources for k in (s.primary_key, s.join and s.join.key)}
    return [(s, c) for s in of.sources for c in s.columns if c.safe_name not in keys]


def first_column(of: Contract, wanted, what: str) -> tuple[Source, Column]:
    found = [(s, c) for s, c in plain_columns(of) if wanted(c)]
    assert found, f"the data contract has no {what} column for this test"
    return found[0]


def set_text(rows: list[dict[str, str]], column: Column, numbers: tuple[int, ...], text: str) -> None:
    for number in numbers:
        rows[number][column.name] = text


@pytest.fixture
def raw_train(tmp_path) -> Path:
    return write_raw(tmp_path / "raw", raw_rows("train"))


# --------------------------------------------------------------------------- what it writes


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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--execution-date is empty: give a date (YYYY-MM-DD) or --execution-start to use its day"),
        (["--execution-start", "June 1st"], "--execution-start: 'June 1st' is not an ISO 8601 time"),
    ],
)
def test_an_empty_date_needs_the_execution_start(extra, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        etl.parse_args([*arguments(Path("in"), Path("out"), date=""), *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.spark
def test_an_empty_date_is_the_utc_day_the_execution_started(spark, raw_train, tmp_path):
    # What an execution started with the defaults passes: ExecutionDate "" and its StartDateTime.
    output, run_dir = tmp_path / "features", tmp_path / "run"
    start = ["--execution-start", "2024-06-02T01:30:00+02:00", "--run-dir", str(run_dir)]
    assert etl.main([*arguments(raw_train, output, date=""), *start]) == 0

    assert sorted(path.name for path in output.glob("execution_date=*")) == ["execution_date=2024-06-01"]
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8")) == {"execution_date": "2024-06-01"}


@pytest.mark.spark
def test_feature_table_of_valid_sources(spark, raw_train, tmp_path):
    output = tmp_path / "features"
    assert run_etl(raw_train, output) == 0

    of = contract()
    written = read_partition(output)
    assert tuple(written.columns) == schema.names(of.feature_table_columns("train"))
    main = raw_rows("train")[of.main.name]
    id_column = of.main.column(of.id_column)
    assert list(written[of.id_column]) == sorted(row[id_column.name] for row in main)
    # Features that are a column as it is hold the column's values, in the contract's case.
    by_id = {row[id_column.name]: row for row in main}
    for feature in of.features:
        if feature.expression.strip("`") in {c.safe_name for c in of.main.columns}:
            column = of.main.column(feature.expression.strip("`"))
            expected = [typed(column, by_id[key][column.name]) for key in written[of.id_column]]
            assert list(written[feature.name]) == expected, feature.name
    label = of.label_column
    expected_labels = [typed(label, by_id[key][label.name]) for key in written[of.id_column]]
    assert list(written[of.label.column]) == expected_labels


def typed(column: Column, text: str):
    if column.type == "string":
        return {"lower": text.lower(), "upper": text.upper()}.get(column.case, text)
    return float(text) if column.type == "double" else int(text) if column.type == "integer" else text


@pytest.mark.spark
def test_predict_data_may_carry_the_label(spark, tmp_path):
    # Predict data need not have the label; a copy of training data that has it is read without it.
    without = write_raw(tmp_path / "without", raw_rows("predict"))
    with_label = write_raw(tmp_path / "with", raw_rows("train"))
    assert run_etl(without, tmp_path / "a", "predict") == 0
    assert run_etl(with_label, tmp_path / "b", "predict") == 0

    written = read_partition(tmp_path / "a")
    assert tuple(written.columns) == schema.names(contract().feature_table_columns("predict"))
    assert len(written) == ROWS
    pd.testing.assert_frame_equal(read_partition(tmp_path / "b"), written)


@pytest.mark.spark
def test_each_run_replaces_only_its_own_date(spark, tmp_path):
    rows = raw_rows("predict")
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    assert run_etl(raw, output, "predict", "2024-06-01") == 0
    first = read_partition(output, "2024-06-01")

    # A later date with fewer main rows: the earlier partition stays as it was.
    main = contract().main.name
    write_raw(raw, {**rows, main: rows[main][:10]})
    assert run_etl(raw, output, "predict", "2024-06-02") == 0
    assert len(read_partition(output, "2024-06-02")) == 10
    pd.testing.assert_frame_equal(read_partition(output, "2024-06-01"), first)

    # A failed rerun of the first date leaves its partition as it was too.
    (raw / main / "part-00000.csv").write_text("")
    assert run_etl(raw, output, "predict", "2024-06-01") == 1
    pd.testing.assert_frame_equal(read_partition(output, "2024-06-01"), first)


@pytest.mark.spark
def test_cleaning_drops_unusable_rows_and_says_so(spark, tmp_path, monkeypatch, caplog):
    of = contract()
    # A nullable id and label (as a contract may declare them): rows without one are dropped rather than refused.
    of = change_column(of, of.main, of.main.column(of.id_column), nullable=True)
    of = with_contract(monkeypatch, change_column(of, of.main, of.label_column, nullable=True))
    rows = raw_rows("train", of)
    main = rows[of.main.name]
    id_name, label_name = of.main.column(of.id_column).name, of.label_column.name
    main[0][id_name] = "  "  # blank: no key
    main[1][label_name] = ""  # no label
    main.append(dict(main[2]))  # an exact duplicate
    padded = dict(main[3])
    text_column = next(c for c in of.main.columns if c.type == "string" and c.safe_name != of.id_column)
    main[3][text_column.name] = f"  {main[3][text_column.name]} "  # blanks around text: trimmed, then a duplicate
    main.append(padded)
    output = tmp_path / "features"
    with caplog.at_level(logging.WARNING, logger="etl"):
        assert run_etl(write_raw(tmp_path / "raw", rows, of), output) == 0

    written = read_partition(output)
    kept = sorted({row[id_name] for row in main} - {main[0][id_name], main[1][id_name]})
    assert list(written[of.id_column]) == kept
    uri = f"{tmp_path / 'raw'}/{of.main.name}"
    assert f"Dropped 1 without {id_name} row(s) of {uri}" in caplog.text
    assert f"Dropped 1 without {label_name} row(s) of {uri}" in caplog.text
    assert f"Dropped 2 duplicate row(s) of {uri}" in caplog.text


def range_column(of: Contract) -> tuple[Source, Column]:
    return first_column(of, lambda c: c.is_numeric and (c.min is not None or c.max is not None), "number with a range")


def beyond_range(column: Column) -> str:
    return str(column.min - 5 if column.min is not None else column.max + 5)


@pytest.mark.spark
@pytest.mark.parametrize("policy", ["null", "drop"])
def test_a_rule_breaking_value_becomes_missing_or_drops_its_row(spark, tmp_path, monkeypatch, caplog, policy):
    of = contract()
    source, column = range_column(of)
    of = with_contract(monkeypatch, change_column(of, source, column, on_violation=policy))
    rows = raw_rows("train", of)
    set_text(rows[source.name], column, (0, 1), beyond_range(column))
    output = tmp_path / "features"
    with caplog.at_level(logging.WARNING, logger="etl"):
        assert run_etl(write_raw(tmp_path / "raw", rows, of), output) == 0

    did = "became missing" if policy == "null" else "dropped their rows"
    assert f"column {column.name}: 2 value(s) not" in caplog.text
    assert f"{did} (on_violation: {policy})" in caplog.text
    written = read_partition(output)
    if policy == "drop" and source.name == of.main.name:
        assert len(written) == ROWS - 2
    else:
        assert len(written) == ROWS


@pytest.mark.spark
def test_a_feature_outside_its_range_becomes_missing(spark, raw_train, tmp_path, monkeypatch, caplog):
    of = contract()
    feature = next(f for f in of.features if f.type in ("integer", "double"))
    median = read_feature(raw_train, tmp_path / "first", feature)
    bounded = dataclasses.replace(feature, max=median)
    with_contract(
        monkeypatch, dataclasses.replace(of, features=tuple(bounded if f == feature else f for f in of.features))
    )
    output = tmp_path / "features"
    with caplog.at_level(logging.WARNING, logger="etl"):
        assert run_etl(raw_train, output) == 0

    before = read_partition(tmp_path / "first")[feature.name]
    after = read_partition(output)[feature.name]
    above = int((before > median).sum())
    assert above > 0
    assert after.isna().sum() == before.isna().sum() + above
    assert f"Feature {feature.name}: {above} value(s) " in caplog.text
    # A double's message adds "or not finite": inf is no number a model can take either.
    assert re.search(rf"above {re.escape(str(median))}( or not finite)? became missing", caplog.text)


def read_feature(raw: Path, output: Path, feature: Feature) -> float:
    assert run_etl(raw, output) == 0
    return float(read_partition(output)[feature.name].median())


def parquet_contract(of: Contract) -> Contract:
    """``of`` with its main source in Parquet files."""
    main = dataclasses.replace(of.main, format="parquet")
    return dataclasses.replace(of, sources=(main, *of.sources[1:]))


def write_parquet(path: Path, source: Source, rows: list[dict[str, str]], types: dict[str, pa.DataType]) -> None:
    """The rows as a team's export would hold them: each column in its declared (or given) Parquet type."""
    convert = {"integer": int, "double": float, "date": datetime.date.fromisoformat, "string": str}
    columns = [c for c in source.columns if c.name in rows[0]]
    # A column given another type keeps its text.
    arrays = {
        c.name: pa.array([row[c.name] for row in rows], types[c.name])
        if c.name in types
        else pa.array([convert[c.type](row[c.name]) for row in rows], PARQUET_TYPES[c.type])
        for c in columns
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path)


PARQUET_TYPES = {"integer": pa.int64(), "double": pa.float64(), "date": pa.date32(), "string": pa.string()}


@pytest.mark.spark
def test_parquet_sources_give_the_same_table_as_csv(spark, raw_train, tmp_path, monkeypatch):
    assert run_etl(raw_train, tmp_path / "from-csv") == 0
    of = with_contract(monkeypatch, parquet_contract(contract()))
    raw = write_raw(tmp_path / "raw", raw_rows("train", of), of)
    (raw / of.main.name / "part-00000.csv").unlink()
    write_parquet(raw / of.main.name / "part-00000.parquet", of.main, raw_rows("train", of)[of.main.name], {})
    assert run_etl(raw, tmp_path / "from-parquet") == 0
    pd.testing.assert_frame_equal(read_partition(tmp_path / "from-parquet"), read_partition(tmp_path / "from-csv"))


@pytest.mark.spark
def test_parquet_column_of_the_wrong_type(spark, tmp_path, monkeypatch, expect_failure):
    of = with_contract(monkeypatch, parquet_contract(contract()))
    column = next(c for s, c in plain_columns(of) if s.name == of.main.name and c.type != "string")
    raw = write_raw(tmp_path / "raw", raw_rows("train", of), of)
    (raw / of.main.name / "part-00000.csv").unlink()
    rows = raw_rows("train", of)[of.main.name]
    write_parquet(raw / of.main.name / "part-00000.parquet", of.main, rows, {column.name: pa.string()})
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{of.main.name}: column {column.name}: is string in the Parquet files, the data contract says "
        f"{column.type}",
        outputs=(output,),
    )


# --------------------------------------------------------------------------- joins


def side_contract(of: Contract, how: str, max_unmatched_share: float) -> Contract:
    """``of`` with one more source joined on the main id: every contract can test a join."""
    id_column = of.main.column(of.id_column)
    side = Source(
        name="side_source",
        columns=(
            dataclasses.replace(id_column, nullable=False),
            Column("Side Value", "double", safe_name="side_value"),
        ),
        primary_key=of.id_column,
        join=Join(of.id_column, how, max_unmatched_share),
    )
    feature = Feature("side_feature", "double", "side_value * 2")
    return dataclasses.replace(of, sources=(*of.sources, side), features=(*of.features, feature))


def side_rows(of: Contract, numbers: range) -> list[dict[str, str]]:
    id_column = of.main.column(of.id_column)
    return [{id_column.name: key_text(id_column, n), "Side Value": str(n)} for n in numbers]


@pytest.mark.spark
def test_unmatched_join_keys_above_the_allowed_share(spark, tmp_path, monkeypatch, expect_failure):
    of = with_contract(monkeypatch, side_contract(contract(), "left", 0.1))
    id_name = of.main.column(of.id_column).name
    rows = {**raw_rows("train", of), "side_source": side_rows(of, range(ROWS // 2))}
    raw = write_raw(tmp_path / "raw", rows, of)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{of.main.name}: column {id_name}: no match in source side_source",
        f"50.0% of the {ROWS} rows",
        f"in {ROWS // 2} row(s), e.g. ",
        "raise join.max_unmatched_share",
        outputs=(output,),
    )


@pytest.mark.spark
@pytest.mark.parametrize("how", ["left", "inner"])
def test_unmatched_join_keys_within_the_allowed_share(spark, tmp_path, monkeypatch, caplog, how):
    of = with_contract(monkeypatch, side_contract(contract(), how, 0.25))
    rows = {**raw_rows("train", of), "side_source": side_rows(of, range(ROWS - 6))}
    output = tmp_path / "features"
    with caplog.at_level(logging.WARNING, logger="etl"):
        assert run_etl(write_raw(tmp_path / "raw", rows, of), output) == 0

    written = read_partition(output)
    assert "6 row(s) (12.5%) have no match" in caplog.text
    if how == "left":
        assert len(written) == ROWS
        assert written["side_feature"].isna().sum() == 6
    else:
        assert len(written) == ROWS - 6
    assert sorted(written["side_feature"].dropna()) == [2.0 * n for n in range(ROWS - 6)]


@pytest.mark.spark
def test_the_contract_joins_cover_every_source(spark, raw_train, tmp_path):
    # The contract's own joins (if any) match every main key in valid data: one row per main row,
    # whether the contract has one source or several.
    output = tmp_path / "features"
    for source in contract().sources[1:]:
        assert (raw_train / source.name).is_dir()
    assert run_etl(raw_train, output) == 0
    assert len(read_partition(output)) == ROWS


# --------------------------------------------------------------------------- bad input


@pytest.mark.spark
def test_missing_input_directory(spark, raw_train, tmp_path, expect_failure):
    last = contract().sources[-1].name
    shutil.rmtree(raw_train / last)
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw_train, output), f"{raw_train}/{last}: does not exist", outputs=(output,))


@pytest.mark.spark
def test_directory_without_csv_files(spark, raw_train, tmp_path, expect_failure):
    main = contract().main.name
    (raw_train / main / "part-00000.csv").rename(raw_train / main / "part-00000.txt")
    output = tmp_path / "features"
    expect_failure(
        etl.main, arguments(raw_train, output), f"{raw_train}/{main}: holds no .csv files", outputs=(output,)
    )


@pytest.mark.spark
def test_empty_file(spark, raw_train, tmp_path, expect_failure):
    last = contract().sources[-1].name
    (raw_train / last / "part-00000.csv").write_text("")
    output = tmp_path / "features"
    expect_failure(
        etl.main, arguments(raw_train, output), f"{raw_train}/{last}: the CSV files are empty", outputs=(output,)
    )


@pytest.mark.spark
def test_compressed_bytes_in_a_csv_file(spark, raw_train, tmp_path, expect_failure):
    main = contract().main.name
    path = raw_train / main / "part-00000.csv"
    path.write_bytes(gzip.compress(path.read_bytes()))
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/{main}: the header row is not utf-8 text (a compressed or binary file named .csv?)",
        outputs=(output,),
    )


@pytest.mark.spark
def test_header_without_rows(spark, raw_train, tmp_path, expect_failure):
    main = contract().main
    (raw_train / main.name / "part-00000.csv").write_text(",".join(c.name for c in main.columns) + "\n")
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw_train, output), f"{raw_train}/{main.name}: no rows", outputs=(output,))


@pytest.mark.spark
def test_missing_and_unexpected_columns(spark, tmp_path, expect_failure):
    of = contract()
    source, column = plain_columns(of)[0]
    rows = raw_rows("train")
    for row in rows[source.name]:
        del row[column.name]
        row["Surplus Column"] = "x"
    raw = tmp_path / "raw"
    for other in of.sources:
        write_csv(raw / other.name / "part-00000.csv", rows[other.name])
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: missing column(s) {column.name}; unexpected column(s) Surplus Column",
        outputs=(output,),
    )


@pytest.mark.spark
def test_unreadable_values(spark, tmp_path, expect_failure):
    of = contract()
    source, column = first_column(of, lambda c: c.type != "string", "number or date")
    rows = raw_rows("train")
    set_text(rows[source.name], column, (3, 7), "twelve")
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    what = etl.TYPE_RULES[column.type][0]
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: column {column.name}: must be {what} in 2 row(s), e.g. 'twelve'; ",
        outputs=(output,),
    )


@pytest.mark.spark
def test_numbers_that_are_not_finite(spark, tmp_path, expect_failure):
    of = contract()
    source, column = first_column(of, lambda c: c.type == "double", "double")
    rows = raw_rows("train")
    for number, text in enumerate(("inf", "NaN", "1e999", "-4e38")):
        rows[source.name][number][column.name] = text
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: column {column.name}: must be a finite number in 4 row(s), e.g. 'inf'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_value_outside_the_range(spark, tmp_path, monkeypatch, expect_failure):
    of = contract()
    source, column = range_column(of)
    of = with_contract(monkeypatch, change_column(of, source, column, on_violation="fail"))
    rows = raw_rows("train", of)
    set_text(rows[source.name], column, (2,), beyond_range(column))
    raw = write_raw(tmp_path / "raw", rows, of)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: column {column.name}: must be {etl.describe_rule(column)} in 1 row(s), "
        f"e.g. '{beyond_range(column)}'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_value_not_among_the_allowed_ones(spark, tmp_path, monkeypatch, expect_failure):
    of = contract()
    source, column = first_column(of, lambda c: c.type == "string" and c.values, "text with values")
    of = with_contract(monkeypatch, change_column(of, source, column, on_violation="fail"))
    rows = raw_rows("train", of)
    set_text(rows[source.name], column, (1, 4, 5), "  Surely-Not-Allowed ")
    raw = write_raw(tmp_path / "raw", rows, of)
    output = tmp_path / "features"
    shown = {"lower": "surely-not-allowed", "upper": "SURELY-NOT-ALLOWED"}.get(column.case, "Surely-Not-Allowed")
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: column {column.name}: must be one of ",
        f" in 3 row(s), e.g. '{shown}'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_missing_value_in_a_column_that_must_not_be_empty(spark, tmp_path, monkeypatch, expect_failure):
    of = contract()
    source, column = plain_columns(of)[-1]
    of = with_contract(monkeypatch, change_column(of, source, column, nullable=False))
    rows = raw_rows("train", of)
    set_text(rows[source.name], column, (5, 6), " ")
    raw = write_raw(tmp_path / "raw", rows, of)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{source.name}: column {column.name}: must not be empty in 2 row(s), e.g. the row with ",
        "nullable: true",
        outputs=(output,),
    )


@pytest.mark.spark
def test_one_key_in_two_different_rows(spark, tmp_path, expect_failure):
    of = contract()
    rows = raw_rows("train")
    main = rows[of.main.name]
    column = next(c for s, c in plain_columns(of) if s is of.main)
    conflicting = {
        **main[0],
        column.name: valid_text(column, 1) if valid_text(column, 0) != valid_text(column, 1) else "",
    }
    main.append(conflicting)
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    id_column = of.main.column(of.id_column)
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{of.main.name}: column {id_column.name}: one key in rows with different values in 2 row(s), "
        f"e.g. '{main[0][id_column.name]}'",
        outputs=(output,),
    )


@pytest.mark.spark
def test_bytes_not_in_the_declared_encoding(spark, raw_train, tmp_path, expect_failure):
    of = contract()
    main = of.main
    column = next(c for s, c in plain_columns(of) if s is main and c.type == "string")
    rows = raw_rows("train")
    rows[main.name][2][column.name] = "Caf\u00e9"  # written as Latin-1: a lone byte 0xE9, invalid in UTF-8
    write_csv(raw_train / main.name / "part-00000.csv", rows[main.name], encoding="latin-1")
    output = tmp_path / "features"
    assert main.encoding == "utf-8"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/{main.name}: 1 row(s) hold bytes that are not valid utf-8, e.g. in ",
        f"{raw_train}/{main.name}/part-00000.csv",
        outputs=(output,),
    )


@pytest.mark.spark
def test_training_data_without_labels(spark, tmp_path, monkeypatch, expect_failure):
    # Declared nullable, so that the check under test is the one of a whole column without labels.
    of = contract()
    of = with_contract(monkeypatch, change_column(of, of.main, of.label_column, nullable=True))
    rows = raw_rows("train")
    set_text(rows[of.main.name], of.label_column, tuple(range(ROWS)), "")
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw, output),
        f"{raw}/{of.main.name}: column {of.label_column.name}: empty in all {ROWS} rows; training data needs labels",
        outputs=(output,),
    )


@pytest.mark.spark
def test_too_little_to_learn_from(spark, tmp_path, monkeypatch, expect_failure):
    # Classification: one class only. Regression: fewer labelled rows than MIN_ROWS, the label declared
    # nullable so that the row count is what fails, not the blanks.
    of = contract()
    of = with_contract(monkeypatch, change_column(of, of.main, of.label_column, nullable=True))
    rows = raw_rows("train")
    label = of.label_column
    if of.is_classification:
        only = str(classes(of)[0])
        set_text(rows[of.main.name], label, tuple(range(ROWS)), only)
        expected = f"column {label.name}: holds only class {typed(label, only)} ({ROWS} rows): a classifier needs"
    else:
        set_text(rows[of.main.name], label, tuple(range(MIN_ROWS - 1, ROWS)), "")
        expected = f"column {label.name}: {MIN_ROWS - 1} labelled row(s), fewer than the {MIN_ROWS}"
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw, output), f"{raw}/{of.main.name}: {expected}", outputs=(output,))


@pytest.mark.spark
def test_labels_the_task_cannot_use(spark, tmp_path, expect_failure):
    # Classification: a class with too few rows for both splits. Regression: a label that is no number.
    of = contract()
    rows = raw_rows("train")
    label = of.label_column
    if of.is_classification:
        first, second = (str(c) for c in classes(of)[:2])
        labels = [second] * (MIN_ROWS_PER_CLASS - 1) + [first] * (ROWS - MIN_ROWS_PER_CLASS + 1)
        expected = f"column {label.name}: class {typed(label, second)!r} in only {MIN_ROWS_PER_CLASS - 1} row(s)"
    else:
        labels = ["unknown"] * 3 + [valid_text(label, n) for n in range(3, ROWS)]
        expected = f"column {label.name}: must be a finite number in 3 row(s), e.g. 'unknown'"
    for row, text in zip(rows[of.main.name], labels, strict=True):
        row[label.name] = text
    raw = write_raw(tmp_path / "raw", rows)
    output = tmp_path / "features"
    expect_failure(etl.main, arguments(raw, output), f"{raw}/{of.main.name}: {expected}", outputs=(output,))


@pytest.mark.spark
def test_feature_expression_spark_cannot_evaluate(spark, raw_train, tmp_path, monkeypatch, expect_failure):
    of = contract()
    broken = Feature("broken_feature", "double", "no_such_column * 2")
    with_contract(monkeypatch, dataclasses.replace(of, features=(*of.features, broken)))
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        "data contract: feature broken_feature: Spark cannot evaluate the expression 'no_such_column * 2'",
        "no_such_column",
        outputs=(output,),
    )


@pytest.mark.spark
def test_line_with_more_fields_than_the_header(spark, raw_train, tmp_path, expect_failure):
    main = contract().main.name
    path = raw_train / main / "part-00000.csv"
    last_line = path.read_text().splitlines()[-1]
    path.write_text(path.read_text() + last_line + ",surplus\n")
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/{main}: malformed CSV, a line has more or fewer fields than the header",
        # Spark shows the record it parsed, which starts as the line does.
        last_line.split(",")[0],
        outputs=(output,),
    )


@pytest.mark.spark
def test_files_with_different_headers(spark, raw_train, tmp_path, expect_failure):
    main = contract().main.name
    rows = raw_rows("train")[main][:5]
    write_csv(raw_train / main / "part-00001.csv", rows, list(reversed(list(rows[0]))))
    output = tmp_path / "features"
    expect_failure(
        etl.main,
        arguments(raw_train, output),
        f"{raw_train}/{main}: malformed CSV, the CSV files do not all have the same header",
        f"CSV file: file://{raw_train}/{main}/part-0000",
        outputs=(output,),
    )
