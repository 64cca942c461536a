"""Unit tests of hooks/post_gen_project.py, called directly on scratch trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from combinations import DEFAULT
from expected_files import project_files
from template import answers


def make_tree(root: Path, relative_paths: list[str]) -> None:
    for relative in relative_paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_remove_deletes_files_and_directories_and_ignores_missing_ones(post_gen, tmp_path) -> None:
    make_tree(tmp_path, ["keep.txt", "gone.txt", "folder/a.py", "folder/sub/b.py"])
    post_gen.remove(tmp_path, ("gone.txt", "folder", "never-there.txt"))
    assert project_files(tmp_path) == {"keep.txt"}
    assert not (tmp_path / "folder").exists()


@pytest.mark.parametrize(("license_name", "kept"), [("MIT", True), ("Apache-2.0", True), ("Proprietary", False)])
def test_apply_license(post_gen, tmp_path, license_name, kept) -> None:
    make_tree(tmp_path, [*post_gen.LICENSE_FILES, "README.md"])
    post_gen.apply_license(tmp_path, license_name)
    assert project_files(tmp_path) == ({*post_gen.LICENSE_FILES, "README.md"} if kept else {"README.md"})


@pytest.mark.parametrize(("model_registry", "kept"), [("yes", True), ("no", False)])
def test_apply_model_registry(post_gen, tmp_path, model_registry, kept) -> None:
    others = ["production/pipelines_code/create_pipeline.py", "tests/test_pipeline.py"]
    make_tree(tmp_path, [*post_gen.MODEL_REGISTRY_FILES, *others])
    post_gen.apply_model_registry(tmp_path, model_registry)
    expected = {*post_gen.MODEL_REGISTRY_FILES, *others} if kept else set(others)
    assert project_files(tmp_path) == expected


EXAMPLE_FILES = ["tests/example/test_rules.py", "src/pkg/example/__init__.py", "src/pkg/example/generator.py"]
GENERIC_FILES = ["tests/test_train.py", "src/pkg/contract.py", "src/pkg/data_contract.yaml"]


def test_example_paths_name_the_package(post_gen) -> None:
    assert post_gen.example_paths("churn_model") == ("tests/example", "src/churn_model/example")


@pytest.mark.parametrize(("starter", "kept"), [("airline-bags", True), ("single-table", False)])
def test_apply_starter(post_gen, tmp_path, starter, kept) -> None:
    make_tree(tmp_path, [*EXAMPLE_FILES, *GENERIC_FILES])
    post_gen.apply_starter(tmp_path, starter, "pkg")
    assert project_files(tmp_path) == ({*EXAMPLE_FILES, *GENERIC_FILES} if kept else set(GENERIC_FILES))
    assert (tmp_path / "src" / "pkg" / "example").exists() == kept


def test_main_removes_in_the_working_directory(post_gen, tmp_path, monkeypatch) -> None:
    """cookiecutter runs the hook inside the generated project."""
    package = answers()["package_name"]
    examples = [path.replace("/pkg/", f"/{package}/") for path in EXAMPLE_FILES]
    make_tree(tmp_path, [*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES, *examples, "README.md"])
    chosen = {**answers(), "license": "Proprietary", "model_registry": "no", "starter": "single-table"}
    monkeypatch.setattr(post_gen, "RENDERED_ANSWERS", json.dumps(chosen))
    monkeypatch.chdir(tmp_path)
    assert post_gen.main() == 0
    assert project_files(tmp_path) == {"README.md"}


def test_main_keeps_everything_for_the_default_answers(post_gen, tmp_path, monkeypatch) -> None:
    package = answers()["package_name"]
    examples = [path.replace("/pkg/", f"/{package}/") for path in EXAMPLE_FILES]
    make_tree(tmp_path, [*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES, *examples])
    monkeypatch.setattr(post_gen, "RENDERED_ANSWERS", json.dumps(answers()))
    monkeypatch.chdir(tmp_path)
    assert post_gen.main() == 0
    assert project_files(tmp_path) == {*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES, *examples}


@pytest.mark.parametrize("list_name", ["LICENSE_FILES", "MODEL_REGISTRY_FILES"])
def test_removal_lists_name_files_the_template_renders(post_gen, rendered_project, list_name) -> None:
    """A stale entry would silently remove nothing: each one must exist in a default render."""
    rendered = project_files(rendered_project(DEFAULT))
    missing = [path for path in getattr(post_gen, list_name) if path not in rendered]
    assert missing == []


def test_example_dirs_hold_files_of_the_default_render(post_gen, rendered_project) -> None:
    rendered = project_files(rendered_project(DEFAULT))
    empty = [
        directory
        for directory in post_gen.example_paths(answers()["package_name"])
        if not any(path.startswith(f"{directory}/") for path in rendered)
    ]
    assert empty == []


def test_the_airline_example_lives_only_in_the_example_dirs(post_gen, rendered_project) -> None:
    """Whatever else the airline example adds would outlive the hook in a single-table project."""
    example_dirs = post_gen.example_paths(answers()["package_name"])
    rendered = project_files(rendered_project(DEFAULT))
    stray = [
        path
        for path in rendered
        if "example" in path and not any(path.startswith(f"{directory}/") for directory in example_dirs)
    ]
    assert stray == []
