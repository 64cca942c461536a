"""EventBridge Scheduler expressions: checked the way SageMaker's scheduler would, and their next run.

Three forms (AWS: "Schedule types on EventBridge Scheduler")::

    cron(minutes hours day-of-month month day-of-week year)   e.g. cron(0 4 ? * MON-FRI *)
    rate(value unit)                                          e.g. rate(6 hours), rate(1 day)
    at(yyyy-mm-ddThh:mm:ss)                                   e.g. at(2027-01-31T09:00:00)

A cron is checked and stepped with ``cronsim`` after translating AWS's dialect to the classic
five fields: ``?`` becomes ``*``, day-of-week numbers go from 1-7 (Sunday = 1) to 0-6, and the
year field filters the results. AWS's ``W`` (nearest weekday) is not supported here.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
AT = re.compile(r"^at\((?P<moment>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# How far ahead a cron is searched for a year its year field allows.
MAX_CRON_STEPS = 10_000


class ExpressionError(ValueError):
    """The expression or timezone would be refused by EventBridge Scheduler (or by this check)."""


def check_timezone(name: str) -> ZoneInfo:
    try:
        if name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ExpressionError(f"{name!r} is not an IANA timezone name, e.g. UTC or Europe/Amsterdam") from None


def check_expression(expression: str) -> None:
    """Raise ExpressionError, with what is wrong and an example, unless the expression is valid."""
    if expression.startswith("rate("):
        rate_seconds(expression)
    elif expression.startswith("at("):
        at_moment(expression)
    elif expression.startswith("cron("):
        cron_parts(expression)
    else:
        raise ExpressionError(
            f"{expression!r}: write cron(...), rate(...) or at(...), e.g. cron(0 4 * * ? *) or rate(1 day)"
        )


def rate_seconds(expression: str) -> int:
    match = RATE.match(expression)
    if not match:
        raise ExpressionError(f"{expression!r}: write rate(<positive number> minutes|hours|days), e.g. rate(6 hours)")
    value, unit = int(match["value"]), match["unit"]
    if value < 1:
        raise ExpressionError(f"{expression!r}: the rate must be at least 1")
    # AWS is strict about the plural: rate(1 day) but rate(2 days).
    if (value == 1) != (not unit.endswith("s")):
        fixed = unit.rstrip("s") if value == 1 else unit + ("" if unit.endswith("s") else "s")
        raise ExpressionError(f"{expression!r}: write rate({value} {fixed})")
    return value * UNIT_SECONDS[unit.rstrip("s")]


def at_moment(expression: str) -> datetime.datetime:
    match = AT.match(expression)
    if not match:
        raise ExpressionError(f"{expression!r}: write at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-31T09:00:00)")
    try:
        return datetime.datetime.fromisoformat(match["moment"])
    except ValueError:
        raise ExpressionError(f"{expression!r}: {match['moment']} is not a date and time") from None


def cron_parts(expression: str) -> tuple[str, str]:
    """The classic five-field form of an AWS cron, and its year field."""
    from cronsim import CronSim, CronSimError

    match = CRON.match(expression)
    fields = match["fields"].split() if match else []
    if len(fields) != 6:
        raise ExpressionError(
            f"{expression!r}: a cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
            "e.g. cron(0 4 * * ? *)"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ExpressionError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    if "W" in day_of_month.upper():
        raise ExpressionError(f"{expression!r}: 'W' (nearest weekday) is not supported here; name the days instead")
    try:
        classic = " ".join([minutes, hours, star(day_of_month), month, star(weekday_numbers_from_zero(day_of_week))])
        CronSim(classic, datetime.datetime(2000, 1, 1))
        years_allowed(year, 2000)
    except (CronSimError, ValueError) as error:
        raise ExpressionError(f"{expression!r}: {error}") from None
    return classic, year


def star(field: str) -> str:
    return "*" if field == "?" else field


def weekday_numbers_from_zero(field: str) -> str:
    """AWS counts Sunday as 1 (to 7, Saturday); the classic cron counts Sunday as 0."""

    def shift(match: re.Match) -> str:
        number = int(match[0])
        if not 1 <= number <= 7:
            raise ValueError(f"day-of-week {number}: use 1-7 (1 = Sunday) or SUN-SAT")
        return str(number - 1)

    # Only day numbers move: the n of 'n#k' (k-th weekday n of the month) and of 'nL'.
    return re.sub(r"(?<![#/\d])\d+", shift, field)


def years_allowed(field: str, year: int) -> bool:
    """Whether the cron's year field admits this year (*, lists, ranges and steps)."""
    if field in ("*", "?"):
        return True
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 1970, 2199
        elif "-" in span:
            first, last = (int(bound) for bound in span.split("-", 1))
        else:
            first = last = int(span)
        if not 1970 <= first <= last <= 2199:
            raise ValueError(f"year field {field!r}: use years 1970-2199")
        if first <= year <= last and (year - first) % int(step or 1) == 0:
            return True
    return False


def next_run(
    expression: str,
    timezone: str,
    now: datetime.datetime,
    started: datetime.datetime | None = None,
) -> datetime.datetime | None:
    """The next moment after ``now`` the schedule fires (in its timezone), or None if never again.

    A rate counts from ``started`` (the schedule's start date, else when it was created).
    """
    zone = check_timezone(timezone)
    now = now.astimezone(zone)
    if expression.startswith("rate("):
        period = datetime.timedelta(seconds=rate_seconds(expression))
        origin = (started or now).astimezone(zone)
        if origin > now:
            return origin
        return origin + period * ((now - origin) // period + 1)
    if expression.startswith("at("):
        moment = at_moment(expression).replace(tzinfo=zone)
        return moment if moment > now else None
    return next_cron_run(expression, now)


def next_cron_run(expression: str, now: datetime.datetime) -> datetime.datetime | None:
    from cronsim import CronSim

    classic, year = cron_parts(expression)
    runs: Iterator[datetime.datetime] = CronSim(classic, now.replace(second=0, microsecond=0))
    for _, moment in zip(range(MAX_CRON_STEPS), runs, strict=False):
        if moment > now and years_allowed(year, moment.year):
            return moment
    return None
