"""Reading and writing the tables steps pass to each other (a directory of Parquet or CSV files).

A table is a directory, as Spark and SageMaker write them: ``part-*.parquet`` files, or
``*.csv`` files. Files whose names start with ``_`` or ``.`` (``_SUCCESS``, checksums,
side files such as ``_transformed_by.json``) are not data.

The scikit-learn steps write their tables with a *role* in the Parquet file's key-value
metadata ("training split", "test split", ...), and read them asking for one: a training
split handed over as the test split (the same columns, the same types) is refused instead
of giving a flattering evaluation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import require_dir
from {{ cookiecutter.package_name }}.schema import Column, listing

ARROW_TYPES = {"string": pa.string(), "integer": pa.int32(), "double": pa.float64(), "date": pa.date32()}

ROLE_KEY = b"table_role"
TRAINING_SPLIT = "training split"
TEST_SPLIT = "test split"
PREDICTION_INPUTS = "prediction inputs"
PREDICTIONS = "predictions"
# Which step writes a table of each role, for the fix an error suggests.
WRITERS = {
    TRAINING_SPLIT: "PreprocessTrain (--train-dir)",
    TEST_SPLIT: "PreprocessTrain (--test-dir)",
    PREDICTION_INPUTS: "PreprocessPredict (--predict-dir)",
    PREDICTIONS: "Predict (--predictions-dir)",
}


def data_files(directory: Path, suffix: str) -> list[Path]:
    return sorted(
        path for path in directory.glob(f"*{suffix}") if path.is_file() and not path.name.startswith(("_", "."))
    )


def read_table(
    directory: Path, what: str, role: str | None = None, columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """All rows of the Parquet (preferred) or CSV files in ``directory``.

    ``what`` names the table in errors, e.g. "feature table". A missing directory, a
    directory without data files, a file that is empty or unreadable, or parts whose
    columns differ is a StepError naming the path. With ``role``, every file must be a
    Parquet file written with that role. With ``columns``, only those are read (each must be there).
    """
    require_dir(directory, what, "check the path, or run the step that writes it first")
    parquet_files = data_files(directory, ".parquet")
    csv_files = data_files(directory, ".csv")
    if parquet_files:
        schemas = {path: _read_schema(path, what) for path in parquet_files}
        check_same_columns(schemas)
        if role is not None:
            for path, schema in schemas.items():
                check_role(path, schema, directory, role)
        if columns is not None:
            check_has_columns(parquet_files[0], schemas[parquet_files[0]], columns, what)
        # One conversion to pandas for all the files: converting each and concatenating the
        # frames copies every value once more (a third slower for Spark's part files).
        parts = [_read_parquet(path, what, columns) for path in parquet_files]
        return pa.concat_tables(parts, promote_options="permissive").to_pandas()
    if csv_files and role is not None:
        raise StepError(f"{directory}: holds CSV files, expected the {role} as Parquet; {fix_for(role)}")
    if csv_files:
        frame = pd.concat([_read_csv(path, what) for path in csv_files], ignore_index=True)
        return frame if columns is None else frame[list(columns)]
    raise StepError(f"{directory}: no .parquet or .csv files: the {what} is missing here")


def fix_for(role: str) -> str:
    return f"point it at the {role} that {WRITERS[role]} writes"


def role_of(schema: pa.Schema) -> str | None:
    value = (schema.metadata or {}).get(ROLE_KEY)
    return value.decode("utf-8") if value is not None else None


def check_role(path: Path, schema: pa.Schema, directory: Path, role: str) -> None:
    found = role_of(schema)
    if found != role:
        holds = f"holds the {found}" if found else f"holds a table without a role ({path.name})"
        raise StepError(f"{directory}: {holds}, expected the {role}; {fix_for(role)}")


def check_same_columns(schemas: dict[Path, pa.Schema]) -> None:
    """Every part has the first part's columns with the same types: a concatenation would
    otherwise fill a missing column with nulls, or fail with a raw Arrow error."""
    first, expected = next(iter(schemas.items()))
    types = {field.name: field.type for field in expected}
    for path, schema in schemas.items():
        found = {field.name: field.type for field in schema}
        for name, arrow_type in types.items():
            if name not in found:
                raise StepError(f"{path}: lacks column {name}, which {first.name} has; {SAME_PARTS}")
            if not compatible(found[name], arrow_type):
                raise StepError(
                    f"{path}: column {name} is {found[name]}, but {arrow_type} in {first.name}; {SAME_PARTS}"
                )
        extra = [name for name in found if name not in types]
        if extra:
            raise StepError(f"{path}: column(s) {listing(extra)} that {first.name} lacks; {SAME_PARTS}")


SAME_PARTS = "every file of a table needs the same columns and types: rewrite the odd file, or remove it"


def compatible(found: pa.DataType, expected: pa.DataType) -> bool:
    # A column of nothing but nulls may be stored untyped; it fits any type.
    return found == expected or pa.types.is_null(found) or pa.types.is_null(expected)


def check_has_columns(path: Path, schema: pa.Schema, columns: tuple[str, ...], what: str) -> None:
    missing = [name for name in columns if name not in schema.names]
    if missing:
        raise StepError(f"{path.parent}: missing column(s) {listing(missing)} of the {what}")


def _read_schema(path: Path, what: str) -> pa.Schema:
    if path.stat().st_size == 0:
        raise StepError(f"{path}: empty file, expected a Parquet file of the {what}")
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise StepError(f"{path}: not a readable Parquet file of the {what} ({error})") from None


def _read_parquet(path: Path, what: str, columns: tuple[str, ...] | None = None) -> pa.Table:
    try:
        # partitioning=None: a file under execution_date=<date>/ must not gain that column.
        table = pq.read_table(path, partitioning=None, columns=None if columns is None else list(columns))
    except (pa.ArrowException, OSError) as error:
        raise StepError(f"{path}: not a readable Parquet file of the {what} ({error})") from None
    # The role is no column: it must not reach pandas' metadata.
    return table.replace_schema_metadata({k: v for k, v in (table.schema.metadata or {}).items() if k != ROLE_KEY})


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise StepError(f"{path}: empty file, expected a CSV file with a header row of the {what}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise StepError(f"{path}: not a readable CSV file of the {what} ({error})") from None


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Parquet types the ETL writes for these columns (Spark: int -> int32, double, string, date)."""
    return pa.schema([pa.field(column.safe_name, ARROW_TYPES[column.type]) for column in columns])


def write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None, role: str | None = None) -> None:
    """One Parquet file; with ``schema``, columns are written with exactly those types;
    with ``role`` (one of ``WRITERS``), the file says which table it is."""
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    if role is not None:
        if role not in WRITERS:
            raise ValueError(f"unknown table role {role!r}; roles are {', '.join(WRITERS)}")
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), ROLE_KEY: role.encode("utf-8")})
    pq.write_table(table, path)
