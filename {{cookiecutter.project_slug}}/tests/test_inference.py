"""inference.py, called as the SageMaker scikit-learn container calls it."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import model_bundle, schema, tables
from {{ cookiecutter.package_name }}.errors import PayloadError, StepError

import inference
import predict


@pytest.fixture(scope="module")
def model(trained):
    # SageMaker extracts model.tar.gz into /opt/ml/model before calling model_fn.
    return inference.model_fn(str(trained.extracted_dir))


@pytest.fixture(scope="module")
def batch_probabilities(trained, prepared_predict_dir, tmp_path_factory) -> pd.Series:
    """What predict.py gives the same bookings."""
    out = tmp_path_factory.mktemp("predictions")
    predict.predict(prepared_predict_dir, model_bundle.load_published(trained.latest_dir), out, "2024-06-03")
    return tables.read_table(out, "predictions").set_index(schema.ID_COLUMN)["probability"]


@pytest.fixture(scope="module")
def rows(predict_sample) -> pd.DataFrame:
    """Feature-table rows with gaps (guests), as a client would send them."""
    return predict_sample.features.head(25)


def invoke(model, body: str | bytes, content_type: str, accept: str = inference.JSON) -> tuple[str, str]:
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type), model), accept)


def json_body(rows: pd.DataFrame) -> str:
    return rows.to_json(orient="records")


def test_json_rows_score_as_in_batch_prediction(model, rows, batch_probabilities):
    body, content_type = invoke(model, json_body(rows), inference.JSON)
    assert content_type == inference.JSON
    expected = batch_probabilities.loc[rows[schema.ID_COLUMN]].tolist()
    assert json.loads(body) == {"probabilities": expected}


def test_csv_with_header_scores_as_in_batch_prediction(model, rows, batch_probabilities):
    body, content_type = invoke(model, rows.to_csv(index=False), "text/csv; charset=utf-8", accept=inference.CSV)
    assert content_type == inference.CSV
    scored = np.loadtxt(io.StringIO(body))
    np.testing.assert_array_equal(scored, batch_probabilities.loc[rows[schema.ID_COLUMN]].to_numpy())


def test_csv_without_header_reads_the_schema_order(model, rows):
    with_header = invoke(model, rows.to_csv(index=False), inference.CSV)[0]
    headerless = rows[list(schema.FEATURE_NAMES)].to_csv(index=False, header=False)
    assert invoke(model, headerless, inference.CSV)[0] == with_header


def test_one_json_object_and_bytes(model, rows):
    single = json.dumps(json.loads(json_body(rows.head(1)))[0]).encode("utf-8")
    probabilities = json.loads(invoke(model, single, "application/json")[0])["probabilities"]
    assert probabilities == json.loads(invoke(model, json_body(rows.head(1)), inference.JSON)[0])["probabilities"]


def test_model_fn_reads_the_archive_too(trained, model, rows):
    from_archive = inference.model_fn(str(trained.model_dir))
    frame = inference.input_fn(json_body(rows), inference.JSON)
    assert inference.predict_fn(frame, from_archive).tolist() == inference.predict_fn(frame, model).tolist()


def test_any_accept_gets_json(model, rows):
    assert invoke(model, json_body(rows), inference.JSON, accept="*/*")[1] == inference.JSON


def test_model_trained_on_other_features_is_refused_at_load(trained, republish):
    latest = republish(trained, lambda metadata: metadata["feature_columns"].append("route"))
    with pytest.raises(StepError, match=r"unexpected column\(s\) route"):
        inference.model_fn(str(latest))


# --------------------------------------------------------------------------- malformed requests


def expect_client_error(call, status: int, *fragments: str) -> None:
    with pytest.raises(PayloadError) as error_info:
        call()
    assert isinstance(error_info.value, ValueError)
    assert error_info.value.status_code == status
    for fragment in fragments:
        assert fragment in str(error_info.value)


def test_unsupported_content_type(rows):
    expect_client_error(
        lambda: inference.input_fn(json_body(rows), "application/x-npy"),
        415,
        "Content-Type 'application/x-npy' is not supported: send text/csv or application/json",
    )


def test_unsupported_accept(model, rows):
    prediction = inference.predict_fn(inference.input_fn(json_body(rows), inference.JSON), model)
    expect_client_error(
        lambda: inference.output_fn(prediction, "application/x-protobuf"), 406, "Accept 'application/x-protobuf'"
    )


@pytest.mark.parametrize(
    ("body", "content_type", "fragments"),
    [
        ("", inference.CSV, ["the CSV body is empty"]),
        ("{not json", inference.JSON, ["the request body is not valid JSON"]),
        ("[]", inference.JSON, ["request: no rows"]),
        ('"economy"', inference.JSON, ["must be an object of feature-table columns"]),
        (b"\xff\xfe", inference.JSON, ["not UTF-8"]),
    ],
)
def test_malformed_bodies(body, content_type, fragments):
    expect_client_error(lambda: inference.input_fn(body, content_type), 400, *fragments)


def test_json_row_without_a_feature(rows):
    records = json.loads(json_body(rows.head(2)))
    del records[1]["cabin"]
    expect_client_error(lambda: inference.input_fn(json.dumps(records), inference.JSON), 400, "JSON row 1 lacks cabin")


def test_unknown_column(rows):
    body = json_body(rows.head(2).assign(coupon="X"))
    expect_client_error(lambda: inference.input_fn(body, inference.JSON), 400, "request: unexpected column(s) coupon")


def test_text_where_a_number_belongs(rows):
    body = json_body(rows.head(2).astype({"passengers": object}).assign(passengers="two"))
    expect_client_error(
        lambda: inference.input_fn(body, inference.JSON),
        400,
        "request: column passengers must hold numbers, found 'two'",
    )


def test_number_where_text_belongs(rows):
    body = json_body(rows.head(2).assign(cabin=2))
    expect_client_error(lambda: inference.input_fn(body, inference.JSON), 400, "request: column cabin must hold text")


def test_csv_header_with_an_unknown_column(rows):
    body = rows.head(2).assign(bought_bag=1).to_csv(index=False)
    expect_client_error(
        lambda: inference.input_fn(body, inference.CSV), 400, "request: unexpected column(s) bought_bag"
    )


def test_csv_line_with_too_few_fields(rows):
    lines = rows.head(3).to_csv(index=False).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    expect_client_error(
        lambda: inference.input_fn("\n".join(lines), inference.CSV),
        400,
        f"CSV line 3 has {len(schema.feature_table_columns('predict')) - 1} fields, expected",
    )
