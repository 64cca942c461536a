"""The documentation: the site builds in strict mode, and what the READMEs say is true."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from {{ cookiecutter.package_name }} import pipeline_spec

ROOT = Path(__file__).resolve().parents[1]
FOLDERS_WITH_README = (
    "exploratory",
    "develop",
    "src",
    "production",
    "production/code",
    "production/packages",
    "production/pipelines_code",
    "tests",
)
FENCED_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
MAKE_COMMAND = re.compile(r"(?:^|\s)make ([a-z][a-z-]*)", re.MULTILINE)
MAKEFILE_TARGET = re.compile(r"^([a-z][a-z-]*):", re.MULTILINE)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def project_markdown_files() -> list[Path]:
    ignored = {".venv", "build", ".git", ".pytest_cache", "node_modules"}
    return sorted(path for path in ROOT.rglob("*.md") if not ignored.intersection(path.relative_to(ROOT).parts))


def code_in(markdown: str) -> str:
    """Only the code of a page: fenced blocks and inline code spans."""
    return "\n".join(FENCED_BLOCK.findall(markdown) + INLINE_CODE.findall(markdown))


def load_docs_hooks() -> ModuleType:
    path = ROOT / "docs" / "hooks.py"
    spec = importlib.util.spec_from_file_location("docs_hooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site_dir


def test_site_home_page_is_the_readme(site: Path) -> None:
    readme_title = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[0].removeprefix("# ")
    home = (site / "index.html").read_text(encoding="utf-8")
    assert readme_title in home
    assert "How a change reaches SageMaker" in home


def test_pipeline_page_lists_every_step_and_parameter(site: Path) -> None:
    page = (site / "pipeline" / "index.html").read_text(encoding="utf-8")
    assert "<!-- spec:" not in page, "a <!-- spec:... --> marker was not replaced by docs/hooks.py"
    for step in pipeline_spec.PIPELINE.steps:
        assert f'id="{step.name.lower()}"' in page, f"no section for step {step.name}"
        assert step.script in page
    for parameter in pipeline_spec.PIPELINE.parameters:
        assert parameter.name in page


def plain_text(html_or_markdown: str) -> str:
    """Text without tags, link targets and emphasis, for comparing a README with its page."""
    text = re.sub(r"<[^>]+>", "", html_or_markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return html.unescape(re.sub(r"[`*]", "", text))


@pytest.mark.parametrize("folder", FOLDERS_WITH_README)
def test_every_folder_has_a_readme_on_the_site(folder: str, site: Path) -> None:
    readme = ROOT / folder / "README.md"
    assert readme.is_file(), f"{folder}/ has no README.md"
    prose = [line for line in readme.read_text(encoding="utf-8").splitlines() if line and line[0].isalpha()]
    assert prose, f"{folder}/README.md has no prose"
    page = plain_text((site / folder / "index.html").read_text(encoding="utf-8"))
    assert plain_text(prose[0]) in page, f"the site page of {folder}/ does not show its README"


def test_every_make_command_in_the_docs_exists() -> None:
    targets = set(MAKEFILE_TARGET.findall((ROOT / "Makefile").read_text(encoding="utf-8")))
    for path in project_markdown_files():
        mentioned = set(MAKE_COMMAND.findall(code_in(path.read_text(encoding="utf-8"))))
        missing = mentioned - targets
        assert not missing, f"{path.relative_to(ROOT)} mentions make targets the Makefile lacks: {sorted(missing)}"


def test_the_readme_mentions_make_commands() -> None:
    # Guards the check above: a broken pattern would find nothing and pass.
    readme = code_in((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {"install", "run-local", "test", "delete"} <= set(MAKE_COMMAND.findall(readme))


def test_relative_links_point_to_existing_files() -> None:
    for path in project_markdown_files():
        if path.is_relative_to(ROOT / "docs"):
            continue  # docs pages are checked by mkdocs --strict
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            linked = path.parent / target.split("#")[0]
            assert linked.exists(), f"{path.relative_to(ROOT)} links to {target}, which does not exist"


def test_readme_diagram_is_the_pipeline_spec_diagram() -> None:
    spec_diagram = load_docs_hooks().diagram(pipeline_spec)
    assert spec_diagram in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README.md's pipeline diagram differs from the one in pipeline_spec.py: copy it over"
    )


def test_readme_names_every_step() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for step in pipeline_spec.PIPELINE.steps:
        assert f"**{step.name}**" in readme, f"README.md does not describe step {step.name}"
