"""Fixtures shared by the template's tests.

Projects are rendered through cookiecutter's Python API (hooks included, as on the
command line) into pytest's temporary directories. The generated projects' own
tests run with the interpreter running pytest: ``make test`` runs inside build/venv,
which holds every dependency a generated project pins.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from combinations import Combination
from template import TEMPLATE_DIR, load_hook, render, render_from_replay, write_cookiecutter_config
from worker_groups import WorkerGroupScheduling, weight


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> WorkerGroupScheduling:
    """Under pytest-xdist (`make test`), tests sharing an expensive fixture run on one worker."""
    return WorkerGroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=weight)  # stable: within a rank, collection order


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "generated_suite: runs a generated project's whole test suite or its local pipeline "
        "(minutes; -m 'not generated_suite')",
    )


@pytest.fixture(scope="session")
def template_dir() -> Path:
    return TEMPLATE_DIR


@pytest.fixture(scope="session")
def project_python() -> str:
    """The interpreter that runs generated projects' code and tools."""
    return sys.executable


@pytest.fixture(scope="session")
def cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cookiecutter_config(tmp_path_factory.mktemp("cookiecutter"))


@pytest.fixture(scope="session")
def pre_gen():
    return load_hook("pre_gen_project")


@pytest.fixture(scope="session")
def post_gen():
    return load_hook("post_gen_project")


@pytest.fixture(scope="session")
def rendered_project(tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path) -> Callable[..., Path]:
    """Render a combination once per session; tests that share it must leave the tree unchanged."""
    projects: dict[str, Path] = {}

    def rendered(combination: Combination) -> Path:
        if combination.id not in projects:
            output_dir = tmp_path_factory.mktemp(combination.id)
            projects[combination.id] = render(output_dir, combination.overrides, cookiecutter_config)
        return projects[combination.id]

    return rendered


@pytest.fixture
def refused(
    tmp_path: Path, cookiecutter_config: Path, capfd: pytest.CaptureFixture[str]
) -> Callable[[dict[str, str]], str]:
    """Render answers that must be refused; return the hook's stderr after checking nothing was left behind.

    Pass ``replay=True`` to hand the answers over as a replay file (every answer given),
    the path on which cookiecutter itself checks nothing.
    """

    def refuse(answers: dict[str, str], replay: bool = False) -> str:
        output_dir = tmp_path / "output"
        output_dir.mkdir()
        capfd.readouterr()
        if replay:
            replay_file = tmp_path / "answers.json"
            replay_file.write_text(_replay_json(answers))
            generate = partial(render_from_replay, output_dir, replay_file, cookiecutter_config)
        else:
            generate = partial(render, output_dir, answers, cookiecutter_config)
        with pytest.raises(FailedHookException):
            generate()
        leftovers = sorted(path.relative_to(output_dir).as_posix() for path in output_dir.rglob("*"))
        assert leftovers == [], f"the refused render left {leftovers} behind"
        return capfd.readouterr().err

    return refuse


def _replay_json(answers: dict[str, str]) -> str:
    return json.dumps({"cookiecutter": {**answers, "_template": str(TEMPLATE_DIR)}}, indent=2)
