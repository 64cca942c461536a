"""The Makefile names a missing prerequisite in one line, with how to get it, before running anything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Found now: one test runs make with a PATH that holds nothing but python3.
MAKE = shutil.which("make") or "make"


def make(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "--no-print-directory", *arguments],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without make's own closing "make: *** [...] Error 1" (make[2]: under another make)."""
    return [line for line in result.stderr.strip().splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]


def without_java(tmp_path: Path) -> dict[str, str]:
    """A shell whose PATH has a python3 but no java, and no JAVA_HOME."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    environment = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    environment["PATH"] = str(bin_dir)
    return environment


@pytest.mark.parametrize("target", ["test", "run-local"])
def test_a_missing_virtualenv_says_to_run_make_install(target, tmp_path):
    result = make(target, "PYTHON=" + str(tmp_path / "no-venv" / "python"), environment=dict(os.environ))

    assert result.returncode != 0
    assert result.stdout == ""  # nothing ran
    assert error_lines(result) == [
        f"{tmp_path / 'no-venv' / 'python'} not found: run `make install` first (it creates .venv), or set PYTHON"
    ]


@pytest.mark.parametrize("target", ["test", "run-local"])
def test_a_missing_java_is_named_with_the_package_to_install(target, tmp_path):
    result = make(target, f"PYTHON={sys.executable}", environment=without_java(tmp_path))

    assert result.returncode != 0
    assert error_lines(result) == [
        "java is missing: local Spark needs Java 17 (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
    ]
    assert result.stdout == ""  # nothing ran
