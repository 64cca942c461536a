"""Deterministic sample data shaped by the data contract, with a label a model can learn.

Writes one folder per source of the contract, as the ETL reads them::

    python -m {{ cookiecutter.package_name }}.sample_data --use-type train --rows 2000 --output-dir raw/train

    <output-dir>/<source>/part-00000.csv        (.parquet for a Parquet source; one file per million rows)

The same contract, seed and row count always give the same bytes. Training data carries
the label; predict data does not. When the contract names a ``sample_generator`` module,
its ``generate(contract, use_type, rows, seed)`` makes the data (and its ``parts(...)``, if
it has one, writes big data sets file by file). Otherwise the generic generator below does:

* every declared column, per type: a declared value list is drawn from; text without one
  becomes codes; numbers fall in the declared range (or a default one); dates fall in the
  declared range, or in a default window of the use type; a few values of each nullable
  column are missing;
* the main source holds one row per id (unique texts, or numbers for an integer id); a
  source joined on the id holds one row per id too, one joined on another key holds one
  row per key, and every key of the main source finds its row;
* a planted signal: a seeded linear score over the standardized numbers and per-category
  effects of the columns the features read, turned into the label: binary by a logistic
  draw, multiclass by the largest of one noisy score per class, regression as the score
  plus noise, within the label's declared range. A model learns something real, and the
  quality gate passes on sample data.

``generate()`` also returns the feature table the ETL should derive from the sources when
every feature is a column as it is (the tests compare the ETL's output with it).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import importlib
import io
import logging
import math
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }} import schema, tables
from {{ cookiecutter.package_name }}.cli import configure_logging, positive_int, report
from {{ cookiecutter.package_name }}.contract import Column, Contract, Source
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs

log = logging.getLogger("sample_data")

DEFAULT_SEED = 42
ROWS_PER_FILE = 1_000_000
MISSING_SHARE = 0.03  # of each nullable column's values (never ids, keys or the label)
CODE_COUNT = 6  # distinct codes of a text column declared without values
ROWS_PER_KEY = 3  # main rows per row of a source joined on a key other than the id
DEFAULT_SPAN = 100  # width of a number range the contract leaves open
# Dates of each use type fall in their own window (within the declared range).
WINDOWS = {"train": (datetime.date(2024, 1, 1), 366), "predict": (datetime.date(2025, 1, 1), 90)}
# Keeps the ids of the use types apart: predict ids never repeat training ids.
ID_LETTERS = {"train": "T", "predict": "P"}
PREDICT_ID_OFFSET = 1_000_000_000  # integer ids
# How strongly the score decides the label: large enough that a random forest on a few
# hundred rows clears the default quality gates (ROC AUC 0.7, macro F1 0.5, R2 0.5).
BINARY_STRENGTH, BINARY_INTERCEPT = 3.0, -0.4
MULTICLASS_STRENGTH, MULTICLASS_DEFAULT_CLASSES = 4.0, 3
REGRESSION_NOISE = 0.3  # standard deviation of the noise, against the score's 1


@dataclasses.dataclass(frozen=True)
class SampleData:
    # Per source name, the columns named as the files name them.
    sources: dict[str, pd.DataFrame]
    # The feature table the ETL should derive from the sources (safe names), when known.
    expected_features: pd.DataFrame | None = None
    why_no_features: str = "the generator does not make the feature table"

    @property
    def features(self) -> pd.DataFrame:
        if self.expected_features is None:
            raise StepError(f"sample data: no expected feature table: {self.why_no_features}")
        return self.expected_features


# ---------------------------------------------------------------------- entry points


def generate(
    use_type: schema.UseType, rows: int, seed: int = DEFAULT_SEED, contract: Contract | None = None
) -> SampleData:
    """All sample data in memory (for tests and notebooks; ``write_sample_data`` writes big runs to files)."""
    contract = contract or schema.contract()
    generator = custom_generator(contract)
    if generator is not None:
        return generator.generate(contract, use_type, rows, seed)
    return generic(contract, use_type, rows, seed)


def write_sample_data(
    output_dir: Path, use_type: schema.UseType, rows: int, seed: int = DEFAULT_SEED, contract: Contract | None = None
) -> None:
    """Write ``<output_dir>/<source>/part-*.<format>`` for every source, all-or-nothing."""
    contract = contract or schema.contract()
    with atomic_outputs(*(output_dir / source.name for source in contract.sources)) as folders:
        folder_of = {source.name: folder for source, folder in zip(contract.sources, folders, strict=True)}
        written = dict.fromkeys(folder_of, 0)
        for part in source_parts(contract, use_type, rows, seed):
            for name, frame in part.items():
                source = contract.source(name)
                write_source_file(source, frame, folder_of[name] / f"part-{written[name]:05d}.{source.format}")
                written[name] += 1


def custom_generator(contract: Contract) -> Any:
    if contract.sample_generator is None:
        return None
    try:
        return importlib.import_module(contract.sample_generator)
    except ModuleNotFoundError as error:
        raise StepError(
            f"data contract: sample_generator: module {contract.sample_generator!r} not found ({error}); "
            "fix the module path or remove the key to use the generic generator"
        ) from None


def source_parts(
    contract: Contract, use_type: schema.UseType, rows: int, seed: int
) -> Iterator[dict[str, pd.DataFrame]]:
    """The sources file by file: the generator's own ``parts`` when it has them, else slices of ROWS_PER_FILE."""
    generator = custom_generator(contract)
    if generator is not None and hasattr(generator, "parts"):
        yield from generator.parts(contract, use_type, rows, seed)
        return
    for name, frame in generate(use_type, rows, seed, contract).sources.items():
        for start in range(0, max(len(frame), 1), ROWS_PER_FILE):
            yield {name: frame.iloc[start : start + ROWS_PER_FILE]}


