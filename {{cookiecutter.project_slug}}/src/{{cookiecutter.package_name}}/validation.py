"""Checks of the tables the scikit-learn steps read, with errors a person can act on.

Every check raises ``StepError`` with one line: where (``source``, a path or "request"),
what is wrong (the column, a bad value and how many rows), and what to do about it. What a
table must hold comes from the data contract: its id, its features, and its label, checked
as the contract's task needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.errors import StepError

# Random forests compute in float32: a larger number would become infinite inside the model.
LARGEST_NUMBER = float(np.finfo(np.float32).max)


def conform_feature_table(frame: pd.DataFrame, use_type: schema.UseType, source: str) -> pd.DataFrame:
    """A feature table as etl.py writes it, checked and with one dtype per column.

    Numbers become float64 (missing: NaN), categories Python strings (missing: None);
    the label, when training, is checked as the task needs it (``conform_label``).
    """
    of = schema.contract()
    columns = schema.feature_table_columns(use_type)
    require_rows(frame, source)
    check_columns(frame, schema.names(columns), source, fix=f"expected the {use_type} feature table of etl.py")
    conformed = conform_types(frame, tuple(c for c in columns if c.safe_name != of.label.column), source)
    check_ids(conformed[of.id_column], source)
    if use_type == "train":
        require_training_rows(frame, source)
        conformed[of.label.column] = conform_label(frame[of.label.column], source)
    return conformed


def conform_request(frame: pd.DataFrame, source: str = "request") -> pd.DataFrame:
    """Feature-table rows sent to the model server: the features, and optionally the id."""
    of = schema.contract()
    require_rows(frame, source)
    check_columns(
        frame,
        of.feature_names,
        source,
        fix=f"send the feature-table columns ({of.id_column} optional)",
        optional=(of.id_column,),
    )
    features = tuple(c for c in of.feature_table_columns("predict") if c.safe_name in of.feature_names)
    return conform_types(frame, features, source)


def require_rows(frame: pd.DataFrame, source: str) -> None:
    if frame.empty:
        raise StepError(f"{source}: no rows; the input is empty")


def require_training_rows(frame: pd.DataFrame, source: str) -> None:
    if len(frame) < data_contract.MIN_ROWS:
        raise StepError(
            f"{source}: {len(frame)} rows are too few to train and test a model; "
            f"at least {data_contract.MIN_ROWS} are needed"
        )


def check_columns(
    frame: pd.DataFrame, expected: tuple[str, ...], source: str, fix: str, optional: tuple[str, ...] = ()
) -> None:
    """The frame has every ``expected`` column and no others (``optional`` ones may be there)."""
    schema.check_names(tuple(frame.columns), expected, source, fix, optional)


def conform_types(frame: pd.DataFrame, columns: tuple[schema.Column, ...], source: str) -> pd.DataFrame:
    conformed = frame.copy()
    for column in columns:
        values = frame[column.safe_name]
        if column.type == "string":
            conformed[column.safe_name] = text(values, column.safe_name, source)
        else:
            converted = finite(numbers(values, column.safe_name, source), column.safe_name, source)
            if column.type == "integer":
                converted = whole(converted, column.safe_name, source)
            conformed[column.safe_name] = converted
    return conformed


def numbers(values: pd.Series, name: str, source: str) -> pd.Series:
    """float64, NaN where missing. Text that reads as a number (a CSV request) is accepted."""
    if types.is_numeric_dtype(values) and not types.is_bool_dtype(values):
        return values.astype("float64")
    if values.isna().all():
        return pd.Series(float("nan"), index=values.index, dtype="float64")
    if not types.is_object_dtype(values):
        raise StepError(f"{source}: column {name} has type {values.dtype}, expected numbers")
    # true/false and lists (a JSON request) are no numbers, though pandas would read some as such.
    readable = values.map(lambda value: isinstance(value, str | int | float | np.number) and not is_bool(value))
    converted = pd.to_numeric(values.where(readable, None), errors="coerce")
    unreadable = values.notna() & converted.isna()
    if unreadable.any():
        raise StepError(
            f"{source}: column {name} must hold numbers, found {values[unreadable].iloc[0]!r} "
            f"in {int(unreadable.sum())} row(s)"
        )
    return converted.astype("float64")


def is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def whole(values: pd.Series, name: str, source: str) -> pd.Series:
    """An integer column's numbers (float64, NaN where missing) must have no fraction."""
    fractional = values.notna() & (values != values.round())
    if fractional.any():
        raise StepError(
            f"{source}: column {name} must hold whole numbers, found {native(values[fractional].iloc[0])!r} "
            f"in {int(fractional.sum())} row(s)"
        )
    return values


def finite(values: pd.Series, name: str, source: str) -> pd.Series:
    """Missing is fine (it is imputed); infinity, or a number too large for float32, is not."""
    bad = values.notna() & ~(values.abs() <= LARGEST_NUMBER)
    if bad.any():
        raise StepError(
            f"{source}: column {name} holds {int(bad.sum())} value(s) that are infinite or beyond "
            f"±{LARGEST_NUMBER:.3g}, e.g. {native(values[bad].iloc[0])!r}; fix them at the source, or leave them empty"
        )
    return values


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
    name = schema.contract().id_column
    if ids.isna().any():
        raise StepError(f"{source}: column {name} is empty in {int(ids.isna().sum())} row(s)")
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        raise StepError(f"{source}: {name} {repeated.iloc[0]!r} and {len(repeated) - 1} other(s) occur more than once")


