"""train.py under the SageMaker training contract: the bundle, the metric lines, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sklearn

from {{ cookiecutter.package_name }} import model_bundle, schema, tables
from {{ cookiecutter.package_name }}.training_metrics import METRICS, metric_definitions

import train

HYPERPARAMETERS = ["--n-estimators", "25", "--max-depth", "6", "--random-state", "3"]


def channel_arguments(run, model_dir: Path, output_data_dir: Path) -> list[str]:
    return [
        "--train-dir", str(run.train_dir),
        "--test-dir", str(run.test_dir),
        "--transformer-dir", str(run.transformer_dir),
        "--model-dir", str(model_dir),
        "--output-data-dir", str(output_data_dir),
    ]  # fmt: skip


def test_writes_the_bundle_and_logs_scrapable_metrics(trained, tmp_path, capsys):
    model_dir, data_dir = tmp_path / "model", tmp_path / "output-data"
    assert train.main([*HYPERPARAMETERS, *channel_arguments(trained, model_dir, data_dir)]) == 0

    assert sorted(path.name for path in model_dir.iterdir()) == sorted(model_bundle.BUNDLE_FILES)
    transformer_copy = (model_dir / model_bundle.TRANSFORMER_FILE).read_bytes()
    assert transformer_copy == (trained.transformer_dir / model_bundle.TRANSFORMER_FILE).read_bytes()

    bundle = model_bundle.load_bundle(model_dir)
    assert len(bundle.model.estimators_) == 25
    assert bundle.model.max_depth == 6
    assert bundle.feature_columns == schema.FEATURE_NAMES
    assert bundle.metadata["libraries"]["scikit-learn"] == sklearn.__version__
    assert bundle.metadata["hyperparameters"] == {"n_estimators": 25, "max_depth": 6, "random_state": 3}

    # The regexes of the training job's metric definitions find every metric in the log.
    log = capsys.readouterr().out
    scraped = {d["Name"]: float(re.search(d["Regex"], log).group(1)) for d in metric_definitions()}
    assert set(scraped) == set(METRICS)
    written = json.loads((data_dir / "metrics.json").read_text())
    assert scraped == pytest.approx(written, abs=1e-6)
    assert written["test_roc_auc"] > 0.7


def test_sagemaker_environment_gives_the_default_paths(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(trained.train_dir))
    monkeypatch.setenv("SM_CHANNEL_TEST", str(trained.test_dir))
    monkeypatch.setenv("SM_CHANNEL_TRANSFORMER", str(trained.transformer_dir))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "opt-ml-model"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "opt-ml-output-data"))
    assert train.main(HYPERPARAMETERS) == 0
    assert (tmp_path / "opt-ml-model" / model_bundle.MODEL_FILE).is_file()
    assert (tmp_path / "opt-ml-output-data" / "metrics.json").is_file()


def test_same_seed_same_model(trained, tmp_path):
    for name in ("first", "again"):
        assert (
            train.main([*HYPERPARAMETERS, *channel_arguments(trained, tmp_path / name, tmp_path / f"{name}-data")]) == 0
        )
    first = model_bundle.load_bundle(tmp_path / "first")
    again = model_bundle.load_bundle(tmp_path / "again")
    test = tables.read_table(trained.test_dir, "test")
    assert first.probabilities(test).tolist() == again.probabilities(test).tolist()


def test_bad_hyperparameter_is_refused(trained, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--n-estimators", "0", *channel_arguments(trained, tmp_path / "model", tmp_path / "data")])
    assert exit_info.value.code == 2
    assert "--n-estimators: '0' is not a whole number of at least 1" in capsys.readouterr().err


def test_missing_train_channel(trained, tmp_path, expect_failure):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = channel_arguments(trained, model_dir, data_dir)
    missing = tmp_path / "no-train-channel"
    arguments[arguments.index("--train-dir") + 1] = str(missing)
    expect_failure(train.main, arguments, f"{missing}: training split does not exist", outputs=(model_dir, data_dir))


def test_missing_transformer(trained, tmp_path, expect_failure):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = channel_arguments(trained, model_dir, data_dir)
    empty = tmp_path / "transformer"
    empty.mkdir()
    arguments[arguments.index("--transformer-dir") + 1] = str(empty)
    expect_failure(
        train.main,
        arguments,
        f"{empty}/{model_bundle.TRANSFORMER_FILE}: not found; run PreprocessTrain first",
        outputs=(model_dir, data_dir),
    )


def test_single_class_training_split(trained, tmp_path, copy_tree, expect_failure):
    train_dir = copy_tree(trained.train_dir, "train")
    split = tables.read_table(train_dir, "train").assign(bought_bag=0)
    tables.write_parquet(split, train_dir / "train.parquet")
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = channel_arguments(trained, model_dir, data_dir)
    arguments[arguments.index("--train-dir") + 1] = str(train_dir)
    expect_failure(
        train.main, arguments, f"{train_dir}: column bought_bag holds only class 0", outputs=(model_dir, data_dir)
    )


def test_splits_from_another_transformer(trained, tmp_path, copy_tree, expect_failure):
    test_dir = copy_tree(trained.test_dir, "test")
    split = tables.read_table(test_dir, "test")
    dropped = split.columns[3]
    tables.write_parquet(split.drop(columns=[dropped]), test_dir / "test.parquet")
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = channel_arguments(trained, model_dir, data_dir)
    arguments[arguments.index("--test-dir") + 1] = str(test_dir)
    expect_failure(
        train.main,
        arguments,
        f"{test_dir}: missing column(s) {dropped}",
        "must come from the same PreprocessTrain run",
        outputs=(model_dir, data_dir),
    )


def test_a_failed_run_keeps_an_earlier_model(trained, tmp_path, copy_tree):
    model_dir = copy_tree(trained.extracted_dir, "model")
    before = {path.name: path.read_bytes() for path in model_dir.iterdir()}
    arguments = channel_arguments(trained, model_dir, tmp_path / "data")
    arguments[arguments.index("--transformer-dir") + 1] = str(tmp_path / "missing")
    assert train.main(arguments) == 1
    assert {path.name: path.read_bytes() for path in model_dir.iterdir()} == before
