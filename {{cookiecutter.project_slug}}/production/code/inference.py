"""Serving functions for the SageMaker scikit-learn container (and the local model server).

The container calls, per worker, ``model_fn(model_dir)`` once, then per request
``input_fn`` -> ``predict_fn`` -> ``output_fn``.

Requests carry rows of the *feature table* (the ETL's output columns, see ``schema.py``);
the model bundle's transformer turns them into model inputs, so a client never sees the
model matrix. ``booking_id`` may be sent and is ignored.

* ``text/csv``: one booking per line; a first line of column names is optional (without
  it, the columns are ``schema.FEATURE_NAMES`` in that order); empty fields are missing.
* ``application/json``: one object ``{"cabin": "economy", ...}`` or a list of them.

The response holds the probability that each booking adds a checked bag, in request order:
``{"probabilities": [0.81, ...]}`` (JSON, the default) or one number per line (CSV).

A request the model cannot score raises ``PayloadError`` (a ``ValueError``) whose message
says what to change and whose ``status_code`` (400, 406, 415) a server answers with.
"""

from __future__ import annotations

import csv
import io
import json
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
KNOWN_COLUMNS = frozenset((schema.ID_COLUMN, *schema.FEATURE_NAMES))


def model_fn(model_dir: str) -> ModelBundle:
    bundle = load_bundle(Path(model_dir))
    # Requests are checked against this code's schema: the model must read the same columns.
    schema.check_names(
        bundle.feature_columns,
        schema.FEATURE_NAMES,
        source=f"{model_dir} (the model)",
        fix="the model was trained on other features than this code serves: deploy a model trained with it",
    )
    return bundle


def input_fn(request_body: str | bytes, request_content_type: str) -> pd.DataFrame:
    """Feature-table rows from a request body, checked and typed."""
    media_type = base_media_type(request_content_type)
    if media_type not in (CSV, JSON):
        raise UnsupportedMediaTypeError(f"Content-Type {request_content_type!r} is not supported: send {CSV} or {JSON}")
    text = decode(request_body)
    frame = rows_from_csv(text) if media_type == CSV else rows_from_json(text)
    try:
        return conform_request(frame)
    except StepError as error:
        raise PayloadError(str(error)) from None


def predict_fn(input_data: pd.DataFrame, model: ModelBundle) -> np.ndarray:
    return model.score_features(input_data)


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[str, str]:
    """The response body and its content type: the first type of ``accept`` that is supported."""
    # repr-exact floats: a client gets the very numbers predict.py writes.
    probabilities = [float(value) for value in prediction]
    for media_type in accepted_media_types(accept or JSON):
        if media_type in (JSON, "*/*", "application/*"):
            return json.dumps({"probabilities": probabilities}), JSON
        if media_type in (CSV, "text/*"):
            return "".join(f"{value!r}\n" for value in probabilities), CSV
    raise NotAcceptableError(f"Accept {accept!r} is not supported: ask for {JSON} or {CSV}")


def accepted_media_types(accept: str) -> list[str]:
    """``text/csv, application/json;q=0.5`` -> ``["text/csv", "application/json"]``, in the client's order."""
    return [base_media_type(part) for part in accept.split(",") if part.strip()]


def base_media_type(content_type: str) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return content_type.split(";", 1)[0].strip().lower()


def decode(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the request body is not UTF-8 text ({error})") from None


def rows_from_csv(text: str) -> pd.DataFrame:
    lines = [fields for fields in csv.reader(io.StringIO(text)) if fields]
    if not lines:
        raise PayloadError("the CSV body is empty: send one line per booking")
    # Data lines hold values, never column names: a line naming any column is a header.
    has_header = any(field in KNOWN_COLUMNS for field in lines[0])
    columns = lines[0] if has_header else list(schema.FEATURE_NAMES)
    rows = lines[1:] if has_header else lines
    first_row_line = 2 if has_header else 1
    for number, fields in enumerate(rows, start=first_row_line):
        if len(fields) != len(columns):
            raise PayloadError(
                f"CSV line {number} has {len(fields)} fields, expected {len(columns)}: {', '.join(columns)}"
            )
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.where(frame != "", None)


def rows_from_json(text: str) -> pd.DataFrame:
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(f"the request body is not valid JSON ({error})") from None
    records = [content] if isinstance(content, dict) else content
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise PayloadError("the JSON body must be an object of feature-table columns, or a list of such objects")
    for number, record in enumerate(records):
        missing = [name for name in schema.FEATURE_NAMES if name not in record]
        if missing:
            raise PayloadError(f"JSON row {number} lacks {', '.join(missing)}: send null for a missing value")
    return pd.DataFrame.from_records(records)
