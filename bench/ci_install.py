"""Benchmark 6: the CI deploy job's dependency install against installing the full project environment.

Both commands are read from the generated ``.gitlab-ci.yml`` (the ``pip install`` line of
the ``.deploy`` and ``test`` jobs' ``before_script``) and run as CI runs them: in a fresh
virtual environment, from a clean copy of the project, with a warm pip cache of their own
(``build/bench/install/pip-cache``, filled once by an untimed install of everything, as
CI's cache is filled by earlier pipelines).

The two installs run side by side. pip works on one core, so on this two-core machine
each gets a core of its own and the benchmark takes the longer install's time instead of
both together (about four minutes less). Their CPU seconds, which do not depend on
sharing, are in the figure's note as a check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from measure import Run, run
from project import Project
from results import Figure

DEPLOY_JOB = ".deploy"
FULL_JOB = "test"


@dataclass(frozen=True)
class Install:
    """One install into a fresh venv: the run, and what it put there."""

    run: Run
    mb: int
    packages: int


def pip_install_line(ci: dict, job: str) -> str:
    for line in ci[job]["before_script"]:
        if "pip install" in line:
            return line
    raise KeyError(f".gitlab-ci.yml: job {job} has no pip install line in its before_script")


def ci_environment(venv: Path, cache: Path) -> dict[str, str]:
    """``python`` is the fresh venv's; pip's settings are those .gitlab-ci.yml sets."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(venv / "bin"), os.environ["PATH"]]),
        "VIRTUAL_ENV": str(venv),
        "PIP_CACHE_DIR": str(cache),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_PROGRESS_BAR": "off",
        "PIP_ROOT_USER_ACTION": "ignore",
    }


def checkout(project: Project, copy: Path) -> Path:
    """A clean copy of the project, as a CI job gets it (an editable install writes into it)."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project.root, copy, ignore=shutil.ignore_patterns("build", "dist", "__pycache__", "*.egg-info"))
    return copy


def install(project: Project, line: str, name: str, work_dir: Path, cache: Path, logs: Path) -> Install:
    """Run ``line`` in a fresh venv from a checkout of its own (two installs may run at once); clean up after."""
    copy, venv, log = work_dir / f"checkout-{name}", work_dir / f"venv-{name}", logs / f"install-{name}.log"
    checkout(project, copy)
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], log.with_suffix(".venv.log"))
    finished = run(["bash", "-c", line], log, env=ci_environment(venv, cache), cwd=copy)
    mb, packages = venv_size(venv)
    for directory in (venv, copy):
        shutil.rmtree(directory, ignore_errors=True)
    return Install(finished, mb, packages)


def venv_size(venv: Path) -> tuple[int, int]:
    """How much an install put into ``venv``: megabytes and distributions."""
    total = sum(path.stat().st_size for path in venv.rglob("*") if path.is_file() and not path.is_symlink())
    packages = len(list(venv.glob("lib/python*/site-packages/*.dist-info")))
    return round(total / (1024 * 1024)), packages


def dependencies_fingerprint(line: str, project: Project) -> str:
    """Changes with what ``line`` installs: the command, pyproject.toml's dependencies (not its tool
    settings) and the versions of constraints.txt."""
    pyproject = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = {key: pyproject["project"].get(key) for key in ("dependencies", "optional-dependencies")}
    constraints = (project.root / "constraints.txt").read_text(encoding="utf-8")
    wanted = [line, pyproject.get("build-system"), dependencies, constraints]
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def warm_cache(project: Project, line: str, work_dir: Path, cache: Path, logs: Path) -> float:
    """Fill the benchmark's pip cache once per set of dependencies: returns the seconds that took (0 if warm).

    Warm, the cache holds the wheel pip builds of pyspark (which PyPI has as source only)
    and, with a remote index, every download: a cold cache would charge those to whichever
    install ran first.
    """
    stamp = cache / f".warmed-{dependencies_fingerprint(line, project)}"
    if stamp.is_file():
        return 0.0
    seconds = install(project, line, "warm-up", work_dir, cache, logs).run.seconds
    stamp.write_text(line + "\n", encoding="utf-8")
    return seconds


def measure(project: Project, work_dir: Path, logs: Path) -> tuple[list[Figure], dict]:
    ci = yaml.safe_load((project.root / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    deploy_line, full_line = pip_install_line(ci, DEPLOY_JOB), pip_install_line(ci, FULL_JOB)
    cache = work_dir / "pip-cache"
    cache.mkdir(parents=True, exist_ok=True)
    warm_up_seconds = warm_cache(project, full_line, work_dir, cache, logs)
    with ThreadPoolExecutor(max_workers=2) as pool:
        deploy_job = pool.submit(install, project, deploy_line, "deploy", work_dir, cache, logs)
        full_job = pool.submit(install, project, full_line, "full", work_dir, cache, logs)
        deploy, full = deploy_job.result(), full_job.result()
    figure = Figure(
        "6 CI install",
        "deploy job: " + deploy_line.split("install", 1)[1].strip(),
        deploy.run.seconds,
        "full env: " + full_line.split("install", 1)[1].strip(),
        full.run.seconds,
        "s",
        note=f"{deploy.packages} distributions, {deploy.mb:,} MB and {deploy.run.cpu_seconds:.0f} CPU s, against "
        f"{full.packages}, {full.mb:,} MB and {full.run.cpu_seconds:.0f} CPU s (both installs ran side by side)",
    )
    details = {
        "deploy_command": deploy_line,
        "full_command": full_line,
        "deploy": {"seconds": deploy.run.seconds, "cpu_seconds": deploy.run.cpu_seconds, "mb": deploy.mb,
                   "packages": deploy.packages},
        "full": {"seconds": full.run.seconds, "cpu_seconds": full.run.cpu_seconds, "mb": full.mb,
                 "packages": full.packages},
        "cache_warm_up_seconds": warm_up_seconds,
    }  # fmt: skip
    return [figure], details
