"""The tables the steps pass to each other, derived from the data contract (``contract.py``).

The ETL turns the raw sources into the *feature table*: one row per id, the model's inputs,
and (for training data only) the label. Preprocess turns it into model matrices, predict
into predictions. This module names their columns and checks column names against them;
the Spark ETL imports it too, so it uses the standard library alone.
"""

from __future__ import annotations

from typing import Any, Literal

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }}.contract import Column, Contract
from {{ cookiecutter.package_name }}.errors import StepError

UseType = Literal["train", "predict"]

USE_TYPES: tuple[UseType, ...] = ("train", "predict")
SHOWN_NAMES = 5  # column names an error lists before "and N more"
# The ETL partitions the feature table by this column (values are YYYY-MM-DD dates).
PARTITION_COLUMN = "execution_date"
MODEL_VERSION_COLUMN = "model_version"
PREDICTED_CLASS_COLUMN = "predicted_class"
PROBABILITY_COLUMN = "probability"  # binary: probability of the positive class
PREDICTION_COLUMN = "prediction"  # regression

__all__ = ["Column", "Contract", "UseType", "contract"]


def contract() -> Contract:
    """The project's data contract (read once per process)."""
    return data_contract.load()


def feature_table_columns(use_type: UseType, of: Contract | None = None) -> tuple[Column, ...]:
    """Columns of the feature table: the id, the features, and the label when training."""
    return (of or contract()).feature_table_columns(use_type)


def prediction_value_columns(classes: tuple[Any, ...] = (), of: Contract | None = None) -> tuple[Column, ...]:
    """What predict.py writes for each row beside the id: per task, from the model's classes.

    binary      ``probability`` (of the positive class) and ``predicted_class``
    multiclass  ``probability_<class>`` for each class and ``predicted_class``
    regression  ``prediction``
    """
    of = of or contract()
    label_type = of.label_column.type
    if of.task == "regression":
        return (Column(PREDICTION_COLUMN, "double", "Predicted value of the label", safe_name=PREDICTION_COLUMN),)
    if of.task == "binary":
        probabilities = (
            Column(
                PROBABILITY_COLUMN,
                "double",
                f"Probability of {of.label.positive_class!r}",
                safe_name=PROBABILITY_COLUMN,
            ),
        )
    else:
        probabilities = tuple(
            Column(name, "double", f"Probability of {value!r}", safe_name=name)
            for value in classes
            for name in (data_contract.class_column(value),)
        )
    predicted = Column(PREDICTED_CLASS_COLUMN, label_type, "The most likely class", safe_name=PREDICTED_CLASS_COLUMN)
    return (*probabilities, predicted)


def prediction_columns(classes: tuple[Any, ...] = (), of: Contract | None = None) -> tuple[Column, ...]:
    """The predictions table: id, the task's values, the model version, the execution date."""
    of = of or contract()
    return (
        of.main.column(of.id_column),
        *prediction_value_columns(classes, of),
        Column(MODEL_VERSION_COLUMN, "string", "Version of the published model", safe_name=MODEL_VERSION_COLUMN),
        Column(PARTITION_COLUMN, "date", "Execution date of the run that scored the row", safe_name=PARTITION_COLUMN),
    )


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """Safe names: how the steps' tables spell the columns."""
    return tuple(column.safe_name for column in columns)


def check_names(
    found: tuple[str, ...] | list[str], expected: tuple[str, ...], source: str, fix: str, optional: tuple[str, ...] = ()
) -> None:
    """``found`` holds every ``expected`` column name and no other (``optional`` ones may be there)."""
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected and name not in optional]
    problems = [
        f"{problem} column(s) {listing(names)}"
        for problem, names in (("missing", missing), ("unexpected", extra))
        if names
    ]
    if problems:
        raise StepError(f"{source}: {'; '.join(problems)}; {fix}")


def listing(names: list[str]) -> str:
    shown = ", ".join(str(name) for name in names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown
