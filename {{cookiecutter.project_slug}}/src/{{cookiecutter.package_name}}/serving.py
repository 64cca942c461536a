"""A local model server that speaks the SageMaker inference container contract.

    python -m {{ cookiecutter.package_name }}.serving [--model-dir DIR] [--environment develop] [--work-dir build/local] \\
        [--host 127.0.0.1] [--port 8080]

* ``GET /ping``: 200 once the model is loaded, 503 before.
* ``POST /invocations``: feature-table rows as ``text/csv`` or ``application/json``
  (see inference.py); the answer is JSON, or CSV when the request says ``Accept: text/csv``.

The model's work is done by ``production/code/inference.py``, the functions SageMaker's
scikit-learn container calls on an endpoint: ``model_fn`` loads, ``input_fn`` reads and
checks the request, ``predict_fn`` scores, ``output_fn`` writes the answer. This module
only carries HTTP around them, so a request answered here is answered the same way on an
endpoint. A request the model cannot read gets the 4xx status and message of the error
``input_fn``/``output_fn`` raise; a body larger than an endpoint takes (``inference.MAX_BODY_BYTES``)
is refused with 413 as soon as its size is known, before it is read whole.

Without ``--model-dir`` it serves the model the last local train run published
(``models/latest`` in the environment's local S3 mirror), the one predict runs use, and
refuses it when predict.py would. ``--model-dir`` serves any model directory as an endpoint
would: ``model.tar.gz``, or its extracted files as in ``/opt/ml/model``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.package_name }} import local_plan, pipeline_spec
from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config
from {{ cookiecutter.package_name }}.errors import PayloadError, StepError
from {{ cookiecutter.package_name }}.model_bundle import load_published

INFERENCE_SCRIPT = local_plan.CODE_DIR / "inference.py"

router = APIRouter()


# --------------------------------------------------------------------------- the app


def create_app(model_dir: Path) -> FastAPI:
    """The server of the model in ``model_dir``; the model is loaded when the app starts."""
    app = FastAPI(
        title="Model server (SageMaker inference container contract)",
        lifespan=load_model_on_startup,
        # The contract is /ping and /invocations; an OpenAPI page cannot describe a raw CSV body anyway.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.inference = load_inference_functions()
    app.state.model_dir = model_dir
    app.state.model = None
    app.include_router(router)
    return app


def load_inference_functions(script: Path = INFERENCE_SCRIPT) -> ModuleType:
    """Import inference.py from its path: production/code is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_model_loaded(app: FastAPI) -> None:
    """Load the model with ``model_fn`` unless it is loaded already (the command line loads it
    before the server starts, to report a model that cannot load in one line)."""
    if app.state.model is None:
        app.state.model = app.state.inference.model_fn(str(app.state.model_dir))


@asynccontextmanager
async def load_model_on_startup(app: FastAPI) -> AsyncIterator[None]:
    ensure_model_loaded(app)
    yield


@router.get("/ping")
def ping(request: Request) -> Response:
    loaded_model(request)
    return Response(status_code=status.HTTP_200_OK)


@router.post("/invocations")
async def invocations(request: Request) -> Response:
    model = loaded_model(request)
    inference = request.app.state.inference
    content_type = request.headers.get("content-type", "")
    accept = request.headers.get("accept")
    try:
        body = await read_body(request, inference.require_size)
        # Scoring is CPU-bound: in a worker thread it does not hold up the server's event loop.
        answer, media_type = await run_in_threadpool(invoke, inference, model, body, content_type, accept)
    except PayloadError as error:
        raise HTTPException(status_code=error.status_code, detail=str(error)) from None
    return Response(content=answer, media_type=media_type)


async def read_body(request: Request, require_size: Callable[[int], None]) -> bytes:
    """The body, refused as soon as it is known to be too large (by its Content-Length, or while it
    arrives): a client cannot make the server hold more than an endpoint would take."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        require_size(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        require_size(size)
        chunks.append(chunk)
    return b"".join(chunks)


def loaded_model(request: Request) -> Any:
    model = request.app.state.model
    if model is None:
        raise HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail="the model is not loaded yet")
    return model


def invoke(inference: ModuleType, model: Any, body: bytes, content_type: str, accept: str | None) -> tuple[str, str]:
    """One request as the SageMaker container handles it: input_fn -> predict_fn -> output_fn."""
    rows = inference.input_fn(body, content_type)
    return inference.output_fn(inference.predict_fn(rows, model), accept)


# --------------------------------------------------------------------------- which model


def published_model_dir(config: EnvironmentConfig, work_dir: Path) -> Path:
    """``models/latest`` in the environment's local S3 mirror: where a local train run publishes."""
    # The location depends on OutputDataUri alone, whose default (the storage root) a local run uses.
    output = next(parameter for parameter in pipeline_spec.PARAMETERS if parameter.name == pipeline_spec.OUTPUT.name)
    run = local_plan.LocalRun(config, work_dir, parameters={})
    run = dataclasses.replace(run, parameters={output.name: local_plan.resolve(run, output.default)})
    return Path(str(local_plan.resolve(run, pipeline_spec.LATEST_MODEL)))


def choose_model(arguments: argparse.Namespace) -> tuple[Path, str]:
    """The model directory to serve and how to name it to the user."""
    if arguments.model_dir is not None:
        return arguments.model_dir, f"the model in {arguments.model_dir}"
    directory = published_model_dir(load_config(arguments.environment), arguments.work_dir)
    # Refused for the reasons predict.py refuses it (missing, gate not passed, archive changed).
    published = load_published(directory)
    return directory, f"model {published.version} ({directory})"


# --------------------------------------------------------------------------- command line


def port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {local_plan.PACKAGE_NAME}.serving",
        description="Serve a model over HTTP as a SageMaker inference container does (GET /ping, POST /invocations).",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="a model directory: model.tar.gz, or its extracted files (default: the model of the last local train run)",
    )
    parser.add_argument("--environment", choices=ENVIRONMENTS, default="develop", help="whose local model to serve")
    parser.add_argument("--work-dir", type=Path, default=Path("build/local"), help="the local runs' work directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=port_number, default=8080)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        model_dir, description = choose_model(arguments)
        app = create_app(model_dir)
        ensure_model_loaded(app)
    except (ConfigError, StepError) as error:
        print(f"serving: error: {error}", file=sys.stderr)
        return 1
    print(f"Serving {description} on http://{arguments.host}:{arguments.port} (GET /ping, POST /invocations)")
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
