"""File-system helpers the steps share: all-or-nothing output directories, JSON files, checksums."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.errors import StepError

STAGING_SUFFIX = ".partial"


@contextlib.contextmanager
def atomic_outputs(*targets: Path) -> Iterator[tuple[Path, ...]]:
    """Write output directories all-or-nothing.

    Yields one empty staging directory per target, each a hidden sibling of its target
    (same file system, so the final rename is cheap). When the block ends normally each
    staging directory replaces its target; when it raises, the staging directories and
    any parent directory created for them are removed and the targets stay as they were.
    """
    created_parents = [_make_parents(target.parent) for target in targets]
    staged: list[Path] = []
    try:
        for target in targets:
            staged.append(Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=STAGING_SUFFIX, dir=target.parent)))
        yield tuple(staged)
    except BaseException:
        for staging in staged:
            shutil.rmtree(staging, ignore_errors=True)
        for created in created_parents:
            _remove_empty_dirs(created)
        raise
    for staging, target in zip(staged, targets, strict=True):
        _replace(target, staging)


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return the created ones, deepest first."""
    missing = [path for path in (directory, *directory.parents) if not path.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty_dirs(directories: list[Path]) -> None:
    for directory in directories:
        with contextlib.suppress(OSError):
            directory.rmdir()


def _replace(target: Path, staging: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
    try:
        target.rename(retired)
    except OSError:
        # A mount point (as SageMaker's output and model directories can be) cannot be
        # renamed: replace what is inside it instead.
        _replace_contents(target, staging)
        return
    staging.rename(target)
    shutil.rmtree(retired)


def _replace_contents(target: Path, staging: Path) -> None:
    for entry in target.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in staging.iterdir():
        shutil.move(str(entry), target / entry.name)
    staging.rmdir()


def require_dir(path: Path, what: str, fix: str) -> Path:
    """``path`` if it is a directory, else a StepError naming it, ``what`` it should hold, and the ``fix``."""
    if not path.is_dir():
        problem = "is not a directory" if path.exists() else "does not exist"
        raise StepError(f"{path}: {what} {problem}; {fix}")
    return path


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; a StepError names the file if it is missing or not a JSON object."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StepError(f"{path}: {what} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StepError(f"{path}: {what} is not valid JSON ({error})") from None
    if not isinstance(content, dict):
        raise StepError(f"{path}: {what} must be a JSON object, not {type(content).__name__}")
    return content


def write_json(path: Path, content: dict[str, Any]) -> None:
    # sort_keys keeps the files stable from run to run, so they diff well.
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomically(text: str, path: Path) -> Path:
    """Write next to ``path`` and rename into place: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600) and the definition is for everyone to read.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