# ---------------------------------------------------------------------- writing


def write_source_file(source: Source, frame: pd.DataFrame, path: Path) -> None:
    if source.format == "parquet":
        write_parquet(source, frame, path)
    else:
        write_csv(frame, path, source.encoding)


def write_parquet(source: Source, frame: pd.DataFrame, path: Path) -> None:
    """A raw Parquet file as a team would export it: the file's column names, the declared types."""
    columns = [column for column in source.columns if column.name in frame.columns]
    # The frames hold dates as text, as CSV files do; Parquet holds dates.
    dates = {c.name: pd.to_datetime(frame[c.name]).dt.date for c in columns if c.type == "date"}
    arrow_schema = pa.schema([pa.field(c.name, tables.ARROW_TYPES[c.type]) for c in columns])
    pq.write_table(pa.Table.from_pandas(frame.assign(**dates), schema=arrow_schema, preserve_index=False), path)


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> None:
    """The bytes ``frame.to_csv(path, index=False)`` writes, about ten times faster.

    Arrow's CSV writer does the work (pandas' takes minutes for ten million rows). Two
    things are made to match pandas: the header is written as pandas quotes it, and floats
    are turned into text first, as Python writes them (``78.0``, where Arrow would write
    ``78``). Arrow writes UTF-8 without quoting: a value that needs quotes (a comma, a
    quote, a line break), or another encoding, is left to pandas itself.
    """
    if codecs_name(encoding) != "utf-8" or needs_quotes(frame):
        frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
        return
    floats = frame.select_dtypes(include="float").columns
    as_text = {name: frame[name].astype(str).where(frame[name].notna(), None) for name in floats}
    table = pa.Table.from_pandas(frame.assign(**as_text) if as_text else frame, preserve_index=False)
    with path.open("wb") as stream:
        stream.write(csv_line(frame.columns).encode("utf-8"))
        pa_csv.write_csv(table, stream, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


def codecs_name(encoding: str) -> str:
    import codecs

    return codecs.lookup(encoding).name


def csv_line(fields: Any) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(list(fields))
    return text.getvalue()


def needs_quotes(frame: pd.DataFrame) -> bool:
    for name in frame.select_dtypes(include="object").columns:
        values = frame[name].dropna().astype(str)
        if values.str.contains(r'[,"\r\n]', regex=True).any():
            return True
    return False


# ---------------------------------------------------------------------- the generic generator


def random_stream(seed: int, *key: int) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the data."""
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def stable_number(text: str) -> int:
    """A number for a name that every Python process agrees on (``hash()`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


@dataclasses.dataclass(frozen=True)
class Drawn:
    """One column's values, and what the planted signal reads from them."""

    values: Any  # numpy array, or pandas' nullable integers
    missing: np.ndarray
    mean: float = 0.0  # numbers: of the distribution drawn from
    std: float = 0.0
    codes: np.ndarray | None = None  # categories: index into ``levels``
    levels: int = 0


def generic(contract: Contract, use_type: schema.UseType, rows: int, seed: int) -> SampleData:
    use_key = schema.USE_TYPES.index(use_type) + 1
    drawn: dict[str, dict[str, Drawn]] = {}
    # For each source, which of its rows each main row joins (None: the same row).
    positions: dict[str, np.ndarray | None] = {contract.main.name: None}
    main_keys = {}
    key_count = max(1, math.ceil(rows / ROWS_PER_KEY))
    for source in contract.sources[1:]:
        if source.join.key != contract.id_column:
            picked = random_stream(seed, 0, stable_number(source.name)).integers(0, key_count, size=rows)
            main_keys[source.join.key] = Drawn(key_values(source.column(source.join.key), picked), no_missing(rows))
            positions[source.name] = picked
    for index, source in enumerate(contract.sources):
        shared = positions[source.name] is not None  # keyed by another key: the same rows for both use types
        count = key_count if shared else rows
        stream_key = (index, 0 if shared else use_key)
        drawn[source.name] = draw_source(contract, source, use_type, count, seed, stream_key)
    drawn[contract.main.name].update(main_keys)
    label = draw_label(contract, drawn, positions, rows, seed, use_key) if use_type == "train" else None
    frames = {
        source.name: source_frame(contract, source, use_type, drawn[source.name], label) for source in contract.sources
    }
    features, why = expected_features(contract, use_type, frames)
    return SampleData(frames, features, why)


def no_missing(count: int) -> np.ndarray:
    return np.zeros(count, dtype=bool)


def draw_source(
    contract: Contract, source: Source, use_type: str, count: int, seed: int, stream_key: tuple[int, int]
) -> dict[str, Drawn]:
    identities = {contract.id_column} if source.join is None else {source.join.key}
    if source.primary_key:
        identities.add(source.primary_key)
    keys_elsewhere = {s.join.key for s in contract.sources if s.join}
    result = {}
    for number, column in enumerate(source.columns):
        if column.safe_name == contract.label.column and source.join is None:
            continue
        rng = random_stream(seed, *stream_key, number)
        if column.safe_name in identities:
            if column.safe_name == contract.id_column:
                result[column.safe_name] = Drawn(id_values(column, count, use_type), no_missing(count))
            else:
                result[column.safe_name] = Drawn(key_values(column, np.arange(count)), no_missing(count))
            continue
        if column.safe_name in keys_elsewhere:
            continue  # drawn from the joined source's keys
        missing = (rng.random(count) < MISSING_SHARE) if column.nullable else no_missing(count)
        result[column.safe_name] = draw_values(column, count, rng, use_type, missing)
    return result


def initials(column: Column) -> str:
    words = [word for word in column.safe_name.split("_") if word]
    text = "".join(word[0] for word in words[:3]) if len(words) > 1 else column.safe_name[:2]
    return text.upper()


def id_values(column: Column, count: int, use_type: str) -> np.ndarray:
    numbers = np.arange(count)
    if column.type == "integer":
        return numbers + 1 + (PREDICT_ID_OFFSET if use_type == "predict" else 0)
    prefix = f"{initials(column)}-{ID_LETTERS[use_type]}"
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 9)).astype(object)


def key_values(column: Column, numbers: np.ndarray) -> np.ndarray:
    if column.type == "integer":
        return numbers + 1
    return np.char.add(initials(column), np.char.zfill(numbers.astype(str), 8)).astype(object)


def cased(column: Column, text: str) -> str:
    return text.lower() if column.case == "lower" else text


def draw_values(column: Column, count: int, rng: np.random.Generator, use_type: str, missing: np.ndarray) -> Drawn:
    if column.values or column.type == "string":
        levels = column.values or tuple(cased(column, f"{initials(column)}{k + 1}") for k in range(CODE_COUNT))
        codes = rng.integers(0, len(levels), size=count)
        values = np.array(levels, dtype=object if column.type == "string" else None)[codes]
        return Drawn(with_missing(column, values, missing), missing, codes=codes, levels=len(levels))
    if column.type == "date":
        start, days = date_window(column, use_type)
        dates = np.datetime64(start, "D") + rng.integers(0, days, size=count)
        texts = np.datetime_as_string(dates, unit="D").astype(object)
        return Drawn(np.where(missing, None, texts), missing)
    low, high = number_range(column)
    if column.type == "integer":
        low, high = math.ceil(low), math.floor(high)
        values = rng.integers(low, high + 1, size=count)
        std = math.sqrt(((high - low + 1) ** 2 - 1) / 12)
    else:
        values = rounded(rng.uniform(low, high, size=count), low, high)
        std = (high - low) / math.sqrt(12)
    return Drawn(with_missing(column, values, missing), missing, mean=(low + high) / 2, std=std or 1.0)


def rounded(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values as a file would print them: about four significant digits of the range, never outside it."""
    width = high - low
    digits = max(2, 3 - math.floor(math.log10(width))) if width > 0 else 2
    return np.clip(np.round(values, digits), low, high)


def with_missing(column: Column, values: np.ndarray, missing: np.ndarray) -> Any:
    """Values with gaps: None in text, NaN in doubles, pandas' nullable integers (empty CSV fields)."""
    if column.type == "integer":
        return pd.arrays.IntegerArray(values.astype(np.int64), mask=missing) if column.nullable else values
    if column.type == "double":
        return np.where(missing, np.nan, values.astype(float))
    return np.where(missing, None, values)


def number_range(column: Column) -> tuple[float, float]:
    low, high = column.min, column.max
    if low is None and high is None:
        return 0.0, float(DEFAULT_SPAN)
    if high is None:
        return float(low), float(low) + DEFAULT_SPAN
    if low is None:
        return float(high) - DEFAULT_SPAN, float(high)
    return float(low), float(high)


def date_window(column: Column, use_type: str) -> tuple[datetime.date, int]:
    """The use type's window, within the declared range; the declared range if the two do not meet."""
    start, days = WINDOWS[use_type]
    end = start + datetime.timedelta(days=days - 1)
    low = datetime.date.fromisoformat(column.min) if column.min else None
    high = datetime.date.fromisoformat(column.max) if column.max else None
    start, end = max(start, low or start), min(end, high or end)
    if start > end:
        start = low or (high - datetime.timedelta(days=days - 1))
        end = high or (low + datetime.timedelta(days=days - 1))
    return start, (end - start).days + 1


# ---------------------------------------------------------------------- the planted signal


def signal_columns(contract: Contract) -> list[tuple[Source, Column]]:
    """The columns the features read (not ids, keys, dates or the label): what the label depends on."""
    skipped = {contract.id_column, contract.label.column, *(s.join.key for s in contract.sources if s.join)}
    candidates = [
        (source, column)
        for source in contract.sources
        for column in source.columns
        if column.safe_name not in skipped and column.type != "date"
    ]
    expressions = " ".join(feature.expression for feature in contract.features)
    read = [(s, c) for s, c in candidates if re.search(rf"(?<![0-9a-z_]){c.safe_name}(?![0-9a-z_])", expressions)]
    return read or candidates


def scores(
    contract: Contract,
    drawn: dict[str, dict[str, Drawn]],
    positions: dict[str, np.ndarray | None],
    rows: int,
    seed: int,
    k: int,
) -> np.ndarray:
    """``k`` linear scores per main row, each of mean about 0 and standard deviation about 1.

    Each score is centred and scaled on its own, so that no class of a multiclass label
    wins most rows by a larger spread.
    """
    total = np.zeros((rows, k))
    variance = np.zeros(k)
    for source, column in signal_columns(contract):
        values = drawn[source.name][column.safe_name]
        at = positions[source.name]
        rng = random_stream(seed, 100, stable_number(column.safe_name))
        if values.codes is not None:
            effects = rng.normal(size=(values.levels, k))
            effects -= effects.mean(axis=0)
            contribution = effects[values.codes]
            variance += effects.var(axis=0)
        else:
            weights = rng.normal(size=k)
            standardized = np.nan_to_num((np.asarray(values.values, dtype=float) - values.mean) / values.std)
            contribution = standardized[:, None] * weights
            variance += weights**2
        contribution = np.where(values.missing[:, None], 0.0, contribution)
        total += contribution if at is None else contribution[at]
    return total / np.sqrt(np.where(variance > 0, variance, 1.0))


def draw_label(
    contract: Contract,
    drawn: dict[str, dict[str, Drawn]],
    positions: dict[str, np.ndarray | None],
    rows: int,
    seed: int,
    use_key: int,
) -> np.ndarray:
    rng = random_stream(seed, 99, use_key)
    column = contract.label_column
    if contract.task == "binary":
        score = scores(contract, drawn, positions, rows, seed, 1)[:, 0]
        probability = 1.0 / (1.0 + np.exp(-(BINARY_STRENGTH * score + BINARY_INTERCEPT)))
        positive, other = binary_classes(contract)
        return typed_label(column, np.where(rng.random(rows) < probability, positive, other))
    if contract.task == "multiclass":
        classes = multiclass_classes(contract)
        score = scores(contract, drawn, positions, rows, seed, len(classes))
        # Gumbel noise: the largest noisy score is a draw from the softmax of the scores.
        chosen = np.argmax(MULTICLASS_STRENGTH * score + rng.gumbel(size=score.shape), axis=1)
        return typed_label(column, np.array(classes, dtype=object)[chosen])
    score = scores(contract, drawn, positions, rows, seed, 1)[:, 0]
    low, high = number_range(column)
    spread = (high - low) / 8
    values = (low + high) / 2 + spread * (score + REGRESSION_NOISE * rng.normal(size=rows))
    return typed_label(column, rounded(values, low, high))


def binary_classes(contract: Contract) -> tuple[Any, Any]:
    positive = contract.label.positive_class
    others = [value for value in contract.label.classes if value != positive]
    if others:
        return positive, others[0]
    if isinstance(positive, bool):
        return positive, not positive
    if isinstance(positive, int | float):
        return positive, 0 if positive != 0 else 1
    return positive, f"not_{positive}"


def multiclass_classes(contract: Contract) -> tuple[Any, ...]:
    if contract.label.classes:
        return contract.label.classes
    if contract.label_column.type == "integer":
        return tuple(range(MULTICLASS_DEFAULT_CLASSES))
    return tuple(f"class_{k}" for k in range(MULTICLASS_DEFAULT_CLASSES))


def typed_label(column: Column, values: np.ndarray) -> np.ndarray:
    """The label in its column's declared type."""
    if column.type == "integer":
        return np.rint(values.astype(float)).astype(np.int64)
    if column.type == "double":
        return values.astype(float)
    return np.array([str(value) for value in values], dtype=object)


# ---------------------------------------------------------------------- frames


def source_frame(
    contract: Contract, source: Source, use_type: str, drawn: dict[str, Drawn], label: np.ndarray | None
) -> pd.DataFrame:
    """The source as its file holds it: the file's column names, in the contract's order."""
    columns = source.columns_for(use_type, contract.label.column) if source.join is None else source.columns
    data = {}
    for column in columns:
        if source.join is None and column.safe_name == contract.label.column:
            data[column.name] = label
        else:
            data[column.name] = drawn[column.safe_name].values
    return pd.DataFrame(data)


def expected_features(
    contract: Contract, use_type: str, frames: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame | None, str]:
    """The feature table the ETL derives, when every feature is a column as it is."""
    derived = [f.name for f in contract.features if f.expression != f"`{f.name}`"]
    if derived:
        return None, f"features {schema.listing(derived)} are expressions: run the ETL on the sample data instead"
    joined = safe_frame(contract.main, frames[contract.main.name])
    for source in contract.sources[1:]:
        joined = joined.merge(safe_frame(source, frames[source.name]), on=source.join.key, how=source.join.how)
    return joined[list(schema.names(contract.feature_table_columns(use_type)))], ""


def safe_frame(source: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """Safe names, and text in the case the ETL puts it in."""
    renamed = frame.rename(columns={column.name: column.safe_name for column in source.columns})
    for column in source.columns:
        if column.case != "keep" and column.safe_name in renamed:
            text = renamed[column.safe_name]
            renamed[column.safe_name] = text.str.lower() if column.case == "lower" else text.str.upper()
    return renamed


# ---------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write deterministic sample data for every source of the data contract."
    )
    parser.add_argument("--use-type", required=True, choices=schema.USE_TYPES, help="train data carries the label")
    parser.add_argument("--rows", type=positive_int, default=2000, help="rows of the main source (default: 2000)")
    parser.add_argument("--output-dir", type=Path, required=True, help="gets one folder per source")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        write_sample_data(args.output_dir, args.use_type, args.rows, args.seed)
    except StepError as error:
        return report(error)
    log.info("Wrote %d %s rows (seed %d) to %s", args.rows, args.use_type, args.seed, args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
