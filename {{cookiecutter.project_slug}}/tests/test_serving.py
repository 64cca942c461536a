"""The local model server: the SageMaker container contract over HTTP, scoring as predict.py does."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import files, local_plan, model_bundle, schema, serving, tables
from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

import inference
import predict

PROJECT_DIR = Path(__file__).resolve().parents[1]
JSON = "application/json"
CSV = "text/csv"
CONTRACT = schema.contract()


@pytest.fixture(scope="module")
def client(trained):
    """A started app (its model loaded) serving the published model of the shared train run."""
    with TestClient(serving.create_app(trained.latest_dir)) as started:
        yield started


@pytest.fixture(scope="module")
def rows(predict_sample) -> pd.DataFrame:
    """Feature-table rows with their ids, as a client would send them."""
    return predict_sample.features.head(25)


@pytest.fixture(scope="module")
def batch_predictions(trained, prepared_predict_dir, tmp_path_factory) -> pd.DataFrame:
    """predict.py's rows for the same ids (PreprocessPredict, then Predict): the id and the task's columns."""
    predictions_dir = tmp_path_factory.mktemp("predictions")
    predict.predict(
        prepared_predict_dir, model_bundle.load_published(trained.latest_dir), predictions_dir, "2024-06-03"
    )
    predictions = tables.read_table(predictions_dir, "predictions")
    return predictions.drop(columns=[schema.MODEL_VERSION_COLUMN, schema.PARTITION_COLUMN])


def classes(trained) -> tuple:
    return model_bundle.load_bundle(trained.model_dir).classes


def expected(batch_predictions: pd.DataFrame, rows: pd.DataFrame) -> list[dict]:
    """The answer's rows: predict.py's, in request order, as JSON gives them back."""
    by_id = batch_predictions.set_index(CONTRACT.id_column, drop=False)
    return plain_records(by_id.loc[rows[CONTRACT.id_column]])


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as Python values, null where missing (``to_json`` would round floats to 10 digits)."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def json_body(rows: pd.DataFrame) -> str:
    return json.dumps(plain_records(rows))


def csv_rows(text: str, classes: tuple = ()) -> list[dict]:
    """A CSV answer as JSON rows, to compare the two formats (text columns read as text)."""
    columns = (CONTRACT.main.column(CONTRACT.id_column), *schema.prediction_value_columns(classes))
    text_columns = {column.safe_name: str for column in columns if column.type == "string"}
    return plain_records(pd.read_csv(io.StringIO(text), dtype=text_columns, float_precision="round_trip"))


# --------------------------------------------------------------------------- the contract


def test_ping_answers_503_until_the_model_is_loaded(trained, rows):
    app = serving.create_app(trained.latest_dir)
    not_started = TestClient(app)  # outside `with`, the app's startup (which loads the model) has not run
    assert not_started.get("/ping").status_code == 503
    refused = not_started.post("/invocations", content=json_body(rows), headers={"Content-Type": JSON})
    assert refused.status_code == 503
    assert refused.json() == {"detail": "the model is not loaded yet"}
    with TestClient(app) as started:
        assert started.get("/ping").status_code == 200


def test_json_rows_score_as_predict_py(client, rows, batch_predictions):
    response = client.post("/invocations", content=json_body(rows), headers={"Content-Type": JSON})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"predictions": expected(batch_predictions, rows)}


def test_csv_rows_score_as_predict_py_and_accept_picks_csv(client, trained, rows, batch_predictions):
    response = client.post(
        "/invocations",
        content=rows.to_csv(index=False),
        headers={"Content-Type": f"{CSV}; charset=utf-8", "Accept": CSV},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(CSV)
    assert csv_rows(response.text, classes(trained)) == expected(batch_predictions, rows)


def test_headerless_csv_without_accept_gets_json(client, rows, batch_predictions):
    headerless = rows[list(CONTRACT.feature_names)].to_csv(index=False, header=False)
    response = client.post("/invocations", content=headerless, headers={"Content-Type": CSV})
    assert response.headers["content-type"] == JSON
    without_ids = [
        {name: value for name, value in row.items() if name != CONTRACT.id_column}
        for row in expected(batch_predictions, rows)
    ]
    assert response.json()["predictions"] == without_ids


# --------------------------------------------------------------------------- bad requests


def csv_with_short_line(rows: pd.DataFrame) -> str:
    lines = rows.head(3).to_csv(index=False).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    return "\n".join(lines)


def first_numeric_feature() -> str:
    return CONTRACT.numeric_features[0]


def csv_with_text_for_a_number(rows: pd.DataFrame) -> str:
    name = first_numeric_feature()
    return rows.head(2).astype({name: object}).assign(**{name: "two"}).to_csv(index=False)


def json_with_a_huge_number(rows: pd.DataFrame) -> str:
    body = plain_records(rows.head(2))
    body[1][first_numeric_feature()] = "HUGE"
    return json.dumps(body).replace('"HUGE"', "1e999")


@pytest.mark.parametrize(
    ("make_body", "headers", "status", "message"),
    [
        (lambda rows: "[{", {"Content-Type": JSON}, 400, "the request body is not valid JSON"),
        (
            csv_with_short_line,
            {"Content-Type": CSV},
            400,
            f"CSV line 3 has {len(CONTRACT.feature_names)} fields, expected {len(CONTRACT.feature_names) + 1}",
        ),
        (
            csv_with_text_for_a_number,
            {"Content-Type": CSV},
            400,
            f"column {first_numeric_feature()} must hold numbers, found 'two'",
        ),
        (
            json_with_a_huge_number,
            {"Content-Type": JSON},
            400,
            f"column {first_numeric_feature()} holds 1 value(s) that are infinite or beyond ±3.4e+38, e.g. inf",
        ),
        (lambda rows: "[" * 100_000 + "]" * 100_000, {"Content-Type": JSON}, 400, "the JSON body nests deeper than"),
        (lambda rows: "", {"Content-Type": CSV}, 400, "the CSV body is empty"),
        (lambda rows: "", {"Content-Type": JSON}, 400, "the request body is not valid JSON"),
        (lambda rows: rows.to_json(), {"Content-Type": "application/x-npy"}, 415, "Content-Type 'application/x-npy'"),
        (lambda rows: rows.to_csv(index=False), {}, 415, "send text/csv or application/json"),
        (
            lambda rows: rows.to_csv(index=False),
            {"Content-Type": CSV, "Accept": "application/x-protobuf"},
            406,
            "Accept 'application/x-protobuf' is not supported",
        ),
    ],
    ids=[
        "bad-json",
        "wrong-field-count",
        "text-for-a-number",
        "infinite-number",
        "nested-100000-deep",
        "empty-csv",
        "empty-json",
        "unsupported-content-type",
        "no-content-type",
        "unsupported-accept",
    ],
)
def test_bad_request_gets_the_client_error_of_inference_py(client, rows, make_body, headers, status, message):
    response = client.post("/invocations", content=make_body(rows), headers=headers)
    assert response.status_code == status
    detail = response.json()["detail"]
    assert message in detail
    assert "\n" not in detail


TOO_LARGE = f"the request body is larger than {inference.MAX_BODY_BYTES} bytes"


def test_a_body_too_large_is_refused_by_its_content_length(client):
    response = client.post(
        "/invocations", content=b" " * (inference.MAX_BODY_BYTES + 1), headers={"Content-Type": JSON}
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith(TOO_LARGE)


def test_a_body_too_large_is_refused_while_it_streams_in(client):
    chunk = b" " * (1024 * 1024)

    def chunks():  # no Content-Length: the body arrives in chunks
        for _ in range(inference.MAX_BODY_BYTES // len(chunk) + 5):
            yield chunk

    response = client.post("/invocations", content=chunks(), headers={"Content-Type": JSON})
    assert response.status_code == 413
    assert response.json()["detail"].startswith(TOO_LARGE)


def test_a_body_at_the_size_limit_is_read(client, rows):
    body = json_body(rows.head(1))
    padded = body + " " * (inference.MAX_BODY_BYTES - len(body))
    response = client.post("/invocations", content=padded, headers={"Content-Type": JSON})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1


# --------------------------------------------------------------------------- which model, command line


def where_a_local_train_run_publishes(work_dir: Path) -> Path:
    """The Publish step's output location in a local develop run, as the local runner computes it."""
    config = load_config("develop")
    run = local_plan.LocalRun(
        config, work_dir, local_plan.resolve_parameters(config, work_dir, {"ExecutionDate": "2024-06-01"})
    )
    return local_plan.output_location(run, PIPELINE.step("Publish"), "latest")


