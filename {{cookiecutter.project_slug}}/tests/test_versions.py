"""One scikit-learn release everywhere: a joblib model only loads into the release that wrote it.

The SageMaker scikit-learn image of ``images.sklearn_framework_version`` (base.yaml) runs
the processing and training steps and serves the model; the local run and the tests use
the ``local`` pins of pyproject.toml; the jobs install production/packages/requirements/.
Every install of the project applies constraints.txt, so its pins must agree with pyproject.toml.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import sklearn
import yaml

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
SCRIPTS = sorted((PROJECT / "production" / "code").glob("*.py"))
REQUIREMENTS = PROJECT / "production" / "packages" / "requirements"
# What the SageMaker Spark image provides to etl.py without a requirements file.
IN_SPARK_IMAGE = {"pyspark", "py4j"}
# contract.py parses YAML only in the source tree: shipped builds carry data_contract.json
# instead (tests/test_packaging.py checks it), so no job imports yaml.
SOURCE_TREE_ONLY = {"pyyaml"}
# Installed at the release the pinned library requires: pinning it too could only disagree.
BROUGHT_BY = {"botocore": "boto3"}
# Imported by jobs on SageMaker only (to read the Model Registry), so no `local` dependency:
# pinned as the `pipeline` group pins it.
PIPELINE_PINNED = {"boto3"}

# The scikit-learn release inside each SageMaker scikit-learn image version. Add a row when
# you move to another image (its release notes name the version).
SCIKIT_LEARN_IN_IMAGE = {
    "1.2-1": "1.2.1",
    "1.4-2": "1.4.2",
    "1.4-2-py312": "1.4.2",
}


def canonical(name: str) -> str:
    """The name pip compares: case, ``-``, ``_`` and ``.`` do not matter (``PyYAML`` is ``pyyaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """``{"scikit-learn": "1.4.2", ...}`` from requirement lines ``name==version`` (or ``name[extra]==version``)."""
    found: dict[str, str] = {}
    for line in lines:
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\[[^\]]+\])?==([A-Za-z0-9_.+!-]+)", requirement)
            assert match, f"{requirement!r} is not pinned with =="
            name = canonical(match.group(1))
            assert name not in found, f"{name} is pinned twice"
            found[name] = match.group(2)
    return found


def group_pins(group: str) -> dict[str, str]:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    return pins(pyproject["project"]["optional-dependencies"][group])


def local_pins() -> dict[str, str]:
    return group_pins("local")


def image_release() -> str:
    config = yaml.safe_load((PROJECT / "production" / "pipelines_code" / "config" / "base.yaml").read_text())
    image_version = config["images"]["sklearn_framework_version"]
    assert image_version in SCIKIT_LEARN_IN_IMAGE, (
        f"base.yaml: images.sklearn_framework_version {image_version!r} is not in this test's table: "
        "add the scikit-learn release of that image"
    )
    return SCIKIT_LEARN_IN_IMAGE[image_version]


def test_local_pin_is_the_release_in_the_sagemaker_image():
    assert local_pins()["scikit-learn"] == image_release()


def test_installed_release_is_the_pinned_one():
    assert sklearn.__version__ == local_pins()["scikit-learn"]


@functools.cache
def distributions_by_module() -> dict[str, list[str]]:
    # Scans every installed distribution: slow, so once per test session.
    return packages_distributions()


def imported_distributions(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Third-party distributions a module imports, directly or through modules of the package."""
    seen = set() if seen is None else seen
    seen.add(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from package import module" names modules too.
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == PACKAGE:
                source = PROJECT / "src" / Path(*module.split(".")).with_suffix(".py")
                if source.is_file() and source not in seen:
                    found |= imported_distributions(source, seen)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found |= {canonical(name) for name in distributions_by_module().get(top, [top])}
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_step_requirements_list_what_the_step_imports_at_the_local_pins(script):
    requirements = REQUIREMENTS / f"{script.stem}.txt"
    assert requirements.is_file(), f"{script.name} has no {requirements.relative_to(PROJECT)}"
    step_pins = pins(requirements.read_text(encoding="utf-8").splitlines())

    imported = {BROUGHT_BY.get(name, name) for name in imported_distributions(script)}
    assert set(step_pins) == imported - IN_SPARK_IMAGE - SOURCE_TREE_ONLY
    pipeline = group_pins("pipeline")
    project = local_pins() | {name: pipeline[name] for name in PIPELINE_PINNED}
    assert step_pins == {name: project.get(name) for name in step_pins}
    if "scikit-learn" in step_pins:
        assert step_pins["scikit-learn"] == image_release()


CONSTRAINTS = PROJECT / "constraints.txt"


def constraint_pins() -> dict[str, str]:
    return pins(CONSTRAINTS.read_text(encoding="utf-8").splitlines())


def test_constraints_are_one_pin_per_distribution():
    assert constraint_pins(), "constraints.txt pins nothing"


def test_constraints_pin_every_direct_dependency_at_its_pyproject_version():
    # Every install runs with -c constraints.txt: a pin that disagrees would make it fail.
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    constraints = constraint_pins()
    direct = set()
    for group in pyproject["project"]["optional-dependencies"]:
        for name, version in group_pins(group).items():
            direct.add(name)
            assert constraints.get(name) == version, (
                f"pyproject.toml [{group}] pins {name}=={version}, constraints.txt "
                f"{'has ' + constraints[name] if name in constraints else 'lacks it'}: run `make constraints`"
            )
    assert set(constraints) > direct, "constraints.txt should pin what the direct dependencies bring too"
    # The project itself installs from the checkout, whatever its version and name.
    assert canonical(pyproject["project"]["name"]) not in constraints
