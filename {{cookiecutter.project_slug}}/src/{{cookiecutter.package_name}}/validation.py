"""Checks of the tables the scikit-learn steps read, with errors a person can act on.

Every check raises ``StepError`` with one line: where (``source``, a path or "request"),
what is wrong (the column, a bad value and how many rows), and what to do about it.
"""

from __future__ import annotations

import pandas as pd
from pandas.api import types

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.errors import StepError


def conform_feature_table(frame: pd.DataFrame, use_type: schema.UseType, source: str) -> pd.DataFrame:
    """A feature table as etl.py writes it, checked and with one dtype per column.

    Numbers become float64 (missing: NaN), categories Python strings (missing: None);
    the label, when training, becomes int64 and must hold both classes.
    """
    columns = schema.feature_table_columns(use_type)
    require_rows(frame, source)
    check_columns(frame, schema.names(columns), source, fix=f"expected the {use_type} feature table of etl.py")
    conformed = conform_types(frame, columns, source)
    check_ids(conformed[schema.ID_COLUMN], source)
    if use_type == "train":
        conformed[schema.LABEL.name] = binary_label(conformed[schema.LABEL.name], source)
    return conformed


def conform_request(frame: pd.DataFrame, source: str = "request") -> pd.DataFrame:
    """Feature-table rows sent to the model server: the features, and optionally the booking id."""
    require_rows(frame, source)
    check_columns(
        frame,
        schema.FEATURE_NAMES,
        source,
        fix="send the feature-table columns (booking_id optional)",
        optional=(schema.ID_COLUMN,),
    )
    return conform_types(frame, schema.FEATURE_COLUMNS, source)


def require_rows(frame: pd.DataFrame, source: str) -> None:
    if frame.empty:
        raise StepError(f"{source}: no rows; the input is empty")


def check_columns(
    frame: pd.DataFrame, expected: tuple[str, ...], source: str, fix: str, optional: tuple[str, ...] = ()
) -> None:
    """The frame has every ``expected`` column and no others (``optional`` ones may be there)."""
    schema.check_names(tuple(frame.columns), expected, source, fix, optional)


def conform_types(frame: pd.DataFrame, columns: tuple[schema.Column, ...], source: str) -> pd.DataFrame:
    conformed = frame.copy()
    for column in columns:
        values = frame[column.name]
        if column.type == "string":
            conformed[column.name] = text(values, column.name, source)
        else:
            conformed[column.name] = numbers(values, column.name, source)
    return conformed


def numbers(values: pd.Series, name: str, source: str) -> pd.Series:
    """float64, NaN where missing. Text that reads as a number (a CSV request) is accepted."""
    if types.is_numeric_dtype(values) and not types.is_bool_dtype(values):
        return values.astype("float64")
    if values.isna().all():
        return pd.Series(float("nan"), index=values.index, dtype="float64")
    if not types.is_object_dtype(values):
        raise StepError(f"{source}: column {name} has type {values.dtype}, expected numbers")
    converted = pd.to_numeric(values, errors="coerce")
    unreadable = values.notna() & converted.isna()
    if unreadable.any():
        raise StepError(
            f"{source}: column {name} must hold numbers, found {values[unreadable].iloc[0]!r} "
            f"in {int(unreadable.sum())} row(s)"
        )
    return converted.astype("float64")


def text(values: pd.Series, name: str, source: str) -> pd.Series:
    """Python strings, None where missing (a column of nothing but missing values is fine)."""
    present = values[values.notna()]
    if not present.empty and types.infer_dtype(present, skipna=False) != "string":
        example = next(value for value in present if not isinstance(value, str))
        wrong = sum(not isinstance(value, str) for value in present)
        raise StepError(
            f"{source}: column {name} must hold text, found {example!r} ({type(example).__name__}) in {wrong} row(s)"
        )
    return values.astype(object).where(values.notna(), None)


def check_ids(ids: pd.Series, source: str) -> None:
    if ids.isna().any():
        raise StepError(f"{source}: column {schema.ID_COLUMN} is empty in {int(ids.isna().sum())} row(s)")
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        raise StepError(
            f"{source}: {schema.ID_COLUMN} {repeated.iloc[0]!r} and {len(repeated) - 1} other(s) occur more than once"
        )


def binary_label(values: pd.Series, source: str) -> pd.Series:
    """The label as int64 0/1, on every row, with both classes present."""
    name = schema.LABEL.name
    missing = int(values.isna().sum())
    if missing == len(values):
        raise StepError(f"{source}: column {name} is all null ({missing} rows): training needs labels")
    if missing:
        raise StepError(f"{source}: column {name} is null in {missing} of {len(values)} rows: training needs labels")
    invalid = values[~values.isin((0, 1))]
    if not invalid.empty:
        raise StepError(f"{source}: column {name} must be 0 or 1, found {invalid.iloc[0]!r} in {len(invalid)} row(s)")
    classes = values.value_counts()
    if len(classes) < 2:
        only = int(classes.index[0])
        raise StepError(
            f"{source}: column {name} holds only class {only} ({len(values)} rows): "
            "a classifier needs examples of both classes (0 and 1)"
        )
    return values.astype("int64")


def model_matrix(frame: pd.DataFrame, inputs: tuple[str, ...], source: str, fix: str, with_label: bool) -> pd.DataFrame:
    """A set written by preprocess.py: booking id, the model's input columns, and the label if ``with_label``."""
    expected = (schema.ID_COLUMN, *inputs, *((schema.LABEL.name,) if with_label else ()))
    require_rows(frame, source)
    check_columns(frame, expected, source, fix=fix)
    for name in inputs:
        if not types.is_numeric_dtype(frame[name]) or types.is_bool_dtype(frame[name]):
            raise StepError(f"{source}: model input column {name} has type {frame[name].dtype}, expected numbers")
    if with_label:
        frame = frame.assign(**{schema.LABEL.name: binary_label(frame[schema.LABEL.name], source)})
    return frame
