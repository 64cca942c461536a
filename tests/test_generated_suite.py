"""The generated project's own test suite passes for the combination least like the defaults.

The default project's suite runs in CI through gitlab-ci-local (tests/test_gitlab_ci.py);
this one covers the other end: other region and partition, no model registry, a
proprietary license, automatic production deploys and punctuated names. It runs the way
a user does after activating the project's virtualenv: `python -m pytest` in the project.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from combinations import MOST_DIFFERENT
from template import render

# Generous: the suite starts Spark and builds pipeline definitions; a hang must still end.
SUITE_TIMEOUT_SECONDS = 3600


def activated_venv_environment(project_python: str) -> dict[str, str]:
    """This process's environment as an activated virtualenv would set it, minus pytest's own variables."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PATH"] = os.pathsep.join([str(Path(project_python).parent), environment.get("PATH", "")])
    return environment


@pytest.mark.generated_suite
def test_most_different_project_passes_its_own_tests(tmp_path, cookiecutter_config, project_python) -> None:
    project = render(tmp_path, MOST_DIFFERENT.overrides, cookiecutter_config)
    result = subprocess.run(
        [project_python, "-m", "pytest", "-q"],
        cwd=project,
        env=activated_venv_environment(project_python),
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, (
        f"{project.name}: pytest exited {result.returncode}\n{result.stdout[-8000:]}{result.stderr[-4000:]}"
    )