# --------------------------------------------------------------------------- the label


def conform_label(values: pd.Series, source: str, rows_per_class: int = data_contract.MIN_ROWS_PER_CLASS) -> pd.Series:
    """The label on every row, as the task needs it.

    classification  the classes as they come (whole numbers as int64, text as str), each
                    declared class present (binary: two, the positive one among them), and
                    at least ``rows_per_class`` rows of each (a split of the table: one)
    regression      finite float64 numbers
    """
    of = schema.contract()
    name = of.label.column
    require_labels(values, name, source)
    if not of.is_classification:
        return finite(numbers(values, name, source), name, source)
    labels = class_values(values, of.label_column.type, name, source)
    check_classes(labels, of, source, rows_per_class)
    return labels


def require_labels(values: pd.Series, name: str, source: str) -> None:
    missing = int(values.isna().sum())
    if missing == len(values):
        raise StepError(f"{source}: column {name} is all null ({missing} rows): training needs labels")
    if missing:
        raise StepError(f"{source}: column {name} is null in {missing} of {len(values)} rows: training needs labels")


def class_values(values: pd.Series, label_type: str, name: str, source: str) -> pd.Series:
    """Text classes as Python strings; numbered classes as int64 (they must be whole numbers)."""
    if label_type == "string":
        return text(values, name, source)
    return whole(numbers(values, name, source), name, source).astype("int64")


def declared_classes(of: schema.Contract) -> tuple[Any, ...]:
    return of.label.classes or of.label_column.values


def check_classes(labels: pd.Series, of: schema.Contract, source: str, rows_per_class: int) -> None:
    name = of.label.column
    declared = declared_classes(of)
    if declared:
        unknown = labels[~labels.isin(declared)]
        if not unknown.empty:
            raise StepError(
                f"{source}: column {name} must be one of {shown(declared)}, found {native(unknown.iloc[0])!r} "
                f"in {len(unknown)} row(s)"
            )
    counts = labels.value_counts()
    expected = declared or tuple(counts.index)
    absent = [value for value in expected if value not in counts.index]
    if of.task == "binary":
        check_binary_classes(counts, of, source)
    elif absent:
        raise StepError(
            f"{source}: column {name} has no row of class(es) {shown(absent)} ({len(labels)} rows): "
            "a classifier learns only the classes it sees; add rows of each, or drop the class from the contract"
        )
    elif len(counts) < 3:
        raise StepError(
            f"{source}: column {name} holds {len(counts)} class(es) ({shown(tuple(counts.index))}): "
            "a multiclass model needs three or more; for two, set task: binary in the data contract"
        )
    scarce = counts[counts < rows_per_class]
    if not scarce.empty:
        raise StepError(
            f"{source}: column {name} has only {int(scarce.iloc[0])} row(s) of class {native(scarce.index[0])!r}: "
            f"each class needs at least {rows_per_class} rows to be split and learned; add rows"
        )


def check_binary_classes(counts: pd.Series, of: schema.Contract, source: str) -> None:
    name, positive = of.label.column, of.label.positive_class
    if len(counts) == 1:
        raise StepError(
            f"{source}: column {name} holds only class {native(counts.index[0])!r} ({int(counts.iloc[0])} rows): "
            "a classifier needs examples of both classes"
        )
    if len(counts) > 2:
        raise StepError(
            f"{source}: column {name} holds {len(counts)} classes ({shown(tuple(counts.index))}), a binary label "
            "two; set task: multiclass in the data contract, or map the label to two values"
        )
    if positive not in counts.index:
        raise StepError(
            f"{source}: column {name} has no row of the positive class {positive!r} "
            f"(found {shown(tuple(counts.index))}); "
            "check label.positive_class in the data contract"
        )


def shown(values: tuple[Any, ...] | list[Any]) -> str:
    return schema.listing([repr(native(value)) for value in values])


def native(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (what JSON and messages show)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- model matrices


def model_matrix(frame: pd.DataFrame, inputs: tuple[str, ...], source: str, fix: str, with_label: bool) -> pd.DataFrame:
    """A set written by preprocess.py: the id, the model's input columns, and the label if ``with_label``."""
    of = schema.contract()
    expected = (of.id_column, *inputs, *((of.label.column,) if with_label else ()))
    require_rows(frame, source)
    check_columns(frame, expected, source, fix=fix)
    for name in inputs:
        if not types.is_numeric_dtype(frame[name]) or types.is_bool_dtype(frame[name]):
            raise StepError(f"{source}: model input column {name} has type {frame[name].dtype}, expected numbers")
        finite(frame[name], name, source)
    if with_label:
        # A split holds a share of each class: one row of each is what it must have.
        frame = frame.assign(**{of.label.column: conform_label(frame[of.label.column], source, rows_per_class=1)})
    return frame
