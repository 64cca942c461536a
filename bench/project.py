"""The generated project the benchmarks measure: rendered with the default answers, plus its sample data."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter
from measure import run

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
BENCH_DIR = TEMPLATE_DIR / "build" / "bench"
# Where cookiecutter keeps its replay files and clones: inside build/, not in the home directory.
COOKIECUTTER_CONFIG = """\
cookiecutters_dir: "{root}/cookiecutters"
replay_dir: "{root}/replay"
"""
EXECUTION_DATE = "2024-06-01"
USE_TYPES = ("train", "predict")


@dataclass(frozen=True)
class Project:
    root: Path
    package: str

    @property
    def package_dir(self) -> Path:
        return self.root / "src" / self.package

    def env(self) -> dict[str, str]:
        """The environment the project's Makefile gives its commands: the package importable from src/."""
        path = os.pathsep.join(filter(None, [str(self.root / "src"), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path}

    def module(self, name: str, *arguments: str) -> list[str]:
        """``python -m <package>.<name> ...`` with the interpreter running the benchmarks."""
        return [sys.executable, "-m", f"{self.package}.{name}", *arguments]


def cookiecutter_config(work_dir: Path) -> Path:
    path = work_dir / "cookiecutter-config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(COOKIECUTTER_CONFIG.format(root=work_dir / "cookiecutter"), encoding="utf-8")
    return path


def render(output_dir: Path, config_file: Path) -> Path:
    """Render the template with its default answers into ``output_dir``; return the project's directory."""
    return Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(output_dir),
            overwrite_if_exists=True,
            config_file=str(config_file),
        )
    )


def render_project(work_dir: Path) -> Project:
    """A fresh rendering of the template for every benchmark run, so the figures describe today's template."""
    output_dir = work_dir / "project"
    shutil.rmtree(output_dir, ignore_errors=True)
    return existing_project(render(output_dir, cookiecutter_config(work_dir)))


def existing_project(root: Path) -> Project:
    """A project generated from this template earlier (e.g. before a change, to compare)."""
    (package,) = (path.parent.name for path in (root / "src").glob("*/__init__.py"))
    return Project(root.resolve(), package)


# --------------------------------------------------------------------------- sample data


# What the sample data follows: the generic generator, the data contract it reads, and the
# starter's own generator if the contract names one (the default starter's lives in example/).
GENERATOR_FILES = ("sample_data.py", "contract.py", "data_contract.yaml", "example/*.py")


def generator_fingerprint(project: Project) -> str:
    """Changes when the sample-data generator, or the data contract it follows, does."""
    digest = hashlib.sha256()
    for pattern in GENERATOR_FILES:
        for path in sorted(project.package_dir.glob(pattern)):
            digest.update(path.relative_to(project.package_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def raw_data(project: Project, rows: int, use_types: tuple[str, ...], data_dir: Path, logs: Path) -> tuple[Path, float]:
    """``<data_dir>/<rows>/raw/<use type>/``, written by the project's own sample-data generator.

    Returns the raw directory and the seconds generating took: 0 when the data of an
    unchanged generator is kept from an earlier run (ten million rows take a while to write).
    """
    raw = data_dir / str(rows) / "raw"
    fingerprint = generator_fingerprint(project)
    seconds = 0.0
    for use_type in use_types:
        stamp = raw / f".generated-{use_type}"
        if stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
            continue
        shutil.rmtree(raw / use_type, ignore_errors=True)
        arguments = ("--use-type", use_type, "--rows", str(rows), "--output-dir", str(raw / use_type))
        log = logs / f"sample-data-{use_type}-{rows}.log"
        seconds += run(project.module("sample_data", *arguments), log, env=project.env(), cwd=project.root).seconds
        stamp.write_text(fingerprint, encoding="utf-8")
    return raw, seconds
