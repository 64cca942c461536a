"""inference.py, called as the SageMaker scikit-learn container calls it.

Requests are built from the data contract and the generated sample feature table, so the
tests hold for every starter and task; the answers are compared with predict.py's.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import contract, model_bundle, schema, tables
from {{ cookiecutter.package_name }}.errors import PayloadError, StepError

import inference
import predict

CONTRACT = schema.contract()


@pytest.fixture(scope="module")
def model(trained):
    # SageMaker extracts model.tar.gz into /opt/ml/model before calling model_fn.
    return inference.model_fn(str(trained.extracted_dir))


@pytest.fixture(scope="module")
def batch_predictions(trained, prepared_predict_dir, tmp_path_factory) -> pd.DataFrame:
    """What predict.py writes for the same rows: the id and the task's columns, by id."""
    out = tmp_path_factory.mktemp("predictions")
    predict.predict(prepared_predict_dir, model_bundle.load_published(trained.latest_dir), out, "2024-06-03")
    predictions = tables.read_table(out, "predictions")
    return predictions.drop(columns=[schema.MODEL_VERSION_COLUMN, schema.PARTITION_COLUMN])


@pytest.fixture(scope="module")
def rows(predict_sample) -> pd.DataFrame:
    """Feature-table rows with gaps, as a client would send them."""
    return predict_sample.features.head(25)


def expected_answer(batch_predictions: pd.DataFrame, rows: pd.DataFrame) -> list[dict]:
    """predict.py's rows for ``rows``, in their order, as JSON gives them back."""
    by_id = batch_predictions.set_index(CONTRACT.id_column, drop=False)
    return plain_records(by_id.loc[rows[CONTRACT.id_column]])


def invoke(model, body: str | bytes, content_type: str, accept: str = inference.JSON) -> tuple[str, str]:
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type), model), accept)


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as Python values, null where missing (``to_json`` would round floats to 10 digits)."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def records(rows: pd.DataFrame) -> list[dict]:
    return plain_records(rows)


def json_body(rows: pd.DataFrame) -> str:
    return json.dumps(records(rows))


def feature_of_type(*types: str) -> str:
    """The first feature of the contract of one of ``types``."""
    names = [feature.name for feature in CONTRACT.features if feature.type in types]
    if not names:
        pytest.skip(f"the data contract has no {' or '.join(types)} feature")
    return names[0]


# --------------------------------------------------------------------------- answers


def test_json_rows_score_as_in_batch_prediction(model, rows, batch_predictions):
    body, content_type = invoke(model, json_body(rows), inference.JSON)
    assert content_type == inference.JSON
    assert json.loads(body) == {"predictions": expected_answer(batch_predictions, rows)}


def test_the_answer_has_the_columns_of_the_task(model, rows):
    answer = json.loads(invoke(model, json_body(rows), inference.JSON)[0])["predictions"]
    value_columns = schema.names(schema.prediction_value_columns(model.classes))
    assert all(list(row) == [CONTRACT.id_column, *value_columns] for row in answer)
    if CONTRACT.is_classification:
        assert {row["predicted_class"] for row in answer} <= set(model.classes)


def test_csv_with_header_answers_as_json_does(model, rows):
    body, content_type = invoke(model, rows.to_csv(index=False), "text/csv; charset=utf-8", accept=inference.CSV)
    assert content_type == inference.CSV
    as_json = json.loads(invoke(model, json_body(rows), inference.JSON)[0])["predictions"]
    pd.testing.assert_frame_equal(
        pd.read_csv(io.StringIO(body), dtype=str), pd.DataFrame(as_json).astype(str), check_exact=True
    )


def test_csv_without_header_reads_the_contract_order(model, rows):
    with_header = json.loads(invoke(model, rows.to_csv(index=False), inference.CSV)[0])["predictions"]
    headerless = rows[list(CONTRACT.feature_names)].to_csv(index=False, header=False)
    without_id = [{k: v for k, v in row.items() if k != CONTRACT.id_column} for row in with_header]
    assert json.loads(invoke(model, headerless, inference.CSV)[0])["predictions"] == without_id


def test_one_json_object_and_bytes(model, rows):
    single = json.dumps(records(rows.head(1))[0]).encode("utf-8")
    answer = json.loads(invoke(model, single, "application/json")[0])
    assert answer == json.loads(invoke(model, json_body(rows.head(1)), inference.JSON)[0])


def test_model_fn_reads_the_archive_too(trained, model, rows):
    from_archive = inference.model_fn(str(trained.model_dir))
    frame = inference.input_fn(json_body(rows), inference.JSON)
    pd.testing.assert_frame_equal(inference.predict_fn(frame, from_archive), inference.predict_fn(frame, model))