def test_default_model_is_the_one_a_local_train_run_publishes(tmp_path):
    assert serving.published_model_dir(load_config("develop"), tmp_path) == where_a_local_train_run_publishes(tmp_path)


def single_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("serving: error: ")
    return lines[0]


def test_without_a_published_model_it_says_to_train_first(tmp_path, capsys):
    assert serving.main(["--work-dir", str(tmp_path)]) == 1
    error = single_error_line(capsys.readouterr().err)
    assert str(where_a_local_train_run_publishes(tmp_path)) in error
    assert "make run-local USE_TYPE=train" in error


def test_a_directory_without_a_model_is_refused_in_one_line(tmp_path, capsys):
    assert serving.main(["--model-dir", str(tmp_path)]) == 1
    assert "no model here" in single_error_line(capsys.readouterr().err)


def test_a_corrupt_model_is_refused_in_one_line_before_the_server_starts(corrupt_model_dir, capsys):
    assert serving.main(["--model-dir", str(corrupt_model_dir)]) == 1
    error = single_error_line(capsys.readouterr().err)
    assert str(corrupt_model_dir) in error
    assert model_bundle.MODEL_FILE in error


def test_an_app_with_a_corrupt_model_fails_at_startup(corrupt_model_dir):
    app = serving.create_app(corrupt_model_dir)
    with pytest.raises(StepError, match=model_bundle.MODEL_FILE), TestClient(app):
        pass


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_port_must_be_a_port_number(port, capsys):
    with pytest.raises(SystemExit):
        serving.parse_arguments(["--port", port])
    assert "is not a port number" in capsys.readouterr().err


