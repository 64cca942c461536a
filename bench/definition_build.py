"""Benchmark 4: building the pipeline definition offline against merely importing the SDK modules it uses.

Both run in fresh processes: ``create_pipeline.py --environment develop --dry-run`` (moto
standing in for AWS), and a ``python -c`` that imports the ``sagemaker`` modules that same
build loads (listed once beforehand by ``sdk_modules.py``). The difference is what the
project itself spends: moto, staging and hashing the step code, building the steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from measure import median_run, run
from project import Project
from results import Figure

REPEATS = 3
SDK_MODULES = Path(__file__).resolve().parent / "sdk_modules.py"
IMPORT_LISTED = "import importlib, json, sys\nfor name in json.load(open(sys.argv[1])): importlib.import_module(name)"


def environment(project: Project) -> dict[str, str]:
    """Importing the SDK needs a region: the dry run takes the configuration's, so the baseline gets it too."""
    base = project.root / "production" / "pipelines_code" / "config" / "base.yaml"
    region = yaml.safe_load(base.read_text(encoding="utf-8"))["region"]
    return {**project.env(), "AWS_DEFAULT_REGION": region}


def measure(project: Project, work_dir: Path, logs: Path) -> tuple[list[Figure], dict]:
    env = environment(project)
    modules = work_dir / "sdk-modules.json"
    run([sys.executable, str(SDK_MODULES), str(project.root), str(modules)], logs / "sdk-modules.log", env=env)
    script = project.root / "production" / "pipelines_code" / "create_pipeline.py"
    definition = work_dir / "definition-develop.json"
    dry_run = [sys.executable, str(script), "--environment", "develop", "--dry-run", "--output", str(definition)]
    imports = [sys.executable, "-c", IMPORT_LISTED, str(modules)]

    building, build_times = median_run(
        lambda n: run(dry_run, logs / f"dry-run-{n}.log", env=env, cwd=project.root), REPEATS
    )
    importing, import_times = median_run(lambda n: run(imports, logs / f"sdk-import-{n}.log", env=env), REPEATS)
    figure = Figure(
        "4 definition build",
        f"create_pipeline.py --dry-run (median of {REPEATS})",
        building.seconds,
        "import the SDK modules it uses",
        importing.seconds,
        "s",
    )
    return [figure], {"dry_run_seconds": build_times, "sdk_import_seconds": import_times}
