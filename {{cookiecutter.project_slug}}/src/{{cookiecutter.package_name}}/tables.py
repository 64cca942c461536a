"""Reading and writing the tables steps pass to each other (a directory of Parquet or CSV files).

A table is a directory, as Spark and SageMaker write them: ``part-*.parquet`` files, or
``*.csv`` files. Files whose names start with ``_`` or ``.`` (``_SUCCESS``, checksums,
side files such as ``_transformed_by.json``) are not data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import require_dir
from {{ cookiecutter.package_name }}.schema import Column

ARROW_TYPES = {"string": pa.string(), "integer": pa.int32(), "double": pa.float64(), "date": pa.date32()}


def data_files(directory: Path, suffix: str) -> list[Path]:
    return sorted(
        path for path in directory.glob(f"*{suffix}") if path.is_file() and not path.name.startswith(("_", "."))
    )


def read_table(directory: Path, what: str) -> pd.DataFrame:
    """All rows of the Parquet (preferred) or CSV files in ``directory``.

    ``what`` names the table in errors, e.g. "feature table". A missing directory, a
    directory without data files, or a file that is empty or unreadable is a StepError
    naming the path.
    """
    require_dir(directory, what, "check the path, or run the step that writes it first")
    parquet_files = data_files(directory, ".parquet")
    csv_files = data_files(directory, ".csv")
    if parquet_files:
        # One conversion to pandas for all the files: converting each and concatenating the
        # frames copies every value once more (a third slower for Spark's part files).
        parts = [_read_parquet(path, what) for path in parquet_files]
        return pa.concat_tables(parts, promote_options="permissive").to_pandas()
    if csv_files:
        return pd.concat([_read_csv(path, what) for path in csv_files], ignore_index=True)
    raise StepError(f"{directory}: no .parquet or .csv files: the {what} is missing here")


def _read_parquet(path: Path, what: str) -> pa.Table:
    if path.stat().st_size == 0:
        raise StepError(f"{path}: empty file, expected a Parquet file of the {what}")
    try:
        # partitioning=None: a file under execution_date=<date>/ must not gain that column.
        return pq.read_table(path, partitioning=None)
    except (pa.ArrowException, OSError) as error:
        raise StepError(f"{path}: not a readable Parquet file of the {what} ({error})") from None


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise StepError(f"{path}: empty file, expected a CSV file with a header row of the {what}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise StepError(f"{path}: not a readable CSV file of the {what} ({error})") from None


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Parquet types the ETL writes for these columns (Spark: int -> int32, double, string, date)."""
    return pa.schema([pa.field(column.name, ARROW_TYPES[column.type]) for column in columns])


def write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    """One Parquet file; with ``schema``, columns are written with exactly those types."""
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path)
