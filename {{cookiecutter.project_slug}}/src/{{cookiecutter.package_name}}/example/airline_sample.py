"""Sample data of the airline example: bookings, their customers, and who added a checked bag.

The data contract names this module as its ``sample_generator``, so ``sample_data.py`` writes
what it makes: the two raw sources of the contract, ``bookings`` and ``customers``. The same
seed and row count always give the same bytes. Training data carries the label
``bought_bag``; predict data does not. The label follows a logistic model of the booking
and customer attributes (economy fares, families, leisure routes and early bookings buy
bags; business cabins and top loyalty tiers, whose fares include bags, do not), so a
random forest reaches a ROC AUC of about 0.8 even on a few hundred rows.

``generate()`` also returns the feature table the ETL should derive from the two sources,
which the tests compare the ETL's output with.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.contract import Contract
from {{ cookiecutter.package_name }}.sample_data import DEFAULT_SEED, SampleData
from {{ cookiecutter.package_name }}.schema import USE_TYPES, UseType

BOOKINGS, CUSTOMERS = "bookings", "customers"
ID, LABEL = "booking_id", "bought_bag"
ROWS_PER_FILE = 1_000_000
BOOKINGS_PER_CUSTOMER = 3
GUEST_SHARE = 0.07
# Share of bookings whose days_to_departure field is left blank: the ETL recomputes it from the dates.
BLANK_DAYS_SHARE = 0.03

HUBS = ("LHR", "CDG", "AMS", "FRA", "MAD", "MUC", "DUB", "FCO")
LEISURE = ("PMI", "AGP", "FAO", "HER", "LPA", "NCE")
AIRPORTS = HUBS + LEISURE
CABINS = ("economy", "premium_economy", "business")
CHANNELS = ("web", "mobile_app", "travel_agent", "call_center")
TIERS = ("none", "silver", "gold", "platinum")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")

# Bookings of each use type fall in their own window and carry their own id prefix.
WINDOWS = {"train": (datetime.date(2024, 1, 1), 366, "BK24"), "predict": (datetime.date(2025, 1, 1), 90, "BK25")}
# Members signed up during the ten years before this day.
SIGNUP_END = datetime.date(2024, 1, 1)

# Effects on the log-odds of buying a bag. SIGNAL_SCALE multiplies them all; at 1.4 about
# 35% of bookings buy a bag, and a random forest reaches a test ROC AUC of about 0.85 on
# 2000 rows (0.75 to 0.9 on 300 rows, whose test split is only 60 bookings).
INTERCEPT = -2.8
CABIN_EFFECT = np.array([0.7, 0.0, -1.6])
TIER_EFFECT = np.array([0.35, 0.0, -0.9, -1.8])
GUEST_EFFECT = 0.2
CHANNEL_EFFECT = np.array([0.0, -0.25, 0.35, 0.2])
AGE_EFFECT = np.array([-0.5, -0.2, 0.1, 0.2, 0.3, 0.4])
PASSENGER_EFFECT = 0.45
EARLY_BOOKING_EFFECT = 1.2
HOLIDAY_MONTHS = (6, 7, 8, 12)
HOLIDAY_EFFECT = 0.6
WEEKEND_EFFECT = 0.3
LEISURE_DESTINATION_EFFECT = 0.8
OUTBOUND_EFFECT, RETURN_EFFECT = 0.45, -0.35
PREVIOUS_BOOKINGS_EFFECT = -0.05
SIGNAL_SCALE = 1.4


@dataclasses.dataclass(frozen=True)
class Customers:
    """Members as category codes (strings are only made when writing)."""

    tier: np.ndarray
    home: np.ndarray
    age: np.ndarray
    signup: np.ndarray  # datetime64[D]
    previous_bookings: np.ndarray

    def __len__(self) -> int:
        return len(self.tier)


def generate(contract: Contract, use_type: UseType, rows: int, seed: int = DEFAULT_SEED) -> SampleData:
    """All sample data in memory, with the feature table the ETL should derive from it."""
    customers = draw_customers(rows, seed)
    chunks = list(booking_chunks(contract, use_type, rows, seed, customers))
    return SampleData(
        sources={
            BOOKINGS: pd.concat([bookings for bookings, _, _ in chunks], ignore_index=True),
            CUSTOMERS: customer_frame(contract, customers),
        },
        expected_features=pd.concat([feature_frame(trips, label) for _, trips, label in chunks], ignore_index=True),
    )


def parts(
    contract: Contract, use_type: UseType, rows: int, seed: int = DEFAULT_SEED
) -> Iterator[dict[str, pd.DataFrame]]:
    """The sources file by file (at most ROWS_PER_FILE bookings each), so that ten million rows fit in memory."""
    customers = draw_customers(rows, seed)
    for bookings, _, _ in booking_chunks(contract, use_type, rows, seed, customers):
        yield {BOOKINGS: bookings}
    yield {CUSTOMERS: customer_frame(contract, customers)}


def random_stream(seed: int, *key: int) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the data."""
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def draw_customers(rows: int, seed: int) -> Customers:
    """About one member per BOOKINGS_PER_CUSTOMER bookings.

    Each attribute has its own stream, so that member ``n`` is the same person in every
    data set of the seed, whatever its size: train and predict data share their members.
    """
    count = max(20, rows // BOOKINGS_PER_CUSTOMER)
    tier = random_stream(seed, 0, 0).choice(len(TIERS), size=count, p=[0.55, 0.25, 0.14, 0.06])
    days_as_member = random_stream(seed, 0, 1).integers(30, 3650, size=count)
    return Customers(
        tier=tier,
        home=random_stream(seed, 0, 2).choice(len(AIRPORTS), size=count, p=airport_weights(hub_weight=3.0)),
        age=random_stream(seed, 0, 3).choice(len(AGE_BANDS), size=count, p=[0.10, 0.24, 0.23, 0.20, 0.14, 0.09]),
        signup=np.datetime64(SIGNUP_END, "D") - days_as_member,
        # Frequent flyers reach the higher tiers.
        previous_bookings=random_stream(seed, 0, 4).poisson(np.array([1.0, 4.0, 9.0, 18.0])[tier]),
    )


def airport_weights(hub_weight: float) -> np.ndarray:
    weights = np.array([hub_weight if airport in HUBS else 1.0 for airport in AIRPORTS])
    return weights / weights.sum()


def customer_frame(contract: Contract, customers: Customers) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": customer_ids(np.arange(len(customers))),
            "loyalty_tier": labels(TIERS, customers.tier),
            "home_airport": labels(AIRPORTS, customers.home),
            "age_band": labels(AGE_BANDS, customers.age),
            "signup_date": texts(customers.signup, date_texts),
            "previous_bookings": customers.previous_bookings,
        }
    )
    return frame[[column.name for column in contract.source(CUSTOMERS).columns]]


