"""Benchmark 1: rendering the default project with the cookiecutter API, against copying the template's files.

Copying the template directory with ``shutil.copytree`` writes the same files without
Jinja, hooks or prompts: the floor for producing them on this disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from measure import median_seconds
from project import TEMPLATE_DIR, cookiecutter_config, render
from results import Figure

REPEATS = 5
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"


def fresh(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    return directory


def measure(work_dir: Path) -> tuple[list[Figure], dict]:
    config = cookiecutter_config(work_dir)
    target = work_dir / "render"

    def render_once() -> None:
        render(fresh(target), config)

    def copy_once() -> None:
        shutil.copytree(PROJECT_TEMPLATE, fresh(target) / PROJECT_TEMPLATE.name)

    # One untimed round of each first: imports and the file cache are then warm for both.
    render_once()
    copy_once()
    rendering, render_times = median_seconds(render_once, REPEATS)
    copying, copy_times = median_seconds(copy_once, REPEATS)
    shutil.rmtree(target, ignore_errors=True)
    figure = Figure(
        "1 render",
        f"cookiecutter, default answers (median of {REPEATS})",
        rendering,
        "shutil.copytree of the template",
        copying,
        "s",
    )
    return [figure], {"render_seconds": render_times, "copytree_seconds": copy_times}
