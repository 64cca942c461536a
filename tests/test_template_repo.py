"""The template repository's own entry points: README, Makefile, CI script, prompts, pins."""

from __future__ import annotations

import re
from pathlib import Path

from template import ANSWER_FIELDS, COOKIECUTTER_JSON, TEMPLATE_DIR

README_HEAD_LINES = 10
PROJECT_DIR = "{{cookiecutter.project_slug}}"


def test_readme_starts_with_make_demo_and_make_test() -> None:
    readme = TEMPLATE_DIR / "README.md"
    assert readme.is_file(), "README.md is missing"
    head = "\n".join(readme.read_text().splitlines()[:README_HEAD_LINES])
    assert "make demo" in head
    assert "make test" in head


def make_targets(makefile: Path) -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", makefile.read_text(), flags=re.MULTILINE))


def test_every_make_command_in_the_readme_exists() -> None:
    """The README names the template's targets and a few of the generated project's."""
    targets = make_targets(TEMPLATE_DIR / "Makefile") | make_targets(TEMPLATE_DIR / PROJECT_DIR / "Makefile")
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", (TEMPLATE_DIR / "README.md").read_text()))
    assert {"demo", "test"} <= make_targets(TEMPLATE_DIR / "Makefile")
    assert named - targets == set()


def test_ci_runs_the_readme_test_command() -> None:
    script = (TEMPLATE_DIR / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, flags=re.MULTILINE)


def test_every_question_has_a_prompt() -> None:
    prompts = COOKIECUTTER_JSON["__prompts__"]
    assert sorted(prompts) == sorted(ANSWER_FIELDS)
    for field, prompt in prompts.items():
        text = prompt["__prompt__"] if isinstance(prompt, dict) else prompt
        assert text.strip(), field
        if isinstance(prompt, dict):
            assert set(prompt) - {"__prompt__"} == set(COOKIECUTTER_JSON[field]), field


def test_template_tools_are_pinned() -> None:
    lines = (TEMPLATE_DIR / "requirements-dev.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert requirements
    unpinned = [line for line in requirements if not re.fullmatch(r"[A-Za-z0-9_.\[\],-]+==[A-Za-z0-9_.+-]+", line)]
    assert unpinned == []
