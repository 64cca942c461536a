"""A freshly generated project passes its own tooling, and can pull later template changes.

- pre-commit, the docs build and both notebooks are green on a project generated with the
  default answers, before anyone has touched it; the template repository passes its own
  pre-commit hooks too;
- cruft: a project created from a Git copy of the template notices a newer template commit
  (`cruft check`) and applies it (`cruft update -y`).

pre-commit installs its hook environments from PyPI on first use (cached in
~/.cache/pre-commit afterwards).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from template import TEMPLATE_DIR, render

NOTEBOOKS = ("exploratory/eda.ipynb", "develop/experiment.ipynb")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.com",
}
# The template's own build output and caches are not part of a template release.
NOT_IN_TEMPLATE = shutil.ignore_patterns("build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache")
CRUFT = [sys.executable, "-m", "cruft"]


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


def run_ok(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = run(command, cwd)
    assert result.returncode == 0, f"{' '.join(command)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def git_commit_all(repository: Path, message: str) -> None:
    run_ok(["git", "add", "--all"], repository)
    run_ok(["git", "commit", "--quiet", "--no-verify", "--message", message], repository)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path) -> Path:
    """A project generated with the default answers, in a Git repository with every file staged."""
    project_dir = render(tmp_path_factory.mktemp("generated"), {}, cookiecutter_config)
    run_ok(["git", "init", "--quiet"], project_dir)
    run_ok(["git", "add", "--all"], project_dir)
    return project_dir


def test_pre_commit_passes_on_a_fresh_project(project: Path) -> None:
    result = run_ok([sys.executable, "-m", "pre_commit", "run", "--all-files", "--show-diff-on-failure"], project)
    # Every hook ran on something, or was skipped only for lack of matching files.
    assert "Failed" not in result.stdout
    assert "ruff check" in result.stdout
    assert "validate .gitlab-ci.yml" in result.stdout


def test_pre_commit_passes_on_the_template_itself(tmp_path: Path) -> None:
    """The template repository's own hooks, on a copy so that a fixer never edits the checkout."""
    copy = Path(shutil.copytree(TEMPLATE_DIR, tmp_path / "template", ignore=NOT_IN_TEMPLATE))
    run_ok(["git", "init", "--quiet"], copy)
    run_ok(["git", "add", "--all"], copy)
    result = run_ok([sys.executable, "-m", "pre_commit", "run", "--all-files", "--show-diff-on-failure"], copy)
    assert "Failed" not in result.stdout
    assert "ruff check" in result.stdout


def test_docs_build_in_strict_mode(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    run_ok([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], project)
    assert "Ancillary Propensity" in (site / "index.html").read_text(encoding="utf-8")
    assert "PreprocessTrain" in (site / "pipeline" / "index.html").read_text(encoding="utf-8")


def project_kernel(project: Path, jupyter_dir: Path) -> str:
    """A kernel spec for this interpreter with the project's src/ on its path (it is not pip-installed)."""
    spec_dir = jupyter_dir / "kernels" / "generated-project"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "generated project",
        "language": "python",
        "env": {"PYTHONPATH": str(project / "src")},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return spec_dir.name


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_headlessly(
    notebook: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / notebook
    content = nbformat.read(path, as_version=4)
    # JUPYTER_PATH is searched first, so a personal "python3" kernel cannot interfere.
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    kernel = project_kernel(project, tmp_path / "jupyter")
    client = NotebookClient(
        content, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    outputs = [output for cell in content.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any("image/png" in output.get("data", {}) for output in outputs), f"{notebook} drew no figure"


@pytest.fixture
def template_repository(tmp_path: Path) -> Path:
    """A Git copy of the template, standing in for the template's hosted repository."""
    repository = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, repository, ignore=NOT_IN_TEMPLATE)
    run_ok(["git", "init", "--quiet", "--initial-branch", "main"], repository)
    git_commit_all(repository, "Template release 1")
    return repository


def test_cruft_pulls_a_later_template_change(
    template_repository: Path, tmp_path: Path, cookiecutter_config: Path
) -> None:
    output_dir = tmp_path / "projects"
    create = [*CRUFT, "create", str(template_repository), "--no-input", "--output-dir", str(output_dir)]
    run_ok([*create, "--config-file", str(cookiecutter_config)], tmp_path)
    project_dir = output_dir / "ancillary-propensity"
    assert (project_dir / ".cruft.json").is_file()
    run_ok(["git", "init", "--quiet"], project_dir)
    git_commit_all(project_dir, "Generated from the template")
    assert run([*CRUFT, "check"], project_dir).returncode == 0

    note = "Release 2 of the template adds this line."
    readme = template_repository / "{{cookiecutter.project_slug}}" / "develop" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{note}\n", encoding="utf-8")
    git_commit_all(template_repository, "Template release 2")

    outdated = run([*CRUFT, "check"], project_dir)
    assert outdated.returncode == 1, outdated.stdout + outdated.stderr
    assert "out of date" in outdated.stdout
    run_ok([*CRUFT, "update", "-y"], project_dir)
    assert note in (project_dir / "develop" / "README.md").read_text(encoding="utf-8")
    assert run([*CRUFT, "check"], project_dir).returncode == 0
