"""train.py under the SageMaker training contract: the bundle, the metric lines, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sklearn

from {{ cookiecutter.package_name }} import model_bundle, schema, tables
from {{ cookiecutter.package_name }}.training_metrics import METRICS, log_line, metric_definitions

import train

CONTRACT = schema.contract()
LABEL = CONTRACT.label.column
HYPERPARAMETERS = ["--n-estimators", "25", "--max-depth", "6", "--random-state", "3"]
# The held-out metric each task is judged by first, and the value a model of the sample data beats.
HEADLINE = {"binary": ("test_roc_auc", 0.7), "multiclass": ("test_macro_f1", 0.5), "regression": ("test_r2", 0.5)}


def channel_arguments(run, model_dir: Path, output_data_dir: Path) -> list[str]:
    return [
        "--train-dir", str(run.train_dir),
        "--test-dir", str(run.test_dir),
        "--transformer-dir", str(run.transformer_dir),
        "--model-dir", str(model_dir),
        "--output-data-dir", str(output_data_dir),
    ]  # fmt: skip


def with_channel(arguments: list[str], option: str, path: Path) -> list[str]:
    changed = list(arguments)
    changed[changed.index(option) + 1] = str(path)
    return changed


def test_writes_the_bundle_and_logs_scrapable_metrics(trained, tmp_path, capsys):
    model_dir, data_dir = tmp_path / "model", tmp_path / "output-data"
    assert train.main([*HYPERPARAMETERS, *channel_arguments(trained, model_dir, data_dir)]) == 0

    assert sorted(path.name for path in model_dir.iterdir()) == sorted(model_bundle.BUNDLE_FILES)
    transformer_copy = (model_dir / model_bundle.TRANSFORMER_FILE).read_bytes()
    assert transformer_copy == (trained.transformer_dir / model_bundle.TRANSFORMER_FILE).read_bytes()

    bundle = model_bundle.load_bundle(model_dir)
    assert len(bundle.model.estimators_) == 25
    assert bundle.model.max_depth == 6
    assert bundle.feature_columns == CONTRACT.feature_names
    assert bundle.metadata["libraries"]["scikit-learn"] == sklearn.__version__
    assert bundle.metadata["hyperparameters"] == {"n_estimators": 25, "max_depth": 6, "random_state": 3}

    # The regexes of the training job's metric definitions find every metric in the log.
    log = capsys.readouterr().out
    scraped = {d["Name"]: float(re.search(d["Regex"], log).group(1)) for d in metric_definitions()}
    assert set(scraped) == set(METRICS[CONTRACT.task])
    written = json.loads((data_dir / "metrics.json").read_text())
    assert scraped == pytest.approx(written, abs=1e-6)
    metric, beaten = HEADLINE[CONTRACT.task]
    assert written[metric] > beaten


def test_the_bundle_describes_the_task(trained):
    bundle = model_bundle.load_bundle(trained.extracted_dir)
    metadata = json.loads((trained.extracted_dir / model_bundle.METADATA_FILE).read_text())
    assert metadata["task"] == bundle.task == CONTRACT.task
    assert metadata["label"] == LABEL
    assert metadata["id_column"] == CONTRACT.id_column
    labels = tables.read_table(trained.train_dir, "train")[LABEL]
    if CONTRACT.is_classification:
        # JSON's own types, in the order of the model's probabilities.
        assert metadata["classes"] == sorted(labels.unique().tolist()) == list(bundle.model.classes_)
        assert type(metadata["classes"][0]) is type(labels.tolist()[0])
        assert type(bundle.model).__name__ == "RandomForestClassifier"
    else:
        assert metadata["classes"] == []
        assert type(bundle.model).__name__ == "RandomForestRegressor"
    expected_positive = CONTRACT.label.positive_class if CONTRACT.task == "binary" else None
    assert metadata["positive_class"] == expected_positive


def test_another_estimator_can_be_chosen(trained, tmp_path):
    model_dir = tmp_path / "model"
    arguments = [*HYPERPARAMETERS, "--estimator", "extra_trees", *channel_arguments(trained, model_dir, tmp_path / "d")]
    assert train.main(arguments) == 0
    kind = "Regressor" if CONTRACT.task == "regression" else "Classifier"
    assert type(model_bundle.load_bundle(model_dir).model).__name__ == f"ExtraTrees{kind}"


@pytest.mark.parametrize("task", list(METRICS))
def test_metric_definitions_of_every_task_read_their_log_lines(task):
    definitions = metric_definitions(task)
    assert [d["Name"] for d in definitions] == list(METRICS[task])
    for definition, value in zip(definitions, (-0.25, 0.5, 12.75), strict=False):
        line = log_line(definition["Name"], value, task)
        assert float(re.search(definition["Regex"], f"noise {line} more").group(1)) == value


def test_a_metric_of_another_task_is_no_log_line():
    others = [name for names in METRICS.values() for name in names if name not in METRICS[CONTRACT.task]]
    other = others[0]
    with pytest.raises(KeyError, match=f"unknown training metric '{other}'"):
        log_line(other, 0.5)


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
    assert first.predict_matrix(test).equals(again.predict_matrix(test))


def test_bad_hyperparameter_is_refused(trained, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--n-estimators", "0", *channel_arguments(trained, tmp_path / "model", tmp_path / "data")])
    assert exit_info.value.code == 2
    assert "--n-estimators: '0' is not a whole number of at least 1" in capsys.readouterr().err


def test_missing_train_channel(trained, tmp_path, expect_failure):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    missing = tmp_path / "no-train-channel"
    arguments = with_channel(channel_arguments(trained, model_dir, data_dir), "--train-dir", missing)
    expect_failure(train.main, arguments, f"{missing}: training split does not exist", outputs=(model_dir, data_dir))


def test_missing_transformer(trained, tmp_path, expect_failure):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    empty = tmp_path / "transformer"
    empty.mkdir()
    arguments = with_channel(channel_arguments(trained, model_dir, data_dir), "--transformer-dir", empty)
    expect_failure(
        train.main,
        arguments,
        f"{empty}/{model_bundle.TRANSFORMER_FILE}: not found; run PreprocessTrain first",
        outputs=(model_dir, data_dir),
    )


def test_the_training_split_as_test_split(trained, tmp_path, expect_failure):
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = with_channel(channel_arguments(trained, model_dir, data_dir), "--test-dir", trained.train_dir)
    expect_failure(
        train.main,
        arguments,
        f"{trained.train_dir}: holds the training split, expected the test split",
        outputs=(model_dir, data_dir),
    )


def test_a_label_the_task_cannot_learn(trained, tmp_path, copy_tree, expect_failure):
    """A classifier needs two classes; a regressor finite numbers."""
    train_dir = copy_tree(trained.train_dir, "train")
    split = tables.read_table(train_dir, "train")
    if CONTRACT.is_classification:
        only = split[LABEL].tolist()[0]
        split[LABEL] = only
        problem = f"holds only class {only!r}" if CONTRACT.task == "binary" else "has no row of class(es)"
    else:
        split.loc[split.index[:2], LABEL] = float("inf")
        problem = "holds 2 value(s) that are infinite"
    tables.write_parquet(split, train_dir / "train.parquet", role=tables.TRAINING_SPLIT)
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = with_channel(channel_arguments(trained, model_dir, data_dir), "--train-dir", train_dir)
    expect_failure(train.main, arguments, f"{train_dir}: column {LABEL} {problem}", outputs=(model_dir, data_dir))


def test_splits_from_another_transformer(trained, tmp_path, copy_tree, expect_failure):
    test_dir = copy_tree(trained.test_dir, "test")
    split = tables.read_table(test_dir, "test")
    dropped = split.columns[3]
    tables.write_parquet(split.drop(columns=[dropped]), test_dir / "test.parquet", role=tables.TEST_SPLIT)
    model_dir, data_dir = tmp_path / "model", tmp_path / "data"
    arguments = with_channel(channel_arguments(trained, model_dir, data_dir), "--test-dir", test_dir)
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
    arguments = with_channel(channel_arguments(trained, model_dir, tmp_path / "data"), "--transformer-dir", tmp_path)
    assert train.main(arguments) == 1
    assert {path.name: path.read_bytes() for path in model_dir.iterdir()} == before