def customer_ids(numbers: np.ndarray) -> np.ndarray:
    return np.char.add("C", np.char.zfill(numbers.astype(str), 8))


def booking_chunks(
    contract: Contract, use_type: UseType, rows: int, seed: int, customers: Customers
) -> Iterator[tuple[pd.DataFrame, Trips, np.ndarray | None]]:
    """(raw bookings, the trips they record, their labels) per file of at most ROWS_PER_FILE bookings."""
    use_key = USE_TYPES.index(use_type) + 1
    for number, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        rng = random_stream(seed, use_key, number)
        trips = draw_trips(rng, use_type, np.arange(start, min(rows, start + ROWS_PER_FILE)), customers)
        # Drawn for predict data too, so that both use types consume the stream alike.
        label = (rng.random(len(trips.days)) < purchase_probability(trips)).astype(np.int64)
        label = label if use_type == "train" else None
        yield booking_frame(contract, use_type, trips, label, rng), trips, label


@dataclasses.dataclass(frozen=True)
class Trips:
    """One booking per element, as category codes and numbers."""

    booking_id: np.ndarray
    customer: np.ndarray  # index into Customers; meaningless where guest
    guest: np.ndarray
    booked: np.ndarray  # datetime64[D]
    days: np.ndarray
    cabin: np.ndarray
    passengers: np.ndarray
    channel: np.ndarray
    origin: np.ndarray
    destination: np.ndarray
    from_home: np.ndarray
    fare: np.ndarray
    tier: np.ndarray  # of the customer (guests: meaningless)
    age: np.ndarray
    signup: np.ndarray
    previous_bookings: np.ndarray

    @property
    def departs(self) -> np.ndarray:
        return self.booked + self.days


