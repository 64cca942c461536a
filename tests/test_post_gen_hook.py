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


def test_main_removes_in_the_working_directory(post_gen, tmp_path, monkeypatch) -> None:
    """cookiecutter runs the hook inside the generated project."""
    make_tree(tmp_path, [*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES, "README.md"])
    chosen = {**answers(), "license": "Proprietary", "model_registry": "no"}
    monkeypatch.setattr(post_gen, "RENDERED_ANSWERS", json.dumps(chosen))
    monkeypatch.chdir(tmp_path)
    assert post_gen.main() == 0
    assert project_files(tmp_path) == {"README.md"}


def test_main_keeps_everything_for_the_default_answers(post_gen, tmp_path, monkeypatch) -> None:
    make_tree(tmp_path, [*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES])
    monkeypatch.setattr(post_gen, "RENDERED_ANSWERS", json.dumps(answers()))
    monkeypatch.chdir(tmp_path)
    assert post_gen.main() == 0
    assert project_files(tmp_path) == {*post_gen.LICENSE_FILES, *post_gen.MODEL_REGISTRY_FILES}


@pytest.mark.parametrize("list_name", ["LICENSE_FILES", "MODEL_REGISTRY_FILES"])
def test_removal_lists_name_files_the_template_renders(post_gen, rendered_project, list_name) -> None:
    """A stale entry would silently remove nothing: each one must exist in a default render."""
    rendered = project_files(rendered_project(DEFAULT))
    missing = [path for path in getattr(post_gen, list_name) if path not in rendered]
    assert missing == []
