"""The shipped build of src/: a reproducible zip for Spark, staged source directories for the other steps."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import contract, packaging
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

PROJECT_DIR = Path(__file__).resolve().parents[1]
PACKAGE = packaging.PACKAGE_NAME
SKLEARN_IMAGE_STEPS = [step for step in PIPELINE.steps if step.kind != "spark"]


def source_files() -> list[str]:
    """The package's files as the zip should list them, found independently of packaging.py.

    The contract ships as JSON in place of the YAML file.
    """
    names = []
    for path in packaging.PACKAGE_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            relative = path.relative_to(packaging.PACKAGE_DIR).as_posix()
            names.append(f"{PACKAGE}/{'data_contract.json' if relative == 'data_contract.yaml' else relative}")
    return sorted(names)


def source_contract_json() -> str:
    """The source tree's contract, as CONTRACT_FROM_PACKAGE prints the one a package loads."""
    loaded = contract.load_file(contract.package_dir() / "data_contract.yaml")
    return json.dumps(
        {"contract": dataclasses.asdict(loaded), "checksum": loaded.checksum}, sort_keys=True, default=str
    )


CONTRACT_FROM_PACKAGE = (
    f"import dataclasses, json; from {PACKAGE} import contract; loaded = contract.load(); "
    'print(json.dumps({"contract": dataclasses.asdict(loaded), "checksum": loaded.checksum}, '
    "sort_keys=True, default=str))"
)


def test_zip_holds_every_source_file_in_sorted_order_with_fixed_metadata(tmp_path):
    zip_path = packaging.build_package(tmp_path)

    assert zip_path == tmp_path / f"{PACKAGE}.zip"
    with zipfile.ZipFile(zip_path) as archive:
        entries = archive.infolist()
        assert [entry.filename for entry in entries] == source_files()
        assert f"{PACKAGE}/pipeline_spec.py" in archive.namelist()
        assert {entry.date_time for entry in entries} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read(f"{PACKAGE}/__init__.py") == (packaging.PACKAGE_DIR / "__init__.py").read_bytes()
    assert list(tmp_path.iterdir()) == [zip_path]  # no temporary file left behind


def test_zip_ships_the_contract_as_json_and_loads_the_same_contract_from_it(tmp_path):
    zip_path = packaging.build_package(tmp_path)
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        shipped = json.loads(archive.read(f"{PACKAGE}/data_contract.json"))
    assert f"{PACKAGE}/data_contract.yaml" not in names
    assert shipped["checksum"] == contract.load_file(contract.package_dir() / "data_contract.yaml").checksum

    code = f"import sys; sys.path.insert(0, {str(zip_path)!r}); {CONTRACT_FROM_PACKAGE}"
    completed = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == source_contract_json()


def test_a_broken_contract_fails_the_build_and_leaves_no_zip(tmp_path):
    copy = Path(shutil.copytree(packaging.PACKAGE_DIR, tmp_path / "copy" / PACKAGE))
    text = (copy / "data_contract.yaml").read_text(encoding="utf-8")
    (copy / "data_contract.yaml").write_text(text.replace("task:", "tusk:", 1), encoding="utf-8")

    with pytest.raises(contract.ContractError, match=r"data_contract\.yaml: tusk: unknown key"):
        packaging.write_zip(copy, tmp_path / "dist" / f"{PACKAGE}.zip")
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_zip_bytes_depend_only_on_file_contents(tmp_path):
    first = packaging.build_package(tmp_path / "first").read_bytes()

    # A copy with other timestamps and compiled files must give the same bytes.
    copy = tmp_path / "copy" / PACKAGE
    shutil.copytree(packaging.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "config.cpython-311.pyc").write_bytes(b"compiled")
    (copy / "stale.pyc").write_bytes(b"compiled")
    second = packaging.write_zip(copy, tmp_path / "second" / f"{PACKAGE}.zip").read_bytes()
    assert second == first

    (copy / "config.py").write_text("# changed\n", encoding="utf-8")
    third = packaging.write_zip(copy, tmp_path / "third" / f"{PACKAGE}.zip").read_bytes()
    assert third != first


def test_package_imports_from_the_zip_alone(tmp_path):
    zip_path = packaging.build_package(tmp_path)
    code = f"import {PACKAGE}.pipeline_spec as spec; print(spec.__file__); print(len(spec.PIPELINE.steps))"
    completed = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(zip_path)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    location, steps = completed.stdout.split()
    assert location.startswith(str(zip_path))
    assert int(steps) == len(PIPELINE.steps)


def test_module_command_builds_the_default_zip_and_prints_its_path():
    completed = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.packaging"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")},
    )
    printed = Path(completed.stdout.strip())
    assert printed == PROJECT_DIR / "production" / "packages" / "dist" / f"{PACKAGE}.zip"
    assert printed.read_bytes() == packaging.build_package(printed.parent).read_bytes()


@pytest.mark.parametrize("step", SKLEARN_IMAGE_STEPS, ids=lambda step: step.name)
def test_every_scikit_learn_step_stages_script_requirements_and_package(tmp_path, step):
    staged = packaging.stage_step_source(step.script, tmp_path / step.name)

    assert (staged / step.script).read_bytes() == (PROJECT_DIR / "production" / "code" / step.script).read_bytes()
    requirements = PROJECT_DIR / "production" / "packages" / "requirements" / f"{Path(step.script).stem}.txt"
    assert (staged / "requirements.txt").read_bytes() == requirements.read_bytes()
    staged_package = sorted(
        f"{PACKAGE}/{path.relative_to(staged / PACKAGE).as_posix()}"
        for path in (staged / PACKAGE).rglob("*")
        if path.is_file()
    )
    assert staged_package == source_files()
    code = f"import sys; sys.path.insert(0, {str(staged)!r}); {CONTRACT_FROM_PACKAGE}"
    completed = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == source_contract_json()


def test_staging_replaces_an_earlier_stage_and_adds_extra_scripts(tmp_path):
    destination = tmp_path / "Train"
    packaging.stage_step_source("train.py", destination)
    (destination / "left-over.txt").write_text("from an earlier build", encoding="utf-8")

    packaging.stage_step_source("train.py", destination, extra_scripts=("inference.py",))

    assert sorted(path.name for path in destination.iterdir()) == sorted(
        [PACKAGE, "inference.py", "requirements.txt", "train.py"]
    )
    assert [path.name for path in tmp_path.iterdir()] == ["Train"]  # no staging directory left behind


def test_staging_refuses_a_directory_it_did_not_stage(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")

    with pytest.raises(FileExistsError, match="not a staged step source"):
        packaging.stage_step_source("train.py", tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_staging_names_a_missing_script(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"production/code/no_such_step\.py"):
        packaging.stage_step_source("no_such_step.py", tmp_path / "step")
    assert not (tmp_path / "step").exists()
