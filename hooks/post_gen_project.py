"""Remove what the chosen options exclude from the freshly generated project.

One function per option, driven by ``main()``. The hook runs with the generated
project as its working directory; tests call the functions with an explicit root.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# Rendered by cookiecutter; left as Jinja text when the module is imported by tests.
RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

# A proprietary project ships no open-source license text.
LICENSE_FILES = ("LICENSE",)

# Files that only make sense when models are registered in the SageMaker Model Registry.
MODEL_REGISTRY_FILES = (
    "production/pipelines_code/model_registry.py",
    "production/pipelines_code/deploy_endpoint.py",
    "tests/test_model_registry.py",
)

# The airline example's own code and tests (its sample generator, its business-logic tests):
# a single-table project starts from its own table and keeps none of them.
EXAMPLE_DIRS = ("tests/example", "src/{package_name}/example")


def remove(root: Path, relative_paths: tuple[str, ...]) -> None:
    for relative in relative_paths:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def apply_license(root: Path, license_name: str) -> None:
    if license_name == "Proprietary":
        remove(root, LICENSE_FILES)


def apply_model_registry(root: Path, model_registry: str) -> None:
    if model_registry == "no":
        remove(root, MODEL_REGISTRY_FILES)


def example_paths(package_name: str) -> tuple[str, ...]:
    return tuple(path.format(package_name=package_name) for path in EXAMPLE_DIRS)


def apply_starter(root: Path, starter: str, package_name: str) -> None:
    if starter != "airline-bags":
        remove(root, example_paths(package_name))


def main() -> int:
    answers = json.loads(RENDERED_ANSWERS)
    root = Path.cwd()
    apply_license(root, answers["license"])
    apply_model_registry(root, answers["model_registry"])
    apply_starter(root, answers["starter"], answers["package_name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
