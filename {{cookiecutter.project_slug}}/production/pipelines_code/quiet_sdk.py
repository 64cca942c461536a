"""Keep the SageMaker SDK from phoning home and from filling the log with notices that are by design."""

from __future__ import annotations

import logging
import warnings

from sagemaker.core.telemetry import telemetry_logging

# Loggers whose INFO output is routine (credentials found, config files not present, ...).
# sagemaker.config is listed on its own: the SDK gives it a level (INFO) when it has none.
CHATTY_LOGGERS = ("sagemaker", "sagemaker.config", "botocore", "boto3", "urllib3", "s3transfer")
# Loggers that WARN on every build about the SDK's own normal behaviour: job names and
# marketplace flags are "popped out" of every step because SageMaker sets them at run time.
BY_DESIGN_NOTICES = ("sagemaker.core.workflow.utilities", "sagemaker.mlops.workflow.model_step")
# Fails at import if the SDK no longer sends telemetry this way: then disable_telemetry needs a look.
SDK_SEND_TELEMETRY = telemetry_logging._send_telemetry_request


def disable_telemetry() -> None:
    """Send no usage telemetry from this process.

    The SDK's own switch (``TelemetryOptOut`` in a SageMaker config) makes every config
    lookup re-validate the whole config against its JSON schema: building this pipeline's
    definition goes from about half a second to six. Every event goes out through
    ``_send_telemetry_request``, so replacing it is the cheap equivalent (the SDK version is
    pinned; ``SDK_SEND_TELEMETRY`` above keeps the original).
    """
    telemetry_logging._send_telemetry_request = _drop_telemetry_event


def _drop_telemetry_event(*_args, **_kwargs) -> None:
    return None


def configure_logging(verbose: bool) -> None:
    """Our messages at INFO; the SDK's warnings and errors only, unless ``verbose``."""
    # force: importing the SDK has already given the root logger a handler (logging.basicConfig).
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(message)s", force=True
    )
    if verbose:
        return
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in BY_DESIGN_NOTICES:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
