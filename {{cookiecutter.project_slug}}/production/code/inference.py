"""Serving functions for the SageMaker scikit-learn container (and the local model server).

The container calls, per worker, ``model_fn(model_dir)`` once, then per request
``input_fn`` -> ``predict_fn`` -> ``output_fn``.

Requests carry rows of the *feature table*: the data contract's features by their safe
names (``schema.contract().feature_names``); the model bundle's transformer turns them into
model inputs, so a client never sees the model matrix. The id column may be sent; the
answer then repeats it on each row.

* ``text/csv``: one row per line; a first line of column names is optional (without it,
  the columns are the features in the contract's order); empty fields are missing.
* ``application/json``: one object ``{"<feature>": value, ...}`` or a list of them; null is missing.

The answer holds one row per request row, in request order: the id when sent, then the
task's columns (``schema.prediction_value_columns``): ``probability`` and ``predicted_class``
(binary), ``probability_<class>`` per class and ``predicted_class`` (multiclass), or
``prediction`` (regression). As JSON (the default) ``{"predictions": [{...}, ...]}``; as CSV
a header line, then one line per row.

A request the model cannot score raises ``PayloadError`` (a ``ValueError``) whose message
says what to change and whose ``status_code`` (400, 406, 413, 415) a server answers with.
A body is measured before it is read: too many bytes, or JSON nested deeper than any
request, is refused without parsing it (Python's JSON parser recurses once per level).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.errors import (
    NotAcceptableError,
    PayloadError,
    StepError,
    UnsupportedMediaTypeError,
)
from {{ cookiecutter.package_name }}.model_bundle import ModelBundle, load_bundle
from {{ cookiecutter.package_name }}.validation import conform_request

CSV = "text/csv"
JSON = "application/json"
# SageMaker refuses larger payloads to a real-time endpoint; the local server refuses them too.
MAX_BODY_BYTES = 6 * 1024 * 1024
# A list of row objects is 2 levels deep; a value sent as a list or an object (3) gets an error
# naming its column. Deeper than this is no request of rows at all.
MAX_JSON_DEPTH = 8
# JSON strings may hold brackets: they are removed before the brackets are counted.
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
OPENING_BRACKETS = np.frombuffer(b"[{", dtype=np.uint8)
MAX_INTEGER_DIGITS = 18  # with a sign, any such integer fits int64


class PayloadTooLargeError(PayloadError):
    """The request body is larger than an endpoint accepts."""

    status_code = 413


def model_fn(model_dir: str) -> ModelBundle:
    """The model bundle, checked against the contract this code serves."""
    bundle = load_bundle(Path(model_dir))
    of = schema.contract()
    # Requests are checked against this code's contract: the model must read the same columns.
    schema.check_names(
        bundle.feature_columns,
        of.feature_names,
        source=f"{model_dir} (the model)",
        fix="the model was trained on other features than this code serves: deploy a model trained with it",
    )
    if bundle.task != of.task:
        raise StepError(
            f"{model_dir} (the model): trained for a {bundle.task} task, but this code serves a {of.task} task; "
            "deploy a model trained with this code"
        )
    return bundle


def input_fn(request_body: str | bytes, request_content_type: str) -> pd.DataFrame:
    """Feature-table rows from a request body, checked and typed."""
    require_size(body_size(request_body))
    media_type = base_media_type(request_content_type)
    if media_type not in (CSV, JSON):
        raise UnsupportedMediaTypeError(f"Content-Type {request_content_type!r} is not supported: send {CSV} or {JSON}")
    text = decode(request_body)
    frame = rows_from_csv(text) if media_type == CSV else rows_from_json(text)
    try:
        return conform_request(frame)
    except StepError as error:
        raise PayloadError(str(error)) from None


def predict_fn(input_data: pd.DataFrame, model: ModelBundle) -> pd.DataFrame:
    """The task's prediction columns for each row, after the id when the request sent it.

    A binary model's predicted class starts at the default decision threshold: an endpoint
    has the model archive alone, not the evaluation that chose predict.py's threshold.
    """
    values = model.predict_features(input_data)
    id_column = schema.contract().id_column
    if id_column not in input_data.columns:
        return values
    return pd.concat([input_data[[id_column]], values.set_axis(input_data.index)], axis="columns")


def output_fn(prediction: pd.DataFrame, accept: str | None) -> tuple[str, str]:
    """The response body and its content type: the first type of ``accept`` that is supported."""
    for media_type in accepted_media_types(accept or JSON):
        if media_type in (JSON, "*/*", "application/*"):
            return json.dumps({"predictions": plain_records(prediction)}), JSON
        if media_type in (CSV, "text/*"):
            return prediction.to_csv(index=False, lineterminator="\n", float_format=exact), CSV
    raise NotAcceptableError(f"Accept {accept!r} is not supported: ask for {JSON} or {CSV}")


def exact(value: float) -> str:
    """The shortest text that reads back as the same float: a client gets the very numbers predict.py writes."""
    return repr(float(value))


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of Python values (JSON has no NaN: a missing id is null)."""
    as_objects = frame.astype(object)
    return as_objects.where(frame.notna(), None).to_dict(orient="records")


