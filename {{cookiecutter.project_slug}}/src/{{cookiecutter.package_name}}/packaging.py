"""The shipped build of ``src/{{ cookiecutter.package_name }}``: what SageMaker jobs import the package from.

Two shapes, one per kind of job:

* **Spark** (the ETL): a zip of the package, ``production/packages/dist/{{ cookiecutter.package_name }}.zip``,
  handed to ``spark-submit --py-files`` locally and to ``PySparkProcessor.run(submit_py_files=...)``
  on SageMaker. The zip is deterministic - sorted entries, fixed timestamps and permissions,
  no ``__pycache__`` - so identical sources give identical bytes and the content-hashed
  upload path of the pipeline changes only when the code does.
* **scikit-learn image** (preprocess, train, evaluate, publish, predict): a staged source
  directory (:func:`stage_step_source`) holding the step script, its pinned requirements as
  ``requirements.txt`` and a copy of the package, so that importing the package works
  next to the script inside the container, as ``PYTHONPATH=src`` makes it work locally.

Both carry the data contract as ``data_contract.json`` (``contract.shipped_json``), the
checked form of ``data_contract.yaml``, instead of the YAML file: the SageMaker images
have no YAML parser. ``contract.load()`` reads whichever the package holds.

``python -m {{ cookiecutter.package_name }}.packaging`` builds the zip and prints its path.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from {{ cookiecutter.package_name }} import contract

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_NAME = PACKAGE_DIR.name
PROJECT_DIR = PACKAGE_DIR.parents[1]
CODE_DIR = PROJECT_DIR / "production" / "code"
REQUIREMENTS_DIR = PROJECT_DIR / "production" / "packages" / "requirements"
DEFAULT_DIST_DIR = PROJECT_DIR / "production" / "packages" / "dist"

# The earliest time a zip entry can carry: any fixed value works, this one is conventional.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # a regular file, rw-r--r--
ZIP_CREATED_ON_UNIX = 3  # so the same zip comes out on every operating system
SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
SKIPPED_NAMES = frozenset({".DS_Store"})


def package_files(package_dir: Path) -> list[Path]:
    """Files that belong to the package, sorted by their path relative to ``package_dir``."""
    found = []
    for directory, subdirectories, files in os.walk(package_dir):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        for name in files:
            if name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES):
                continue
            found.append(Path(directory) / name)
    return sorted(found, key=lambda path: path.relative_to(package_dir).as_posix())


def shipped_files(package_dir: Path) -> list[tuple[str, bytes]]:
    """(path relative to ``package_dir``, content) of each file a shipped build holds, sorted by path.

    The contract's YAML file becomes its JSON form, checked on the way: a broken contract
    fails the build rather than the job.
    """
    shipped = []
    for path in package_files(package_dir):
        relative = path.relative_to(package_dir).as_posix()
        if relative == contract.CONTRACT_FILE:
            shipped.append((contract.SHIPPED_CONTRACT_FILE, contract.shipped_json(path).encode("utf-8")))
        else:
            shipped.append((relative, path.read_bytes()))
    return sorted(shipped)


def write_zip(package_dir: Path, zip_path: Path) -> Path:
    """Zip ``package_dir`` as ``<its name>/...`` into ``zip_path``, byte for byte reproducibly.

    The zip is written next to its destination first and renamed into place, so a reader
    never sees a half-written file.
    """
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(dir=zip_path.parent, prefix=f".{zip_path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for relative, content in shipped_files(package_dir):
                entry = zipfile.ZipInfo(f"{package_dir.name}/{relative}", ZIP_TIMESTAMP)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.create_system = ZIP_CREATED_ON_UNIX
                entry.external_attr = ZIP_FILE_MODE << 16
                archive.writestr(entry, content, compresslevel=9)
        # mkstemp creates the file readable by its owner only; a build artifact is for everyone.
        temporary.chmod(0o644)
        temporary.replace(zip_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return zip_path


def build_package(dist_dir: Path | None = None) -> Path:
    """Build ``<dist_dir>/<package>.zip`` (default: ``production/packages/dist``) and return its path."""
    dist_dir = Path(dist_dir) if dist_dir is not None else DEFAULT_DIST_DIR
    return write_zip(PACKAGE_DIR, dist_dir / f"{PACKAGE_NAME}.zip")


def requirements_file(script: str) -> Path:
    """The pinned requirements of a step script: ``production/packages/requirements/<script stem>.txt``."""
    path = REQUIREMENTS_DIR / f"{Path(script).stem}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: requirements of {script} not found; every step script needs one")
    return path


def copy_package(package_dir: Path, destination: Path) -> None:
    for relative, content in shipped_files(package_dir):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def replace_staged_dir(staging: Path, destination: Path) -> None:
    # Only ever delete what this module staged: a mistyped destination must not cost a directory.
    if destination.exists():
        if not (destination / "requirements.txt").is_file() and any(destination.iterdir()):
            raise FileExistsError(f"{destination}: exists and is not a staged step source; choose an empty location")
        shutil.rmtree(destination)
    staging.rename(destination)


def stage_step_source(script: str, destination: Path, extra_scripts: Sequence[str] = ()) -> Path:
    """Stage the source directory of a step that runs in the SageMaker scikit-learn image.

    ``destination`` is replaced by a directory holding::

        <script>                      production/code/<script>, e.g. preprocess.py
        <extra scripts>               other files of production/code, e.g. inference.py for Train
        requirements.txt              production/packages/requirements/<script stem>.txt
        <package>/                    src/<package> without __pycache__ / *.pyc, data_contract.json
                                      in place of data_contract.yaml

    Use it as the ``source_dir`` of a processing step (entry point ``<script>``) or of the
    training job (``SourceCode(source_dir=..., entry_script=<script>, requirements="requirements.txt")``).
    Identical sources give identical files, and the SDK's content hash of a source directory
    also covers its path: stage to a fixed location (e.g. ``build/pipeline/<step name>``) so an
    unchanged step keeps its upload path. Returns ``destination``.

    Raises ``FileNotFoundError`` naming a missing script or requirements file, and
    ``FileExistsError`` if ``destination`` holds something that is not a staged source.
    """
    destination = Path(destination)
    scripts = [CODE_DIR / name for name in (script, *extra_scripts)]
    for path in scripts:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: step script not found")
    requirements = requirements_file(script)

    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp"))
    try:
        for path in scripts:
            shutil.copyfile(path, staging / path.name)
        shutil.copyfile(requirements, staging / "requirements.txt")
        copy_package(PACKAGE_DIR, staging / PACKAGE_NAME)
        replace_staged_dir(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def main() -> int:
    print(build_package())
    return 0


if __name__ == "__main__":
    sys.exit(main())
