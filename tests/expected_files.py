"""The exact file list of a generated project.

tests/expected_files.txt lists every file of a project rendered with the default
answers (the airline-bags starter, whose example code and tests the other starters
drop). The list for other answers is derived from it: the default package name and
slug are renamed, and the files the post-generation hook removes for those answers
are dropped. After adding, renaming or removing a template file, refresh it with

    build/venv/bin/python tests/expected_files.py --update

and review the diff. Without --update the script prints the difference between the
list and a fresh render and exits 1 when the list is stale.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

import template

MANIFEST = Path(__file__).with_name("expected_files.txt")
MANIFEST_HEADER = (
    "# Files of a project rendered with the default answers. Refresh: python tests/expected_files.py --update\n"
)


def project_files(project: Path) -> set[str]:
    """Relative paths of every file in a generated project."""
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if not path.is_dir()}


def read_manifest() -> set[str]:
    lines = MANIFEST.read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def removed_by_post_gen(answers: dict[str, str]) -> tuple[str, ...]:
    """The paths the post-generation hook deletes for these answers."""
    post_gen = template.load_hook("post_gen_project")
    removed: tuple[str, ...] = ()
    if answers["license"] == "Proprietary":
        removed += post_gen.LICENSE_FILES
    if answers["model_registry"] == "no":
        removed += post_gen.MODEL_REGISTRY_FILES
    if answers["starter"] != "airline-bags":
        removed += post_gen.example_paths(answers["package_name"])
    return removed


def rename(path: str, default: dict[str, str], answers: dict[str, str]) -> str:
    """The default render's path as it is named for these answers."""
    path = path.replace(default["package_name"], answers["package_name"])
    return path.replace(default["project_slug"], answers["project_slug"])


def expected_files(answers: dict[str, str]) -> set[str]:
    default = template.answers()
    renamed = {rename(path, default, answers) for path in read_manifest()}
    removed = removed_by_post_gen(answers)
    return {path for path in renamed if not any(path == gone or path.startswith(f"{gone}/") for gone in removed)}


def render_default_files() -> set[str]:
    with tempfile.TemporaryDirectory() as scratch:
        config_file = template.write_cookiecutter_config(Path(scratch) / "config")
        project = template.render(Path(scratch) / "output", {}, config_file)
        return project_files(project)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {MANIFEST.name} from a fresh default render")
    args = parser.parse_args(argv)
    rendered = render_default_files()
    if args.update:
        MANIFEST.write_text(MANIFEST_HEADER + "".join(f"{path}\n" for path in sorted(rendered)))
        print(f"{MANIFEST}: {len(rendered)} files")
        return 0
    diff = difflib.unified_diff(sorted(read_manifest()), sorted(rendered), MANIFEST.name, "default render", lineterm="")
    lines = list(diff)
    print("\n".join(lines) if lines else f"{MANIFEST.name} is up to date")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