def draw_trips(rng: np.random.Generator, use_type: UseType, numbers: np.ndarray, customers: Customers) -> Trips:
    count = len(numbers)
    window_start, window_days, id_prefix = WINDOWS[use_type]

    customer = rng.integers(0, len(customers), size=count)
    guest = rng.random(count) < GUEST_SHARE
    tier = customers.tier[customer]
    # The trip's purpose is not in the data, but it shapes much of what is.
    leisure = rng.random(count) < np.where(tier >= 2, 0.35, 0.6)

    days = np.where(leisure, rng.exponential(55.0, count), rng.exponential(12.0, count))
    days = np.clip(np.rint(days), 0, 330).astype(np.int64)
    cabin = np.where(
        leisure,
        rng.choice(len(CABINS), size=count, p=[0.86, 0.10, 0.04]),
        rng.choice(len(CABINS), size=count, p=[0.55, 0.15, 0.30]),
    )
    passengers = np.where(
        leisure,
        rng.choice(np.arange(1, 6), size=count, p=[0.30, 0.35, 0.15, 0.14, 0.06]),
        rng.choice(np.arange(1, 4), size=count, p=[0.85, 0.12, 0.03]),
    )

    home = customers.home[customer]
    from_home = ~guest & (rng.random(count) < 0.62)
    origin = np.where(from_home, home, rng.choice(len(AIRPORTS), size=count, p=airport_weights(2.0)))
    # A member not departing from home departs from somewhere else.
    origin = np.where(~guest & ~from_home & (origin == home), (origin + 1) % len(AIRPORTS), origin)
    destination = np.where(
        leisure,
        rng.choice(len(AIRPORTS), size=count, p=airport_weights(hub_weight=0.3)),
        rng.choice(len(AIRPORTS), size=count, p=airport_weights(hub_weight=4.0)),
    )
    destination = np.where(destination == origin, (destination + 3) % len(AIRPORTS), destination)

    base_fare = np.array([90.0, 220.0, 520.0])[cabin] * rng.lognormal(0.0, 0.3, count)
    late_booking_premium = 1.0 + 0.8 * np.exp(-days / 10.0)
    fare = np.round(base_fare * late_booking_premium * passengers, 2)

    return Trips(
        booking_id=np.char.add(f"{id_prefix}-", np.char.zfill(numbers.astype(str), 9)),
        customer=customer,
        guest=guest,
        booked=np.datetime64(window_start, "D") + rng.integers(0, window_days, size=count),
        days=days,
        cabin=cabin,
        passengers=passengers,
        channel=rng.choice(len(CHANNELS), size=count, p=[0.45, 0.35, 0.12, 0.08]),
        origin=origin,
        destination=destination,
        from_home=from_home,
        fare=fare,
        tier=tier,
        age=customers.age[customer],
        signup=customers.signup[customer],
        previous_bookings=customers.previous_bookings[customer],
    )


def purchase_probability(trips: Trips) -> np.ndarray:
    """Probability that each booking adds a checked bag: a logistic model of what the data shows."""
    member = ~trips.guest
    departs = trips.departs
    logit = (
        INTERCEPT
        + CABIN_EFFECT[trips.cabin]
        + CHANNEL_EFFECT[trips.channel]
        + np.where(member, TIER_EFFECT[trips.tier] + AGE_EFFECT[trips.age], GUEST_EFFECT)
        + np.where(member, np.where(trips.from_home, OUTBOUND_EFFECT, RETURN_EFFECT), 0.0)
        + PREVIOUS_BOOKINGS_EFFECT * np.where(member, np.minimum(trips.previous_bookings, 30), 0)
        + PASSENGER_EFFECT * (trips.passengers - 1)
        + EARLY_BOOKING_EFFECT * (1.0 - np.exp(-trips.days / 30.0))
        + HOLIDAY_EFFECT * np.isin(month_of(departs), HOLIDAY_MONTHS)
        + WEEKEND_EFFECT * (iso_weekday(departs) >= 5)
        + LEISURE_DESTINATION_EFFECT * np.isin(np.array(AIRPORTS)[trips.destination], LEISURE)
    )
    return 1.0 / (1.0 + np.exp(-SIGNAL_SCALE * logit))