def test_any_accept_gets_json(model, rows):
    assert invoke(model, json_body(rows), inference.JSON, accept="*/*")[1] == inference.JSON


# --------------------------------------------------------------------------- models it refuses


def test_model_trained_on_other_features_is_refused_at_load(trained, republish):
    latest = republish(trained, lambda metadata: metadata["feature_columns"].append("not_a_contract_feature"))
    with pytest.raises(StepError, match=r"unexpected column\(s\) not_a_contract_feature"):
        inference.model_fn(str(latest))


def test_model_trained_for_another_task_is_refused_at_load(trained, monkeypatch):
    other = next(task for task in contract.TASKS if task != CONTRACT.task)
    # Code whose contract declares another task, with the same features.
    monkeypatch.setattr(schema, "contract", lambda: dataclasses.replace(CONTRACT, task=other))
    with pytest.raises(StepError, match=f"trained for a {CONTRACT.task} task, but this code serves a {other} task"):
        inference.model_fn(str(trained.extracted_dir))


def test_a_corrupt_model_is_one_error_at_load(corrupt_model_dir):
    with pytest.raises(StepError) as refused:
        inference.model_fn(str(corrupt_model_dir))
    assert model_bundle.MODEL_FILE in str(refused.value)
    assert "\n" not in str(refused.value)


# --------------------------------------------------------------------------- malformed requests


def expect_client_error(call, status: int, *fragments: str) -> str:
    with pytest.raises(PayloadError) as error_info:
        call()
    message = str(error_info.value)
    assert isinstance(error_info.value, ValueError)
    assert error_info.value.status_code == status
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    assert "np." not in message  # values are shown as a client wrote them
    return message


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
        ('"text"', inference.JSON, ["must be an object of feature-table columns"]),
        (b"\xff\xfe", inference.JSON, ["not UTF-8"]),
        ("x" * 200_000, inference.CSV, ["the CSV body is not readable (field larger than field limit"]),
    ],
    ids=["empty-csv", "bad-json", "no-rows", "json-text", "not-utf-8", "huge-field"],
)
def test_malformed_bodies(body, content_type, fragments):
    expect_client_error(lambda: inference.input_fn(body, content_type), 400, *fragments)


@pytest.mark.parametrize("content_type", [inference.JSON, inference.CSV])
def test_a_body_over_the_size_limit_is_refused_before_it_is_read(content_type):
    body = b" " * (inference.MAX_BODY_BYTES + 1)
    expect_client_error(
        lambda: inference.input_fn(body, content_type), 413, f"larger than {inference.MAX_BODY_BYTES} bytes"
    )


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,  # not even valid JSON: still refused before the parser recurses
    ],
    ids=["arrays", "objects", "unclosed"],
)
def test_json_nested_far_too_deep_is_a_client_error(body):
    expect_client_error(
        lambda: inference.input_fn(body, inference.JSON), 400, f"nests deeper than {inference.MAX_JSON_DEPTH} levels"
    )


def test_brackets_inside_strings_do_not_count_as_nesting(rows):
    name = feature_of_type("string")
    text = "[" * 100 + '"{' * 100  # json.dumps writes each quote as \"
    body = json.dumps([{**records(rows.head(1))[0], name: text}])
    assert inference.input_fn(body, inference.JSON)[name].iloc[0] == text


def test_json_row_without_a_feature(rows):
    name = CONTRACT.feature_names[0]
    body = records(rows.head(2))
    del body[1][name]
    expect_client_error(
        lambda: inference.input_fn(json.dumps(body), inference.JSON), 400, f"JSON row 1 lacks {name}: send null"
    )


def test_unknown_column(rows):
    body = json_body(rows.head(2).assign(not_a_contract_column="X"))
    expect_client_error(
        lambda: inference.input_fn(body, inference.JSON), 400, "request: unexpected column(s) not_a_contract_column"
    )


def test_the_id_column_is_optional(model, rows):
    with_id = json.loads(invoke(model, json_body(rows), inference.JSON)[0])["predictions"]
    without = json.loads(invoke(model, json_body(rows.drop(columns=[CONTRACT.id_column])), inference.JSON)[0])
    assert without["predictions"] == [{k: v for k, v in row.items() if k != CONTRACT.id_column} for row in with_id]


def with_value(rows: pd.DataFrame, name: str, value) -> str:
    """A JSON body of two rows whose feature ``name`` is ``value`` (a Python value) on the second row."""
    body = records(rows.head(2))
    body[1][name] = value
    return json.dumps(body)


def test_text_where_a_number_belongs(rows):
    name = feature_of_type("integer", "double")
    expect_client_error(
        lambda: inference.input_fn(with_value(rows, name, "two"), inference.JSON),
        400,
        f"request: column {name} must hold numbers, found 'two' in 1 row(s)",
    )


