"""The local model server: the SageMaker container contract over HTTP, scoring as predict.py does."""

from __future__ import annotations

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

from {{ cookiecutter.package_name }} import files, local_runner, model_bundle, schema, serving, tables
from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

import predict

PROJECT_DIR = Path(__file__).resolve().parents[1]
JSON = "application/json"
CSV = "text/csv"


@pytest.fixture(scope="module")
def client(trained):
    """A started app (its model loaded) serving the published model of the shared train run."""
    with TestClient(serving.create_app(trained.latest_dir)) as started:
        yield started


@pytest.fixture(scope="module")
def rows(predict_sample) -> pd.DataFrame:
    """Feature-table rows with their booking ids, as a client would send them."""
    return predict_sample.features.head(25)


@pytest.fixture(scope="module")
def batch_probabilities(trained, prepared_predict_dir, tmp_path_factory) -> pd.Series:
    """predict.py's probabilities for the same bookings (PreprocessPredict, then Predict), by booking id."""
    predictions_dir = tmp_path_factory.mktemp("predictions")
    predict.predict(
        prepared_predict_dir, model_bundle.load_published(trained.latest_dir), predictions_dir, "2024-06-03"
    )
    return tables.read_table(predictions_dir, "predictions").set_index(schema.ID_COLUMN)["probability"]


def expected(batch_probabilities: pd.Series, rows: pd.DataFrame) -> list[float]:
    return batch_probabilities.loc[rows[schema.ID_COLUMN]].tolist()


def csv_numbers(text: str) -> list[float]:
    return [float(line) for line in text.splitlines()]


# --------------------------------------------------------------------------- the contract


def test_ping_answers_503_until_the_model_is_loaded(trained, rows):
    app = serving.create_app(trained.latest_dir)
    not_started = TestClient(app)  # outside `with`, the app's startup (which loads the model) has not run
    assert not_started.get("/ping").status_code == 503
    refused = not_started.post("/invocations", content=rows.to_json(orient="records"), headers={"Content-Type": JSON})
    assert refused.status_code == 503
    assert refused.json() == {"detail": "the model is not loaded yet"}
    with TestClient(app) as started:
        assert started.get("/ping").status_code == 200


def test_json_rows_score_as_predict_py(client, rows, batch_probabilities):
    response = client.post("/invocations", content=rows.to_json(orient="records"), headers={"Content-Type": JSON})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"probabilities": expected(batch_probabilities, rows)}


def test_csv_rows_score_as_predict_py_and_accept_picks_csv(client, rows, batch_probabilities):
    response = client.post(
        "/invocations",
        content=rows.to_csv(index=False),
        headers={"Content-Type": f"{CSV}; charset=utf-8", "Accept": CSV},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(CSV)
    assert csv_numbers(response.text) == expected(batch_probabilities, rows)


def test_headerless_csv_without_accept_gets_json(client, rows, batch_probabilities):
    headerless = rows[list(schema.FEATURE_NAMES)].to_csv(index=False, header=False)
    response = client.post("/invocations", content=headerless, headers={"Content-Type": CSV})
    assert response.headers["content-type"] == JSON
    assert response.json()["probabilities"] == expected(batch_probabilities, rows)


# --------------------------------------------------------------------------- bad requests


def csv_with_short_line(rows: pd.DataFrame) -> str:
    lines = rows.head(3).to_csv(index=False).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    return "\n".join(lines)


def csv_with_text_for_a_number(rows: pd.DataFrame) -> str:
    return rows.head(2).astype({"passengers": object}).assign(passengers="two").to_csv(index=False)


@pytest.mark.parametrize(
    ("make_body", "headers", "status", "message"),
    [
        (lambda rows: '[{"cabin": "economy",', {"Content-Type": JSON}, 400, "the request body is not valid JSON"),
        (csv_with_short_line, {"Content-Type": CSV}, 400, "CSV line 3 has 13 fields, expected 14"),
        (csv_with_text_for_a_number, {"Content-Type": CSV}, 400, "column passengers must hold numbers, found 'two'"),
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


# --------------------------------------------------------------------------- which model, command line


def where_a_local_train_run_publishes(work_dir: Path) -> Path:
    """The Publish step's output location in a local develop run, as the local runner computes it."""
    config = load_config("develop")
    run = local_runner.LocalRun(
        config, work_dir, local_runner.resolve_parameters(config, work_dir, {"ExecutionDate": "2024-06-01"})
    )
    return local_runner.output_location(run, PIPELINE.step("Publish"), "latest")


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


def test_the_command_serves_the_published_local_model_over_http(trained, rows, batch_probabilities, tmp_path):
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
        as_json = httpx.post(
            f"{url}/invocations", content=rows.to_json(orient="records"), headers={"Content-Type": JSON}
        )
        as_csv = httpx.post(
            f"{url}/invocations", content=rows.to_csv(index=False), headers={"Content-Type": CSV, "Accept": CSV}
        )
        malformed = httpx.post(f"{url}/invocations", content="{", headers={"Content-Type": JSON})
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl+C
        server.wait(timeout=30)
    assert as_json.json() == {"probabilities": expected(batch_probabilities, rows)}
    assert csv_numbers(as_csv.text) == expected(batch_probabilities, rows)
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["detail"]
    assert server.returncode == 0
    version = files.read_json(trained.latest_dir / model_bundle.MANIFEST_FILE, "manifest")["model_version"]
    assert f"Serving model {version} " in log.read_text()
