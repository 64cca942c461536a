"""The template repository's own entry points: README, Makefile, CI script, prompts, pins."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from template import ANSWER_FIELDS, COOKIECUTTER_JSON, TEMPLATE_DIR
from worker_groups import WORKER_GROUPS

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


# Written with a group so that this file does not name the variables it looks for.
STATIC_KEY_NAMES = re.compile(r"aws_(access_key_id|secret_access_key|session_token)", flags=re.IGNORECASE)
NOT_SHIPPED = {".git", "build", "__pycache__", ".pytest_cache", ".ruff_cache"}


def test_no_static_aws_key_variable_anywhere() -> None:
    """CI reaches AWS through a web identity; no file of the template or its docs names static keys."""
    offenders = []
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_dir() or NOT_SHIPPED & set(path.relative_to(TEMPLATE_DIR).parts):
            continue
        found = STATIC_KEY_NAMES.findall(path.read_text(encoding="utf-8", errors="replace"))
        offenders += [f"{path.relative_to(TEMPLATE_DIR)}: aws_{name}" for name in found]
    assert offenders == []


def path_with_only(tmp_path: Path, *commands: str) -> str:
    """A PATH holding only these commands of this machine (plus what the script itself runs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in (*commands, "sort", "cut"):
        (bin_dir / command).symlink_to(shutil.which(command))
    return str(bin_dir)


def python3_only(tmp_path: Path) -> str:
    """A PATH whose python3 is the interpreter running the tests, with nothing else to find."""
    bin_dir = Path(path_with_only(tmp_path))
    (bin_dir / "python3").symlink_to(sys.executable)
    return str(bin_dir)


def test_missing_prerequisites_are_named_with_their_package(tmp_path: Path) -> None:
    script = TEMPLATE_DIR / "tools" / "prerequisites.sh"
    bash = shutil.which("bash")
    environment = {"PATH": python3_only(tmp_path)}
    result = subprocess.run([bash, str(script), "test"], env=environment, capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "git is missing: install it (apt-get install git)",
        "java is missing: install it (apt-get install openjdk-17-jre-headless)",
        "npm is missing: install it (apt-get install npm)",
        "rsync is missing: install it (apt-get install rsync)",
    ]
    demo = subprocess.run([bash, str(script), "demo"], env=environment, capture_output=True, text=True, check=False)
    assert demo.stderr.splitlines() == ["java is missing: install it (apt-get install openjdk-17-jre-headless)"]


def test_this_machine_has_the_prerequisites() -> None:
    result = subprocess.run(
        ["bash", str(TEMPLATE_DIR / "tools" / "prerequisites.sh"), "test"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_the_worker_groups_name_tests_that_exist() -> None:
    """A renamed test would silently leave its group, and its shared fixture be built twice."""
    files = sorted({nodeid.partition("::")[0] for nodeid in WORKER_GROUPS})
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", *files],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    collected = set(listed.stdout.splitlines())
    assert set(WORKER_GROUPS) - collected == set(), listed.stdout[-2000:]
