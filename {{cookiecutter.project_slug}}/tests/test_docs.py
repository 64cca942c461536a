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

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import pipeline_spec, schema
from {{ cookiecutter.package_name }}.errors import PayloadError

import inference

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
TABLE_ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
TABLE_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.DOTALL)
# The README's request example: `-H "Content-Type: <type>" ... --data(-binary) '<body>'`.
CURL_REQUEST = re.compile(r'-H "Content-Type: ([^"]+)"\s*\\?\s*--data(?:-binary)? \'([^\']*)\'')
MODULE_MENTION = re.compile(r"`([a-z_]+\.py)`")
LIST_ITEM_HEAD = re.compile(r"^- (.+?): ", re.MULTILINE)  # "- `a.py`, `b.py`: what they do"


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


# --------------------------------------------------------------------------- the data contract pages


def text_of(fragment: str) -> str:
    """What a reader sees of some HTML: tags gone, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str) -> list[list[str]]:
    return [[text_of(cell) for cell in TABLE_CELL.findall(row)] for row in TABLE_ROW.findall(page)]


def section(page: str, anchor: str) -> str:
    """The HTML from the heading with this id to the next heading."""
    start = page.index(f'id="{anchor}"')
    ends = [end for end in (page.find("<h2", start), page.find("<h3", start)) if end != -1]
    return page[start : min(ends, default=len(page))]


def row_starting(rows: list[list[str]], *first_cells: str) -> list[str]:
    found = [row for row in rows if tuple(row[: len(first_cells)]) == first_cells]
    assert len(found) == 1, f"expected one table row starting with {first_cells}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def contract_page(site: Path) -> str:
    page = (site / "data_contract" / "index.html").read_text(encoding="utf-8")
    assert "<!-- contract:" not in page, "a <!-- contract:... --> marker was not replaced by docs/hooks.py"
    return page


def test_contract_page_shows_task_id_and_label(contract_page: str) -> None:
    of = schema.contract()
    rows = table_rows(section(contract_page, "task-id-and-label"))
    assert row_starting(rows, "Task") == ["Task", of.task]
    assert of.main.column(of.id_column).name in row_starting(rows, "Id")[1]
    assert of.label_column.name in row_starting(rows, "Label")[1]
    if of.task == "binary":
        assert str(of.label.positive_class) in row_starting(rows, "Positive class")[1]
    predictions = row_starting(rows, "Predictions")[1]
    for column in schema.prediction_columns(of.label.classes):
        assert column.safe_name in predictions


def test_contract_page_shows_every_column_with_its_rules(contract_page: str) -> None:
    for source in schema.contract().sources:
        assert f'id="{source.name}"' in contract_page, f"no section for source {source.name}"
        rows = table_rows(section(contract_page, source.name))
        for column in source.columns:
            row = row_starting(rows, column.name, column.safe_name)
            assert row[2:4] == [column.type, "yes" if column.nullable else "no"], f"{column.name}: {row}"
            for rule in (*column.values, column.min, column.max):
                if rule is not None:
                    assert str(rule) in row[4], f"{column.name}: {rule!r} missing from {row[4]!r}"
            if column.values or column.min is not None or column.max is not None:
                assert row[5] == column.on_violation


def test_contract_page_shows_every_join(contract_page: str) -> None:
    rows = table_rows(section(contract_page, "joins"))
    for source in schema.contract().sources[1:]:
        row = row_starting(rows, source.name, source.join.key)
        assert row[2:] == [source.join.how, f"{source.join.max_unmatched_share:.2%}"]


def test_contract_page_shows_every_feature(contract_page: str) -> None:
    rows = table_rows(section(contract_page, "features"))
    for feature in schema.contract().features:
        row = row_starting(rows, feature.name, feature.type)
        assert row[2] == " ".join(feature.expression.split()), f"{feature.name}: {row}"


def test_bring_your_own_data_page_states_the_minimum_rows(site: Path) -> None:
    page = text_of((site / "bring_your_own_data" / "index.html").read_text(encoding="utf-8"))
    assert f"at least {data_contract.MIN_ROWS} rows in all" in page
    assert f"at least {data_contract.MIN_ROWS_PER_CLASS} rows of every class" in page


def test_the_readme_links_the_bring_your_own_data_page(site: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/bring_your_own_data.md)" in readme
    # On the site the README is the home page, one folder down: docs/hooks.py rewrites the link.
    assert 'href="bring_your_own_data/"' in (site / "index.html").read_text(encoding="utf-8")


def test_the_readme_request_example_fits_the_contract() -> None:
    examples = CURL_REQUEST.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert examples, "README.md has no request example (curl ... -H Content-Type ... --data)"
    for content_type, body in examples:
        try:
            rows = inference.input_fn(body, content_type)
        except PayloadError as error:
            pytest.fail(f"README.md's request example does not fit the data contract ({error}): send a row of yours")
        assert len(rows) == 1
        assert set(schema.contract().feature_names) <= set(rows.columns)


def test_the_src_readme_describes_every_module() -> None:
    readme = (ROOT / "src" / "README.md").read_text(encoding="utf-8")
    package = ROOT / "src" / schema.__package__
    modules = {path.name for path in package.glob("*.py") if path.name != "__init__.py"}
    key_modules = readme.split("Key modules:")[1].split("**Rules**")[0]
    listed = {name for head in LIST_ITEM_HEAD.findall(key_modules) for name in MODULE_MENTION.findall(head)}
    assert not modules - listed, f"src/README.md does not describe {sorted(modules - listed)}"
    assert not listed - modules, f"src/README.md describes modules that do not exist: {sorted(listed - modules)}"
    assert f"`{data_contract.CONTRACT_FILE}`" in readme