# --------------------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(url: str, server: subprocess.Popen, log: Path) -> None:
    """Poll /ping until the server answers 200 (loading the model and importing take a few seconds)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ping").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer /ping within 60 s:\n{log.read_text()}")


def test_the_command_serves_the_published_local_model_over_http(trained, rows, batch_predictions, tmp_path):
    work_dir = tmp_path / "local"
    shutil.copytree(trained.latest_dir, where_a_local_train_run_publishes(work_dir))
    port, log = free_port(), tmp_path / "server.log"
    command = [sys.executable, "-m", serving.__name__, "--work-dir", str(work_dir), "--port", str(port)]
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")}  # as `make serve` runs it
    with log.open("w") as output:
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ping(url, server, log)
        as_json = httpx.post(f"{url}/invocations", content=json_body(rows), headers={"Content-Type": JSON})
        as_csv = httpx.post(
            f"{url}/invocations", content=rows.to_csv(index=False), headers={"Content-Type": CSV, "Accept": CSV}
        )
        malformed = httpx.post(f"{url}/invocations", content="{", headers={"Content-Type": JSON})
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl+C
        server.wait(timeout=30)
    assert as_json.json() == {"predictions": expected(batch_predictions, rows)}
    assert csv_rows(as_csv.text, classes(trained)) == expected(batch_predictions, rows)
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["detail"]
    assert server.returncode == 0
    version = files.read_json(trained.latest_dir / model_bundle.MANIFEST_FILE, "manifest")["model_version"]
    assert f"Serving model {version} " in log.read_text()