@pytest.mark.parametrize(("value", "shown"), [(2, "2 (int)"), (0.5, "0.5 (float)"), (True, "True (bool)")])
def test_a_number_where_text_belongs_is_shown_as_sent(rows, value, shown):
    name = feature_of_type("string")
    expect_client_error(
        lambda: inference.input_fn(with_value(rows, name, value), inference.JSON),
        400,
        f"request: column {name} must hold text, found {shown}",
    )


def test_true_is_no_number(rows):
    name = feature_of_type("integer", "double")
    expect_client_error(
        lambda: inference.input_fn(with_value(rows, name, True), inference.JSON),
        400,
        f"request: column {name} must hold numbers, found True in 1 row(s)",
    )


def test_a_fraction_for_an_integer_feature(rows):
    name = feature_of_type("integer")
    expect_client_error(
        lambda: inference.input_fn(with_value(rows, name, 2.5), inference.JSON),
        400,
        f"request: column {name} must hold whole numbers, found 2.5 in 1 row(s)",
    )


def json_with_raw_number(rows: pd.DataFrame, name: str, literal: str) -> str:
    """A JSON body whose feature ``name`` is written as ``literal`` on the second row (any JSON number text)."""
    return with_value(rows, name, "PLACEHOLDER").replace('"PLACEHOLDER"', literal)


def csv_with_raw_number(rows: pd.DataFrame, name: str, literal: str) -> str:
    two = rows.head(2).astype({name: object})
    two.loc[two.index[1], name] = literal
    return two.to_csv(index=False)


@pytest.mark.parametrize(
    ("make_body", "content_type", "literal", "shown"),
    [
        (json_with_raw_number, inference.JSON, "1e999", "inf"),
        (json_with_raw_number, inference.JSON, "-1e999", "-inf"),
        (json_with_raw_number, inference.JSON, "Infinity", "inf"),
        (json_with_raw_number, inference.JSON, "1e300", "1e+300"),
        (json_with_raw_number, inference.JSON, "-3.5e38", "-3.5e+38"),
        (json_with_raw_number, inference.JSON, "1" + "0" * 400, "inf"),
        (json_with_raw_number, inference.JSON, "9" * 5000, "inf"),  # beyond the digits Python's int() reads
        (csv_with_raw_number, inference.CSV, "inf", "inf"),
        (csv_with_raw_number, inference.CSV, "1e300", "1e+300"),
    ],
    ids=[
        "json-1e999",
        "json-minus-1e999",
        "json-Infinity",
        "json-1e300",
        "json-below-float32",
        "json-400-digit-integer",
        "json-5000-digit-integer",
        "csv-inf",
        "csv-1e300",
    ],
)
def test_numbers_beyond_float32_are_client_errors_naming_the_column(rows, make_body, content_type, literal, shown):
    name = feature_of_type("double")
    expect_client_error(
        lambda: inference.input_fn(make_body(rows, name, literal), content_type),
        400,
        f"request: column {name} holds 1 value(s) that are infinite or beyond ±3.4e+38, e.g. {shown};",
    )


def test_the_largest_float32_is_still_a_number(model, rows):
    name = feature_of_type("double")
    frame = inference.input_fn(json_with_raw_number(rows, name, "3.4e38"), inference.JSON)
    assert len(inference.predict_fn(frame, model)) == 2


def test_a_list_for_a_feature_is_a_column_error(rows):
    name = feature_of_type("integer", "double")
    expect_client_error(
        lambda: inference.input_fn(with_value(rows, name, [1, 2]), inference.JSON),
        400,
        f"request: column {name} must hold numbers, found [1, 2]",
    )


def test_csv_header_with_an_unknown_column(rows):
    label = CONTRACT.label.column
    body = rows.head(2).assign(**{label: "x"}).to_csv(index=False)
    expect_client_error(lambda: inference.input_fn(body, inference.CSV), 400, f"request: unexpected column(s) {label}")


def test_csv_header_naming_a_column_twice(rows):
    name = CONTRACT.feature_names[0]
    body = rows.head(2).assign(again=rows[name]).rename(columns={"again": name}).to_csv(index=False)
    expect_client_error(
        lambda: inference.input_fn(body, inference.CSV), 400, f"the CSV header names {name} more than once"
    )


def test_csv_line_with_too_few_fields(rows):
    lines = rows.head(3).to_csv(index=False).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    expect_client_error(
        lambda: inference.input_fn("\n".join(lines), inference.CSV),
        400,
        f"CSV line 3 has {len(rows.columns) - 1} fields, expected {len(rows.columns)}",
    )
