"""A local run's raw data: the user's own file or folder (``--raw``), copied into the run's
raw location and checked against the data contract, or sample data made from it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import pipeline_spec
from {{ cookiecutter.package_name }}.files import atomic_outputs
from {{ cookiecutter.package_name }}.local_plan import (
    PACKAGE_NAME,
    LocalRun,
    LocalRunError,
    resolve,
    shown,
)
from {{ cookiecutter.package_name }}.local_steps import (
    python_environment,
    run_command,
)


def ensure_raw_data(run: LocalRun, rows: int, given: Path | None = None) -> Path:
    """Stage the user's data (``given``) for the use type, or generate sample data unless some is there already."""
    raw = Path(str(resolve(run, pipeline_spec.RAW_DATA)))
    if given is not None:
        return stage_raw_data(given, raw, data_contract.load())
    if raw.is_dir() and any(raw.iterdir()):
        print(f"Raw data: {shown(raw)} (existing data, --rows not used)")
        return raw
    print(f"Raw data: generating {rows} sample {run.use_type} rows into {shown(raw)}")
    command = [
        sys.executable,
        "-m",
        f"{PACKAGE_NAME}.sample_data",
        "--use-type",
        run.use_type,
        "--rows",
        str(rows),
        "--output-dir",
        str(raw),
    ]
    run_command("sample data generation", command, python_environment())
    return raw


def stage_raw_data(given: Path, raw: Path, contract: data_contract.Contract) -> Path:
    """Copy the user's file or folders into the layout the ETL reads, ``<raw>/<source>/``.

    A copy: the run never changes the user's files, and a later run of the same work
    directory still finds this data. Nothing is staged unless every source is there.
    """
    given = given.resolve()
    if given == raw or raw in given.parents:
        print(f"Raw data: {shown(raw)} (given with --raw)")
        return raw
    files = raw_source_files(given, contract)
    with atomic_outputs(raw) as (staging,):
        for source, paths in files.items():
            (staging / source).mkdir()
            for path in paths:
                shutil.copyfile(path, staging / source / path.name)
    print(f"Raw data: {shown(given)} staged into {shown(raw)}")
    return raw


def raw_source_files(given: Path, contract: data_contract.Contract) -> dict[str, list[Path]]:
    """The data files of each source in ``given``: a file (one-source contracts) or one folder per source."""
    names = ", ".join(source.name for source in contract.sources)
    if not given.exists():
        raise LocalRunError(f"--raw {given}: no such file or directory")
    if given.is_file():
        if len(contract.sources) > 1:
            raise LocalRunError(
                f"--raw {given}: a file, but the data contract has {len(contract.sources)} sources ({names}); "
                f"give a directory with one folder per source, e.g. {given.parent / contract.main.name}/"
            )
        check_format(given, contract.main)
        return {contract.main.name: [given]}
    files = {}
    for source in contract.sources:
        folder = given / source.name
        if not folder.is_dir() and len(contract.sources) == 1 and data_files_of(given, source):
            folder = given  # a single source's files, straight in the directory
        if not folder.is_dir():
            raise LocalRunError(
                f"--raw {given}: no folder {source.name}/ for source {source.name} (the data contract's sources: "
                f"{names}); put its .{source.format} files in {folder}/"
            )
        files[source.name] = data_files_of(folder, source)
        if not files[source.name]:
            raise LocalRunError(f"--raw {folder}: no .{source.format} files for source {source.name}")
    return files


def data_files_of(folder: Path, source: data_contract.Source) -> list[Path]:
    """Files of the source's format; names starting with _ or . (_SUCCESS, checksums) are no data."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() == f".{source.format}" and not path.name.startswith(("_", "."))
    )


def check_format(path: Path, source: data_contract.Source) -> None:
    if path.suffix.lower() != f".{source.format}":
        raise LocalRunError(
            f"--raw {path}: source {source.name} is declared as {source.format} in the data contract; "
            f"give a .{source.format} file, or set its format: to {path.suffix.lstrip('.').lower() or '?'}"
        )