# --------------------------------------------------------------------------- media types


def accepted_media_types(accept: str) -> list[str]:
    """``text/csv, application/json;q=0.5`` -> ``["text/csv", "application/json"]``, in the client's order."""
    return [base_media_type(part) for part in accept.split(",") if part.strip()]


def base_media_type(content_type: str) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return content_type.split(";", 1)[0].strip().lower()


# --------------------------------------------------------------------------- reading the body


def body_size(body: str | bytes) -> int:
    return len(body.encode("utf-8")) if isinstance(body, str) else len(body)


def require_size(size: int) -> None:
    """A body of ``size`` bytes is one an endpoint takes (the local server calls this as the body arrives)."""
    if size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the request body is larger than {MAX_BODY_BYTES} bytes, the most an endpoint takes: "
            "send fewer rows per request"
        )


def decode(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the request body is not UTF-8 text ({error})") from None


def rows_from_csv(text: str) -> pd.DataFrame:
    try:
        lines = [fields for fields in csv.reader(io.StringIO(text)) if fields]
    except csv.Error as error:  # a field over the csv module's size limit
        raise PayloadError(f"the CSV body is not readable ({error})") from None
    if not lines:
        raise PayloadError("the CSV body is empty: send one line per row")
    of = schema.contract()
    # Data lines hold values, never column names: a line naming any column is a header.
    has_header = any(field in (of.id_column, *of.feature_names) for field in lines[0])
    columns = lines[0] if has_header else list(of.feature_names)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise PayloadError(f"the CSV header names {schema.listing(repeated)} more than once: name each column once")
    rows = lines[1:] if has_header else lines
    first_row_line = 2 if has_header else 1
    for number, fields in enumerate(rows, start=first_row_line):
        if len(fields) != len(columns):
            raise PayloadError(
                f"CSV line {number} has {len(fields)} fields, expected {len(columns)}: {schema.listing(columns)}"
            )
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.where(frame != "", None)


def rows_from_json(text: str) -> pd.DataFrame:
    if json_depth(text) > MAX_JSON_DEPTH:
        raise PayloadError(
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels: send an object of feature-table columns, "
            "or a list of such objects"
        )
    try:
        content = json.loads(text, parse_int=json_integer)
    except json.JSONDecodeError as error:
        raise PayloadError(f"the request body is not valid JSON ({error})") from None
    records = [content] if isinstance(content, dict) else content
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise PayloadError("the JSON body must be an object of feature-table columns, or a list of such objects")
    features = schema.contract().feature_names
    for number, record in enumerate(records):
        missing = [name for name in features if name not in record]
        if missing:
            raise PayloadError(f"JSON row {number} lacks {schema.listing(missing)}: send null for a missing value")
    # Object columns keep JSON's own values (int, float, str, bool), so errors show them as sent.
    return pd.DataFrame(records, dtype=object)


def json_integer(text: str) -> int | float:
    """An integer as Python reads it, but one too long for int64 as a float: features are float64,
    and Python's int() refuses thousands of digits (a float beyond range reads as infinity, refused later)."""
    return int(text) if len(text) <= MAX_INTEGER_DIGITS else float(text)


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text: counted over its brackets, outside strings."""
    brackets = NOT_A_BRACKET.sub("", JSON_STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    return int(np.cumsum(np.where(np.isin(codes, OPENING_BRACKETS), 1, -1)).max())
