"""Every valid option combination renders exactly the expected, well-formed project;
every invalid one is refused by the pre-generation hook and leaves nothing behind."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from combinations import (
    CHOICE_DIMENSIONS,
    DATA_CHOICES,
    DEFAULT,
    DEFAULTS,
    DIMENSIONS,
    MOST_DIFFERENT,
    REFUSED,
    REGION_PARTITIONS,
    RENDERED,
    STARTER_TASKS,
    data_is_valid,
    is_valid,
    make_combination,
    product,
)
from expected_files import expected_files, project_files
from template import answers, render, render_from_replay

RENDERED_PARAMS = [pytest.param(combination, id=combination.id) for combination in [*RENDERED, *MOST_DIFFERENT]]
MOST_DIFFERENT_PARAMS = [pytest.param(combination, id=combination.id) for combination in MOST_DIFFERENT]
# The most different projects are left out: their typed answers talk about bookings on purpose.
SINGLE_TABLE_PARAMS = [pytest.param(c, id=c.id) for c in RENDERED if c.values["starter"] == "single-table"]
JINJA_MARKERS = ("{{", "{%", "{#")
# Words of the airline example's data: a project started from another table must not meet them.
AIRLINE_WORDS = re.compile(r"\b(bookings?|bought_bag|customers?|cabin|fares?|checked bags?)\b", re.IGNORECASE)


def parse_yaml(text: str) -> None:
    # Composing checks the syntax without constructing objects, so application tags
    # (mkdocs' !!python/name, GitLab's !reference) do not count as errors.
    list(yaml.compose_all(text, Loader=yaml.SafeLoader))


PARSERS = {".json": json.loads, ".ipynb": json.loads, ".toml": tomllib.loads, ".yaml": parse_yaml, ".yml": parse_yaml}


def text_files(project: Path) -> dict[Path, str]:
    """Every UTF-8 file of a project (cookiecutter copies binary files without rendering them)."""
    texts = {}
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def test_product_renders_every_choice_and_region() -> None:
    for dimension in (*CHOICE_DIMENSIONS, "aws_region"):
        assert {valid.values[dimension] for valid in RENDERED} == set(DIMENSIONS[dimension]), dimension
    assert DEFAULT.values == DEFAULTS
    assert DEFAULT in RENDERED


def test_every_valid_starter_and_task_meets_every_other_choice() -> None:
    """Data answers and deployment answers both shape the same files (the registry records metrics)."""
    others = [dimension for dimension in CHOICE_DIMENSIONS if dimension not in DATA_CHOICES]
    for dimension in others:
        pairs = {(c.values["starter"], c.values["task"], c.values[dimension]) for c in RENDERED}
        expected = {
            (values["starter"], values["task"], value)
            for values in product(DATA_CHOICES)
            if data_is_valid(values)
            for value in DIMENSIONS[dimension]
        }
        assert pairs == expected, dimension


def test_each_starter_has_a_most_different_project() -> None:
    assert [c.values["starter"] for c in MOST_DIFFERENT] == list(DIMENSIONS["starter"])
    for combination in MOST_DIFFERENT:
        starter = combination.values["starter"]
        assert is_valid(combination.values)
        # A shared bucket is never valid; the airline example is binary only.
        kept = {"bucket_layout"} | ({"starter"} if starter == DEFAULTS["starter"] else set())
        kept |= {"task"} if starter in STARTER_TASKS else set()
        changed = {dimension for dimension in DIMENSIONS if combination.values[dimension] != DEFAULTS[dimension]}
        assert changed == set(DIMENSIONS) - kept, combination.id


def test_product_refuses_every_wrong_partition_and_a_shared_bucket() -> None:
    refused_pairs = {(c.values["aws_region"], c.values["role_partition"]) for c in REFUSED}
    wrong_pairs = {
        (region, partition)
        for region, region_partition in REGION_PARTITIONS.items()
        for partition in DIMENSIONS["role_partition"]
        if partition != region_partition
    }
    assert wrong_pairs <= refused_pairs
    assert "shared" in {c.values["bucket_layout"] for c in REFUSED}


def test_product_refuses_the_airline_example_for_any_task_but_binary() -> None:
    refused_pairs = {(c.values["starter"], c.values["task"]) for c in REFUSED if not data_is_valid(c.values)}
    assert refused_pairs == {("airline-bags", "multiclass"), ("airline-bags", "regression")}


def test_hook_accepts_exactly_the_valid_combinations(pre_gen) -> None:
    """In-process check of the whole product, including the refusals that differ only in choices."""
    for values in product(DIMENSIONS):
        errors = pre_gen.validate(answers(make_combination(values).overrides))
        assert (errors == []) == is_valid(values), (values, errors)


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_file_set_is_exactly_the_expected_one(combination, rendered_project) -> None:
    project = rendered_project(combination)
    rendered = project_files(project)
    expected = expected_files(answers(combination.overrides))
    missing, unexpected = sorted(expected - rendered), sorted(rendered - expected)
    refresh = "if the template changed on purpose: python tests/expected_files.py --update"
    assert missing == [], f"missing files {missing}; {refresh}"
    assert unexpected == [], f"unexpected files {unexpected}; {refresh}"


@pytest.mark.parametrize("combination", SINGLE_TABLE_PARAMS)
def test_a_single_table_project_holds_nothing_of_the_airline_example(combination, rendered_project) -> None:
    """No example file, and no airline word in any file (the project's own description aside)."""
    project = rendered_project(combination)
    example_paths = [path for path in project_files(project) if "example" in path.split("/")]
    assert example_paths == []
    description = answers(combination.overrides)["description"]
    mentions = [
        f"{path.relative_to(project)}: {match.group(0)!r}"
        for path, text in text_files(project).items()
        if path.name != ".cookiecutter.json"
        for match in AIRLINE_WORDS.finditer(text.replace(description, ""))
    ]
    assert mentions == []


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_no_empty_directory_is_left(combination, rendered_project) -> None:
    project = rendered_project(combination)
    empty = [
        path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_dir() and not any(path.iterdir())
    ]
    assert empty == []


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_nothing_is_left_unrendered(combination, rendered_project) -> None:
    project = rendered_project(combination)
    leftovers = [
        f"{path.relative_to(project)}: {marker}"
        for path, text in text_files(project).items()
        for marker in JINJA_MARKERS
        if marker in text or marker in str(path.relative_to(project))
    ]
    assert leftovers == []


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_python_compiles_and_passes_ruff(combination, rendered_project, project_python) -> None:
    project = rendered_project(combination)
    sources = sorted(project.rglob("*.py"))
    assert sources, "the project has no Python files"
    for source in sources:
        compile(source.read_text(encoding="utf-8"), str(source), "exec", dont_inherit=True)
    # One call each for the whole project, configured by the generated pyproject.toml;
    # --no-cache keeps the shared rendered tree unchanged.
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [project_python, "-m", "ruff", *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_yaml_json_and_toml_files_parse(combination, rendered_project) -> None:
    project = rendered_project(combination)
    errors, parsed_kinds = [], set()
    for path, text in text_files(project).items():
        parse = PARSERS.get(path.suffix)
        if parse is None:
            continue
        parsed_kinds.add(path.suffix)
        try:
            parse(text)
        except (ValueError, tomllib.TOMLDecodeError, yaml.YAMLError) as error:
            errors.append(f"{path.relative_to(project)}: {error}")
    assert errors == []
    assert {".json", ".toml", ".yaml"} <= parsed_kinds


@pytest.mark.parametrize("combination", RENDERED_PARAMS)
def test_replay_file_records_every_answer(combination, rendered_project) -> None:
    replay = json.loads((rendered_project(combination) / ".cookiecutter.json").read_text())["cookiecutter"]
    assert {field: value for field, value in replay.items() if not field.startswith("_")} == answers(
        combination.overrides
    )


@pytest.mark.parametrize("combination", MOST_DIFFERENT_PARAMS)
def test_replay_file_regenerates_the_same_project(combination, tmp_path, cookiecutter_config) -> None:
    """The replay file is what `cookiecutter --replay-file` (and a later update) starts from.

    Both renders happen here, back to back, so template edits made meanwhile cannot differ.
    """
    (tmp_path / "first").mkdir()
    (tmp_path / "again").mkdir()
    project = render(tmp_path / "first", combination.overrides, cookiecutter_config)
    again = render_from_replay(tmp_path / "again", project / ".cookiecutter.json", cookiecutter_config)
    assert again.name == project.name
    assert project_files(again) == project_files(project)
    changed = [path for path in project_files(project) if (again / path).read_bytes() != (project / path).read_bytes()]
    assert changed == []


@pytest.mark.parametrize("combination", [pytest.param(c, id=c.id) for c in REFUSED])
def test_invalid_combination_is_refused(combination, refused) -> None:
    stderr = refused(combination.overrides)
    wrong_partition = REGION_PARTITIONS[combination.values["aws_region"]] != combination.values["role_partition"]
    expected_fields = {"develop_role_arn", "production_role_arn"} if wrong_partition else set()
    if combination.values["bucket_layout"] == "shared":
        expected_fields.add("production_s3_bucket")
    if not data_is_valid(combination.values):
        expected_fields.add("task")
    error_lines = [line for line in stderr.splitlines() if line.startswith("ERROR: ")]
    assert {line.removeprefix("ERROR: ").split("=", 1)[0] for line in error_lines} == expected_fields, stderr
    if "task" in expected_fields:
        # One line names both answers and the fix: the answer that fits, or the starter that fits.
        (task_line,) = [line for line in error_lines if line.startswith("ERROR: task=")]
        assert f"starter={combination.values['starter']}" in task_line
        assert "task=binary" in task_line


@pytest.mark.parametrize("combination", MOST_DIFFERENT_PARAMS)
def test_every_free_text_answer_is_used(combination, rendered_project) -> None:
    """Each typed answer reaches a generated file other than the replay file.

    Checked on the most different projects, whose answers are all distinct from each
    other, so one answer cannot stand in for another (e.g. the two instance types).
    """
    project = rendered_project(combination)
    texts = [text for path, text in text_files(project).items() if path.name != ".cookiecutter.json"]
    given = answers(combination.overrides)
    unused = [
        field
        for field, value in given.items()
        if field not in CHOICE_DIMENSIONS and not any(value in text for text in texts)
    ]
    assert unused == []


def test_no_input_render_is_the_manifest(cookies, template_dir) -> None:
    """`cookiecutter <template> --no-input`, through pytest-cookies: no answer given at all."""
    result = cookies.bake(template=str(template_dir))
    exception, exit_code, project = result.exception, result.exit_code, result.project_path
    assert exception is None
    assert exit_code == 0
    assert project.name == answers()["project_slug"]
    assert project_files(project) == expected_files(answers())
