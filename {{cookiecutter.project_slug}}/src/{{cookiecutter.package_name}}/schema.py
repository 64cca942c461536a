"""The columns of the data: the two raw sources and the feature table the ETL writes.

Reference use case: will an airline booking add a checked bag? The raw data comes in two
related CSV sources, ``bookings`` and ``customers``, joined on ``customer_id``. The ETL
turns them into the *feature table*: one row per booking, the model's inputs, and (for
training data only) the label.

This module describes, and checks column names against the description; the Spark ETL
imports it too, so it uses the standard library alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from {{ cookiecutter.package_name }}.errors import StepError

ColumnType = Literal["string", "integer", "double", "date"]
UseType = Literal["train", "predict"]

USE_TYPES: tuple[UseType, ...] = ("train", "predict")
SHOWN_NAMES = 5  # column names an error lists before "and N more"
# The ETL partitions the feature table by this column (values are YYYY-MM-DD dates).
PARTITION_COLUMN = "execution_date"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str


ID_COLUMN = "booking_id"
BOOKING_ID = Column(ID_COLUMN, "string", "Booking reference, unique per booking")
LABEL = Column("bought_bag", "integer", "1 if the booking added a checked bag, else 0 (training data only)")

BOOKING_COLUMNS: tuple[Column, ...] = (
    BOOKING_ID,
    Column("customer_id", "string", "Loyalty-programme member; empty for guest bookings"),
    Column("booking_date", "date", "Day the booking was made"),
    Column("departure_date", "date", "Day of the (first) flight"),
    Column("origin", "string", "IATA code of the departure airport"),
    Column("destination", "string", "IATA code of the arrival airport"),
    Column("cabin", "string", "economy, premium_economy or business"),
    Column("fare", "double", "Total fare paid for all passengers, EUR"),
    Column("passengers", "integer", "Passengers on the booking"),
    Column("channel", "string", "web, mobile_app, travel_agent or call_center"),
    Column("days_to_departure", "integer", "Days between booking and departure"),
)

CUSTOMER_COLUMNS: tuple[Column, ...] = (
    Column("customer_id", "string", "Loyalty-programme member"),
    Column("loyalty_tier", "string", "none, silver, gold or platinum"),
    Column("home_airport", "string", "IATA code of the member's home airport"),
    Column("age_band", "string", "18-24, 25-34, 35-44, 45-54, 55-64 or 65+"),
    Column("signup_date", "date", "Day the member joined the programme"),
    Column("previous_bookings", "integer", "Bookings the member made in the previous two years"),
)

# The model's inputs, in the order the feature table holds them. Strings are categories,
# numbers are used as they are (missing values are imputed by the transformer).
FEATURE_COLUMNS: tuple[Column, ...] = (
    Column("cabin", "string", "From the booking"),
    Column("channel", "string", "From the booking"),
    Column("destination", "string", "From the booking"),
    Column("loyalty_tier", "string", "From the customer; empty for guest bookings"),
    Column("age_band", "string", "From the customer; empty for guest bookings"),
    Column("days_to_departure", "integer", "From the booking, or departure_date - booking_date"),
    Column("departure_month", "integer", "1-12, month of departure_date"),
    Column("departure_weekday", "integer", "1 (Monday) to 7 (Sunday), weekday of departure_date"),
    Column("passengers", "integer", "From the booking"),
    Column("fare_per_passenger", "double", "fare / passengers"),
    Column("departs_from_home", "integer", "1 if origin is the customer's home airport, 0 if not; empty for guests"),
    Column("customer_tenure_days", "integer", "booking_date - signup_date"),
    Column("previous_bookings", "integer", "From the customer"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(column.name for column in FEATURE_COLUMNS)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(c.name for c in FEATURE_COLUMNS if c.type == "string")
NUMERIC_FEATURES: tuple[str, ...] = tuple(c.name for c in FEATURE_COLUMNS if c.type != "string")


# What predict.py writes, one row per booking.
PREDICTION_COLUMNS: tuple[Column, ...] = (
    BOOKING_ID,
    Column("probability", "double", "Probability that the booking adds a checked bag"),
    Column("predicted_class", "integer", "1 if probability >= the decision threshold, else 0"),
    Column("model_version", "string", "Version of the published model (manifest.json)"),
    Column(PARTITION_COLUMN, "date", "Execution date of the run that scored the booking"),
)


def booking_columns(use_type: UseType) -> tuple[Column, ...]:
    """Columns of the raw bookings: only training data carries the label."""
    return (*BOOKING_COLUMNS, LABEL) if use_type == "train" else BOOKING_COLUMNS


def feature_table_columns(use_type: UseType) -> tuple[Column, ...]:
    """Columns of the feature table: the booking id, the features, and the label when training."""
    label = (LABEL,) if use_type == "train" else ()
    return (BOOKING_ID, *FEATURE_COLUMNS, *label)


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(column.name for column in columns)


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
