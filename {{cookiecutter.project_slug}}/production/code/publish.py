"""Publish: make the model that passed the quality gate the one predict runs use.

    publish.py --model-dir M --evaluation-dir E --output-dir models/latest --execution-date 2024-06-01

Copies ``M/model.tar.gz`` and ``E/evaluation.json`` to the output directory and writes
``manifest.json``: the model version (``<execution date>-<first 8 hex digits of the
archive's sha256>``), the archive's checksum, the metrics and the gate. The previous
published model is replaced in one move, never left half-overwritten.

Refused: an evaluation whose gate did not pass, an evaluation of another archive, an
archive later steps could not load.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import shutil
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.cli import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    configure_logging,
    iso_date,
    report,
)
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import atomic_outputs, read_json, require_dir, sha256, write_json
from {{ cookiecutter.package_name }}.model_bundle import (
    ARCHIVE,
    EVALUATION_FILE,
    MANIFEST_FILE,
    gate_passed,
    gate_summary,
    load_bundle,
)

log = logging.getLogger("publish")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Publish the evaluated model as the latest model.")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(PROCESSING_INPUT, "model"), help="holds the training job's model.tar.gz"
    )
    parser.add_argument(
        "--evaluation-dir", type=Path, default=Path(PROCESSING_INPUT, "evaluation"), help="holds evaluation.json"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path(PROCESSING_OUTPUT, "latest"), help="the published model (models/latest)"
    )
    parser.add_argument("--execution-date", required=True, type=iso_date, help="YYYY-MM-DD, part of the version")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        publish(args.model_dir, args.evaluation_dir, args.output_dir, args.execution_date)
    except StepError as error:
        return report(error)
    return 0


def publish(model_dir: Path, evaluation_dir: Path, output_dir: Path, execution_date: str) -> dict:
    archive = require_dir(model_dir, "model directory", "run Train first") / ARCHIVE
    if not archive.is_file():
        raise StepError(f"{model_dir}: no {ARCHIVE}; point --model-dir at the training job's output")
    evaluation_file = require_dir(evaluation_dir, "evaluation directory", "run Evaluate first") / EVALUATION_FILE
    evaluation = read_json(evaluation_file, "evaluation")
    if not gate_passed(evaluation):
        gate = gate_summary(evaluation)
        raise StepError(f"{evaluation_file}: the model did not pass the quality gate ({gate}); not publishing it")
    checksum = sha256(archive)
    if evaluation.get("model_sha256") != checksum:
        raise StepError(f"{evaluation_file}: evaluates another model than {archive}; evaluate this model first")
    load_bundle(model_dir)

    manifest = {
        "model_version": f"{execution_date}-{checksum[:8]}",
        "execution_date": execution_date,
        "model_sha256": checksum,
        "metrics": evaluation["metrics"],
        "quality_gate": evaluation["quality_gate"],
        "published_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    with atomic_outputs(output_dir) as (latest,):
        shutil.copyfile(archive, latest / ARCHIVE)
        shutil.copyfile(evaluation_file, latest / EVALUATION_FILE)
        write_json(latest / MANIFEST_FILE, manifest)
    log.info("Published model %s to %s", manifest["model_version"], output_dir)
    return manifest


if __name__ == "__main__":
    sys.exit(main())
