"""publish.py: only an evaluated model that passed the gate becomes models/latest."""

from __future__ import annotations

import json
from pathlib import Path

from {{ cookiecutter.package_name }} import files, model_bundle

import publish

DATE = "2024-06-02"


def arguments(model_dir: Path, evaluation_dir: Path, output_dir: Path, date: str = DATE) -> list[str]:
    return [
        "--model-dir", str(model_dir),
        "--evaluation-dir", str(evaluation_dir),
        "--output-dir", str(output_dir),
        "--execution-date", date,
    ]  # fmt: skip


def test_publishes_archive_evaluation_and_manifest(trained, tmp_path):
    latest = tmp_path / "models" / "latest"
    assert publish.main(arguments(trained.model_dir, trained.evaluation_dir, latest)) == 0

    archive = trained.model_dir / model_bundle.ARCHIVE
    assert (latest / model_bundle.ARCHIVE).read_bytes() == archive.read_bytes()
    evaluation_file = trained.evaluation_dir / model_bundle.EVALUATION_FILE
    assert (latest / model_bundle.EVALUATION_FILE).read_bytes() == evaluation_file.read_bytes()
    manifest = json.loads((latest / model_bundle.MANIFEST_FILE).read_text())
    checksum = files.sha256(archive)
    assert manifest["model_sha256"] == checksum
    assert manifest["model_version"] == f"{DATE}-{checksum[:8]}"
    assert manifest["quality_gate"]["passed"] is True
    assert model_bundle.load_published(latest).version == manifest["model_version"]


def test_a_new_model_replaces_the_published_one_whole(trained, tmp_path, copy_tree):
    latest = copy_tree(trained.latest_dir, "latest")
    (latest / "stale-file").write_text("from an older publish")
    assert publish.main(arguments(trained.model_dir, trained.evaluation_dir, latest, "2024-07-01")) == 0
    assert sorted(path.name for path in latest.iterdir()) == sorted(
        [model_bundle.ARCHIVE, model_bundle.EVALUATION_FILE, model_bundle.MANIFEST_FILE]
    )
    assert model_bundle.load_published(latest).version.startswith("2024-07-01-")


def test_refuses_a_model_that_failed_the_gate(trained, tmp_path, copy_tree, expect_failure):
    evaluation_dir = copy_tree(trained.evaluation_dir, "evaluation")
    evaluation = json.loads((evaluation_dir / model_bundle.EVALUATION_FILE).read_text())
    evaluation["quality_gate"].update(threshold=0.99, passed=False)
    files.write_json(evaluation_dir / model_bundle.EVALUATION_FILE, evaluation)
    latest = tmp_path / "latest"
    expect_failure(
        publish.main,
        arguments(trained.model_dir, evaluation_dir, latest),
        f"{evaluation_dir}/{model_bundle.EVALUATION_FILE}: the model did not pass the quality gate",
        "threshold of 0.99",
        outputs=(latest,),
    )


def test_a_refused_model_leaves_the_published_one_alone(trained, tmp_path, copy_tree):
    latest = copy_tree(trained.latest_dir, "latest")
    before = {path.name: path.read_bytes() for path in latest.iterdir()}
    assert publish.main(arguments(trained.model_dir, tmp_path / "no-evaluation", latest)) == 1
    assert {path.name: path.read_bytes() for path in latest.iterdir()} == before


def test_refuses_an_evaluation_of_another_model(trained, tmp_path, copy_tree, expect_failure):
    evaluation_dir = copy_tree(trained.evaluation_dir, "evaluation")
    evaluation = json.loads((evaluation_dir / model_bundle.EVALUATION_FILE).read_text())
    evaluation["model_sha256"] = "0" * 64
    files.write_json(evaluation_dir / model_bundle.EVALUATION_FILE, evaluation)
    latest = tmp_path / "latest"
    expect_failure(
        publish.main,
        arguments(trained.model_dir, evaluation_dir, latest),
        f"{evaluation_dir}/{model_bundle.EVALUATION_FILE}: evaluates another model than",
        outputs=(latest,),
    )


def test_missing_archive(trained, tmp_path, expect_failure):
    latest = tmp_path / "latest"
    expect_failure(
        publish.main,
        arguments(trained.extracted_dir, trained.evaluation_dir, latest),
        f"{trained.extracted_dir}: no {model_bundle.ARCHIVE}",
        outputs=(latest,),
    )


def test_evaluation_that_is_not_json(trained, tmp_path, expect_failure):
    evaluation_dir = tmp_path / "evaluation"
    evaluation_dir.mkdir()
    (evaluation_dir / model_bundle.EVALUATION_FILE).write_text("{not json")
    latest = tmp_path / "latest"
    expect_failure(
        publish.main,
        arguments(trained.model_dir, evaluation_dir, latest),
        f"{evaluation_dir}/{model_bundle.EVALUATION_FILE}: evaluation is not valid JSON",
        outputs=(latest,),
    )


def test_refuses_an_archive_whose_model_does_not_load(trained, tmp_path, copy_tree, expect_failure):
    """Evaluated or not, a model later steps cannot unpickle is not published."""
    bundle = copy_tree(trained.extracted_dir, "bundle")
    (bundle / model_bundle.MODEL_FILE).write_bytes(b"\x80\x04 not a pickle")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    checksum = files.sha256(model_bundle.pack(bundle, model_dir / model_bundle.ARCHIVE))
    evaluation_dir = copy_tree(trained.evaluation_dir, "evaluation")
    evaluation = json.loads((evaluation_dir / model_bundle.EVALUATION_FILE).read_text())
    evaluation["model_sha256"] = checksum
    files.write_json(evaluation_dir / model_bundle.EVALUATION_FILE, evaluation)
    latest = tmp_path / "latest"
    expect_failure(
        publish.main,
        arguments(model_dir, evaluation_dir, latest),
        f"{model_dir}/{model_bundle.ARCHIVE}: cannot load {model_bundle.MODEL_FILE}",
        outputs=(latest,),
    )
