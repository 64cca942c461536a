"""Pipeline definitions as text people compare: normalised, written safely, diffed.

Our own code uploads are content-addressed, so a definition is a function of the sources,
except for one key the SDK makes unique per build: ModelTrainer stages its driver scripts
under ``<base job name>-<YYYYmmddHHMMSS>/input/sm_drivers``. ``normalise`` replaces that time
stamp and pretty-prints with sorted keys, so two normalised definitions differ only where
the pipeline does.
"""

from __future__ import annotations

import difflib
import json
import re

SDK_BUILD_TIME = re.compile(r"-\d{14}(?=/input/sm_drivers\b)")
BUILD_TIME_PLACEHOLDER = "-<build-time>"


def normalise(definition: str) -> str:
    return json.dumps(_normalise_value(json.loads(definition)), indent=2, sort_keys=True) + "\n"


def _normalise_value(value):
    if isinstance(value, dict):
        return {key: _normalise_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise_value(item) for item in value]
    if isinstance(value, str):
        return SDK_BUILD_TIME.sub(BUILD_TIME_PLACEHOLDER, value)
    return value


def unified_diff(deployed: str, local: str, deployed_label: str, local_label: str) -> str:
    """The change from the deployed definition to the local one (both normalised first)."""
    lines = difflib.unified_diff(
        normalise(deployed).splitlines(keepends=True),
        normalise(local).splitlines(keepends=True),
        fromfile=deployed_label,
        tofile=local_label,
    )
    return "".join(lines)
