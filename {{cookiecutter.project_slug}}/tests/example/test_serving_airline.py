"""The airline example's model behind the local server: bookings in, bag probabilities out.

The generic serving tests build requests from the data contract; these send bookings as an
airline's client would write them, and check what the sample data's business rules imply.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import serving
from {{ cookiecutter.package_name }}.example import airline_sample

JSON = "application/json"
CSV = "text/csv"
# The README's request: an economy web booking to Palma by a silver member, in the contract's feature order.
README_BOOKING = "economy,web,PMI,silver,35-44,60,7,6,3,95.5,1,1200,4"


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(serving.create_app(trained.latest_dir)) as started:
        yield started


def score(client, bookings: pd.DataFrame) -> list[dict]:
    records = bookings.astype(object).where(bookings.notna(), None).to_dict(orient="records")
    response = client.post("/invocations", content=json.dumps(records), headers={"Content-Type": JSON})
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_the_readme_booking_gets_a_bag_probability(client):
    response = client.post("/invocations", content=README_BOOKING, headers={"Content-Type": CSV})
    assert response.status_code == 200, response.text
    (prediction,) = response.json()["predictions"]
    assert 0.0 <= prediction["probability"] <= 1.0
    assert prediction["predicted_class"] == int(prediction["probability"] >= 0.5)


def mean_probability(predictions: list[dict]) -> float:
    return sum(row["probability"] for row in predictions) / len(predictions)


def test_business_cabins_of_top_tier_members_buy_fewer_bags_than_economy_members(client, predict_sample):
    """Their fares include bags: the sample data gives them far lower odds, and the model learnt it."""
    bookings = predict_sample.features.head(100)
    business = score(client, bookings.assign(cabin="business", loyalty_tier="platinum"))
    economy = score(client, bookings.assign(cabin="economy", loyalty_tier="none"))
    assert mean_probability(business) < mean_probability(economy) - 0.1


def test_a_cabin_the_airline_does_not_sell_still_scores(client, predict_sample):
    """Unknown categories are encoded as none of the known ones, as in batch prediction."""
    (prediction,) = score(client, predict_sample.features.head(1).assign(cabin="first"))
    assert 0.0 <= prediction["probability"] <= 1.0


def test_passengers_as_words_are_refused_naming_the_column(client, predict_sample):
    booking = predict_sample.features.head(1).astype({"passengers": object}).assign(passengers="two")
    response = client.post("/invocations", content=booking.to_csv(index=False), headers={"Content-Type": CSV})
    assert response.status_code == 400
    assert response.json()["detail"] == "request: column passengers must hold numbers, found 'two' in 1 row(s)"


def test_the_answer_names_each_booking(client, predict_sample):
    bookings = predict_sample.features.head(3)
    assert [row[airline_sample.ID] for row in score(client, bookings)] == bookings[airline_sample.ID].tolist()
