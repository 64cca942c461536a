"""What every step script's command line shares: argument types, logging, the error line.

Standard library only: the Spark ETL imports this module too.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys

from {{ cookiecutter.package_name }}.errors import StepError

# SageMaker Processing mounts inputs and collects outputs under these directories.
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_OUTPUT = "/opt/ml/processing/output"


def iso_date(text: str) -> str:
    """argparse type of ``--execution-date``: a real calendar date written YYYY-MM-DD."""
    try:
        date = datetime.date.fromisoformat(text)
    except ValueError:
        date = None
    # fromisoformat also reads forms such as 20240601; the storage paths use one form only.
    if date is None or date.isoformat() != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD (e.g. 2024-06-01)")
    return text


def iso_date_or_empty(text: str) -> str:
    """argparse type of a step's ``--execution-date``: a date, or empty for the execution's start day."""
    return text if text == "" else iso_date(text)


def execution_start(text: str) -> str:
    """argparse type of ``--execution-start``: an ISO 8601 time such as SageMaker's Execution.StartDateTime."""
    try:
        start_day(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2024-06-01T02:00:00Z)") from None
    return text


def start_day(start: str) -> str:
    """The UTC day of an ISO 8601 time; one without an offset is taken as UTC."""
    moment = datetime.datetime.fromisoformat(start)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.date().isoformat()


def run_date(execution_date: str, start: str | None) -> str:
    """The date that keys a run's outputs: ExecutionDate, or when it is empty the day the execution started.

    An execution started with the defaults (Studio's Start button, a schedule that passes no
    parameters) then writes under the day it ran, instead of failing.
    """
    if execution_date:
        return execution_date
    if not start:
        raise ValueError("the execution date is empty and no execution start time was given")
    return start_day(start)


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1: a test share, a decision threshold."""
    value = _number(text, float)
    if value is None or not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1 (both excluded)")
    return value


def _number(text: str, kind: type[int] | type[float]) -> int | float | None:
    try:
        return kind(text)
    except ValueError:
        return None


def configure_logging() -> None:
    """Progress lines with a timestamp, on stderr, as CloudWatch shows them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def report(error: StepError) -> int:
    """Print the one error line of a failed step and return its exit code."""
    print(f"ERROR: {error}", file=sys.stderr)
    return 1