def booking_frame(
    contract: Contract, use_type: UseType, trips: Trips, label: np.ndarray | None, rng: np.random.Generator
) -> pd.DataFrame:
    """The raw bookings source, as the booking system would export it (with ``label`` for training)."""
    blank_days = rng.random(len(trips.days)) < BLANK_DAYS_SHARE
    frame = pd.DataFrame(
        {
            ID: trips.booking_id,
            "customer_id": np.where(trips.guest, None, texts(trips.customer, customer_ids)),
            "booking_date": texts(trips.booked, date_texts),
            "departure_date": texts(trips.departs, date_texts),
            "origin": labels(AIRPORTS, trips.origin),
            "destination": labels(AIRPORTS, trips.destination),
            "cabin": labels(CABINS, trips.cabin),
            "fare": trips.fare,
            "passengers": trips.passengers,
            "channel": labels(CHANNELS, trips.channel),
            "days_to_departure": missing_where(trips.days, blank_days),
        }
    )
    if label is not None:
        frame[LABEL] = label
    return frame[[column.name for column in contract.source(BOOKINGS).columns_for(use_type, LABEL)]]


def labels(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    """Category codes as their names: Python strings, one shared object per name.

    Indexing an object array is what keeps millions of rows quick: NumPy's own string
    arrays would each be converted to a new Python string per row by pandas.
    """
    return np.array(names, dtype=object)[codes]


def texts(values: np.ndarray, to_text: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``to_text(values)`` as Python strings, converting each distinct value only once."""
    distinct, positions = np.unique(values, return_inverse=True)
    return to_text(distinct).astype(object)[positions]


def date_texts(dates: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(dates, unit="D")


def feature_frame(trips: Trips, label: np.ndarray | None) -> pd.DataFrame:
    """The feature table the ETL should derive from the raw sources (with ``label`` for training)."""
    departs = trips.departs
    frame = pd.DataFrame(
        {
            ID: trips.booking_id,
            "cabin": np.array(CABINS)[trips.cabin],
            "channel": np.array(CHANNELS)[trips.channel],
            "destination": np.array(AIRPORTS)[trips.destination],
            "loyalty_tier": np.where(trips.guest, None, np.array(TIERS, dtype=object)[trips.tier]),
            "age_band": np.where(trips.guest, None, np.array(AGE_BANDS, dtype=object)[trips.age]),
            "days_to_departure": trips.days,
            "departure_month": month_of(departs),
            "departure_weekday": iso_weekday(departs),
            "passengers": trips.passengers,
            "fare_per_passenger": trips.fare / trips.passengers,
            "departs_from_home": missing_where(trips.from_home.astype(np.int64), trips.guest),
            "customer_tenure_days": missing_where((trips.booked - trips.signup).astype(np.int64), trips.guest),
            "previous_bookings": missing_where(trips.previous_bookings, trips.guest),
        }
    )
    if label is not None:
        frame[LABEL] = label
    return frame


def missing_where(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with gaps (pandas' nullable integers: empty fields in CSV, nulls in Parquet)."""
    return pd.arrays.IntegerArray(values.astype(np.int64), mask=missing.astype(bool))


def month_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[M]").astype(np.int64) % 12 + 1


def iso_weekday(dates: np.ndarray) -> np.ndarray:
    # Day 0, 1970-01-01, was a Thursday: ISO weekday 4.
    return (dates.astype(np.int64) + 3) % 7 + 1
