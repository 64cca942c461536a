"""The local runner: the spec's steps with the spec's arguments, on a local mirror of the S3 layout."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import (
    local_data,
    local_gate,
    local_plan,
    local_runner,
    local_spark,
    local_steps,
    quality_gate,
    schema,
)
from {{ cookiecutter.package_name }}.config import DEFAULT_CONFIG_DIR, load_config
from {{ cookiecutter.package_name }}.local_plan import (
    LocalRun,
    LocalRunError,
    render_arguments,
    resolve_parameters,
)
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

PROJECT_DIR = Path(__file__).resolve().parents[1]
PACKAGE = local_plan.PACKAGE_NAME
DATE = "2024-06-01"
PREDICT_DATE = "2024-06-02"
EXECUTION_ID = "local-20240601T120000Z-0a1b2c3d"
STARTED_AT = datetime.datetime(2024, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
TRAIN_ROWS = 600
PREDICT_ROWS = 300


@pytest.fixture(scope="module")
def config():
    return load_config("develop")


def make_run(config, work_dir: Path, use_type: str = "train", **given) -> LocalRun:
    parameters = resolve_parameters(config, work_dir, {"UseType": use_type, "ExecutionDate": DATE, **given})
    return LocalRun(config, work_dir, parameters, started_at=STARTED_AT, execution_id=EXECUTION_ID)


def mirror_root(config, work_dir: Path) -> Path:
    return work_dir / "s3" / config.storage.bucket / config.storage.prefix


# --------------------------------------------------------------------------- parameters


def test_parameter_defaults_come_from_the_config_and_storage_from_the_mirror(config, tmp_path):
    run = make_run(config, tmp_path)
    root = mirror_root(config, tmp_path)

    assert run.parameters == {
        "UseType": "train",
        "ExecutionDate": DATE,
        "InputDataUri": f"{root}/raw",
        "OutputDataUri": str(root),
        "ProcessingInstanceCount": config.etl.instance_count,
        "NEstimators": config.training.n_estimators,
        "MaxDepth": config.training.max_depth,
    }


def test_given_parameters_win_and_s3_uris_land_in_the_mirror(config, tmp_path):
    run = make_run(config, tmp_path, NEstimators=7, InputDataUri="s3://landing-zone/exports")

    assert run.parameters["NEstimators"] == 7
    assert run.parameters["InputDataUri"] == str(tmp_path / "s3" / "landing-zone" / "exports")


def test_a_value_outside_the_allowed_ones_is_refused(config, tmp_path):
    with pytest.raises(LocalRunError, match=r"parameter UseType: 'score' is not one of train, predict"):
        make_run(config, tmp_path, use_type="score")


def test_a_parameter_given_empty_is_refused(config, tmp_path):
    with pytest.raises(LocalRunError, match="InputDataUri has no value: give --input-data-uri"):
        make_run(config, tmp_path, InputDataUri="")


def test_an_empty_date_means_the_day_the_run_started_in_utc(config, tmp_path):
    # Late on 1 June in UTC is already 2 June east of it: the day is UTC's, as on SageMaker.
    started_at = datetime.datetime(2024, 6, 1, 23, 30, tzinfo=datetime.UTC)
    given = vars(local_runner.parse_arguments(["--use-type", "predict"]))  # no --execution-date
    run = LocalRun(config, tmp_path, resolve_parameters(config, tmp_path, given), started_at=started_at)
    root = mirror_root(config, tmp_path)

    assert run.parameters["ExecutionDate"] == ""
    etl = render_arguments(run, PIPELINE.step("ETL"))
    assert etl[etl.index("--execution-date") + 1] == ""
    assert etl[etl.index("--execution-start") + 1] == "2024-06-01T23:30:00+00:00"
    predict = render_arguments(run, PIPELINE.step("Predict"))
    assert predict[predict.index("--execution-date") + 1] == "2024-06-01"
    assert predict[predict.index("--predictions-dir") + 1] == f"{root}/predictions/2024-06-01"


@pytest.mark.parametrize(
    ("parameter", "option"),
    [
        ("UseType", "use-type"),
        ("ExecutionDate", "execution-date"),
        ("InputDataUri", "input-data-uri"),
        ("ProcessingInstanceCount", "processing-instance-count"),
        ("NEstimators", "n-estimators"),
        ("MaxDepth", "max-depth"),
    ],
)
def test_every_pipeline_parameter_is_a_command_line_option(parameter, option):
    assert local_plan.option_name(parameter) == option


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--execution-date", "yesterday"], "not a date in the form YYYY-MM-DD"),
        (["--execution-date", "2024-02-30"], "day is out of range for month"),
        (["--execution-date", "01/06/2024"], "not a date in the form YYYY-MM-DD"),
        (["--execution-date", DATE, "--use-type", "score"], "invalid choice: 'score'"),
        (["--execution-date", DATE, "--n-estimators", "0"], "'0' is not a positive whole number"),
    ],
)
def test_bad_command_lines_name_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        local_runner.parse_arguments(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_marks_the_parameters_only_sagemaker_uses(capsys):
    with pytest.raises(SystemExit):
        local_runner.parse_arguments(["--help"])
    lines = " ".join(capsys.readouterr().out.split())
    assert "(pipeline parameter ProcessingInstanceCount; only SageMaker uses it)" in lines
    assert "(pipeline parameter NEstimators)" in lines


def test_command_line_options_fill_the_parameters():
    arguments = local_runner.parse_arguments(
        ["--use-type", "predict", "--execution-date", DATE, "--n-estimators", "50", "--max-depth", "4"]
    )
    assert (arguments.UseType, arguments.ExecutionDate, arguments.NEstimators, arguments.MaxDepth) == (
        "predict",
        DATE,
        50,
        4,
    )
    assert (arguments.environment, arguments.rows, arguments.work_dir) == ("develop", 2000, Path("build/local"))


# --------------------------------------------------------------------------- arguments


def expected_arguments(config, work_dir: Path) -> dict[str, list[str]]:
    """Every step's options as the spec defines them, with the local paths written out by hand."""
    root = mirror_root(config, work_dir)
    train_sets = f"{root}/preprocess/train/{DATE}/{EXECUTION_ID}"
    model = f"{root}/models/{DATE}/{EXECUTION_ID}/Train/output"
    evaluation = f"{root}/evaluation/{DATE}/{EXECUTION_ID}"
    return {
        "ETL": [
            "--input-uri", f"{root}/raw/train",
            "--output-uri", f"{root}/features/train",
            "--execution-date", DATE,
            "--use-type", "train",
            "--execution-start", STARTED_AT.isoformat(),
            "--run-dir", f"{root}/runs/{EXECUTION_ID}",
        ],
        "PreprocessTrain": [
            "--use-type", "train",
            "--features-dir", f"{root}/features/train/execution_date={DATE}",
            "--train-dir", f"{train_sets}/train",
            "--test-dir", f"{train_sets}/test",
            "--transformer-dir", f"{train_sets}/transformer",
            "--test-size", str(config.preprocess.test_size),
            "--random-state", str(config.preprocess.random_state),
        ],
        "Train": [],
        "Evaluate": [
            "--model-dir", model,
            "--test-dir", f"{train_sets}/test",
            "--evaluation-dir", evaluation,
            "--decision-threshold", str(config.evaluation.decision_threshold),
            "--gate-metric", config.evaluation.metric,
            "--gate-threshold", str(config.evaluation.threshold),
        ],
        "Publish": [
            "--model-dir", model,
            "--evaluation-dir", evaluation,
            "--output-dir", f"{root}/models/latest",
            "--execution-date", DATE,
        ],
        "PreprocessPredict": [
            "--use-type", "predict",
            "--features-dir", f"{root}/features/predict/execution_date={DATE}",
            "--model-dir", f"{root}/models/latest",
            "--predict-dir", f"{root}/preprocess/predict/{DATE}",
        ],
        "Predict": [
            "--features-dir", f"{root}/preprocess/predict/{DATE}",
            "--model-dir", f"{root}/models/latest",
            "--predictions-dir", f"{root}/predictions/{DATE}",
            "--execution-date", DATE,
        ],
    }  # fmt: skip


def test_two_train_runs_of_one_date_keep_their_data_model_and_evaluation_apart(config, tmp_path):
    parameters = resolve_parameters(config, tmp_path, {"UseType": "train", "ExecutionDate": DATE})
    first, second = LocalRun(config, tmp_path, parameters), LocalRun(config, tmp_path, parameters)
    assert first.execution_id != second.execution_id

    def location(run: LocalRun, step: str, channel: str) -> Path:
        return local_plan.output_location(run, PIPELINE.step(step), channel)

    for step, channel in [("PreprocessTrain", "train"), ("Train", "model"), ("Evaluate", "evaluation")]:
        assert location(first, step, channel) != location(second, step, channel)
        assert first.execution_id in location(first, step, channel).parts
    # What predict runs read, and what they write, stays keyed by the date alone.
    assert location(first, "Publish", "latest") == location(second, "Publish", "latest")
    assert location(first, "Predict", "predictions") == location(second, "Predict", "predictions")


def test_execution_ids_sort_by_start_time():
    earlier = local_plan.new_execution_id(datetime.datetime(2024, 6, 1, 23, 59, 59, tzinfo=datetime.UTC))
    later = local_plan.new_execution_id(datetime.datetime(2024, 6, 2, 0, 0, 0, tzinfo=datetime.UTC))
    assert re.fullmatch(r"local-20240601T235959Z-[0-9a-f]{8}", earlier)
    assert earlier < later


@pytest.mark.parametrize("step", PIPELINE.steps, ids=lambda step: step.name)
def test_each_step_gets_the_spec_options_with_local_paths(config, tmp_path, step):
    run = make_run(config, tmp_path, use_type="predict" if step.branch == "predict" else "train")
    arguments = render_arguments(run, step)

    assert arguments == expected_arguments(config, tmp_path)[step.name]
    assert arguments[::2] == list(step.arguments)  # the spec's options, in the spec's order


def test_the_etl_of_a_predict_run_reads_and_writes_the_predict_locations(config, tmp_path):
    run = make_run(config, tmp_path, use_type="predict")
    root = mirror_root(config, tmp_path)

    assert render_arguments(run, PIPELINE.step("ETL")) == [
        "--input-uri",
        f"{root}/raw/predict",
        "--output-uri",
        f"{root}/features/predict",
        "--execution-date",
        DATE,
        "--use-type",
        "predict",
        "--execution-start",
        STARTED_AT.isoformat(),
        "--run-dir",
        f"{root}/runs/{EXECUTION_ID}",
    ]


def test_training_gets_the_training_toolkit_contract(config, tmp_path):
    run = make_run(config, tmp_path, NEstimators=25)
    train = PIPELINE.step("Train")
    sets = mirror_root(config, tmp_path) / "preprocess" / "train" / DATE / EXECUTION_ID

    assert local_plan.render_hyperparameters(run, train) == [
        "--n-estimators",
        "25",
        "--max-depth",
        str(config.training.max_depth),
        "--random-state",
        str(config.training.random_state),
    ]
    environment = local_steps.training_environment(run, train, tmp_path / "model", tmp_path / "output")
    assert environment["SM_CHANNEL_TRAIN"] == str(sets / "train")
    assert environment["SM_CHANNEL_TEST"] == str(sets / "test")
    assert environment["SM_CHANNEL_TRANSFORMER"] == str(sets / "transformer")
    assert environment["SM_MODEL_DIR"] == str(tmp_path / "model")
    assert environment["SM_OUTPUT_DATA_DIR"] == str(tmp_path / "output")
    assert json.loads(environment["SM_HPS"])["n-estimators"] == 25


def test_spark_gets_the_package_zip_and_the_configured_spark_defaults(config, tmp_path):
    options = local_spark.spark_options(make_run(config, tmp_path), tmp_path / "pkg.zip")

    assert options[:4] == ["--master", "local[*]", "--py-files", str(tmp_path / "pkg.zip")]
    settings = [options[index + 1] for index, option in enumerate(options) if option == "--conf"]
    assert "spark.ui.enabled=false" in settings
    for key, value in config.etl.spark_configuration["spark-defaults"].items():
        assert f"{key}={value}" in settings


def test_model_directory_is_tarred_with_its_files_at_the_root(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"model")
    (tmp_path / "model" / "metadata.json").write_text("{}", encoding="utf-8")

    local_steps.tar_directory(tmp_path / "model", tmp_path / "out" / "model.tar.gz")

    with tarfile.open(tmp_path / "out" / "model.tar.gz") as archive:
        assert sorted(archive.getnames()) == ["metadata.json", "model.joblib"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["model.tar.gz"]


# --------------------------------------------------------------------------- running one step


def test_training_runs_the_script_with_the_contract_and_tars_its_model(config, tmp_path, monkeypatch):
    # A stand-in train.py that records what it was given into SM_MODEL_DIR.
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "train.py").write_text(
        "import json, os, sys\n"
        "seen = {'argv': sys.argv[1:], 'env': {k: v for k, v in os.environ.items() if k.startswith('SM_')}}\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'seen.json'), 'w').write(json.dumps(seen))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(local_steps, "CODE_DIR", code_dir)
    run = make_run(config, tmp_path / "work")

    local_steps.run_training_step(run, PIPELINE.step("Train"))

    model = mirror_root(config, tmp_path / "work") / "models" / DATE / EXECUTION_ID / "Train/output/model.tar.gz"
    with tarfile.open(model) as archive:
        assert archive.getnames() == ["seen.json"]
        seen = json.load(archive.extractfile("seen.json"))
    assert seen["argv"] == local_plan.render_hyperparameters(run, PIPELINE.step("Train"))
    assert seen["env"]["SM_CHANNEL_TRAIN"] == str(
        mirror_root(config, tmp_path / "work") / "preprocess/train" / DATE / EXECUTION_ID / "train"
    )
    assert not Path(seen["env"]["SM_MODEL_DIR"]).exists()  # the job's scratch space is gone


def test_a_failing_step_is_named_with_the_command_that_reruns_it(config, tmp_path, monkeypatch):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "evaluate.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    monkeypatch.setattr(local_steps, "CODE_DIR", code_dir)

    with pytest.raises(LocalRunError) as error:
        local_steps.run_processing_step(make_run(config, tmp_path), PIPELINE.step("Evaluate"))

    message = str(error.value)
    assert message.startswith("step Evaluate failed (exit code 3); the command was:")
    assert f"PYTHONPATH={local_plan.SRC_DIR}" in message
    assert f"{code_dir / 'evaluate.py'} --model-dir " in message


def test_a_training_script_that_writes_no_model_fails_its_step(config, tmp_path, monkeypatch):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "train.py").write_text("print('forgot to save the model')\n", encoding="utf-8")
    monkeypatch.setattr(local_steps, "CODE_DIR", code_dir)

    with pytest.raises(LocalRunError, match="step Train: the training script wrote nothing to SM_MODEL_DIR"):
        local_steps.run_training_step(make_run(config, tmp_path), PIPELINE.step("Train"))
    assert not (mirror_root(config, tmp_path) / "models").exists()


# --------------------------------------------------------------------------- plan, inputs, quality gate


def test_train_runs_common_then_train_steps_and_promotes_after_the_gate(config, tmp_path):
    plan = local_plan.plan_run(make_run(config, tmp_path))
    assert [step.name for step in plan.before_gate] == ["ETL", "PreprocessTrain", "Train", "Evaluate"]
    assert [step.name for step in plan.after_gate] == ["Publish"]

    plan = local_plan.plan_run(make_run(config, tmp_path, use_type="predict"))
    assert [step.name for step in plan.steps] == ["ETL", "PreprocessPredict", "Predict"]


def test_a_predict_run_without_a_published_model_stops_before_it_starts(config, tmp_path):
    run = make_run(config, tmp_path, use_type="predict")
    latest = mirror_root(config, tmp_path) / "models" / "latest"

    with pytest.raises(LocalRunError, match=r"needs 'model' at .*models/latest.*step Publish writes it"):
        local_plan.check_earlier_outputs(run, local_plan.plan_run(run).steps)

    latest.mkdir(parents=True)
    (latest / "model.tar.gz").write_bytes(b"model")
    local_plan.check_earlier_outputs(run, local_plan.plan_run(run).steps)


def test_a_step_whose_input_is_missing_names_it_and_its_producer(config, tmp_path):
    run = make_run(config, tmp_path)
    with pytest.raises(LocalRunError, match=r"step Evaluate: input 'model' not found at .*Train/output.*step Train"):
        local_steps.check_inputs(run, PIPELINE.step("Evaluate"))


def write_evaluation(config, work_dir: Path, metrics: dict) -> Path:
    path = mirror_root(config, work_dir) / "evaluation" / DATE / EXECUTION_ID / "evaluation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metrics": metrics}), encoding="utf-8")
    return path


def test_the_gate_reads_the_configured_metric_from_the_property_file(config, tmp_path):
    run = make_run(config, tmp_path)
    metric, threshold = config.evaluation.metric, config.evaluation.threshold
    assert config.evaluation.direction == "at_least"  # the default gate of every task is a score

    write_evaluation(config, tmp_path, {metric: threshold})
    local_gate.check_quality_gate(run)  # equal to the threshold passes, as in the ConditionStep

    write_evaluation(config, tmp_path, {metric: threshold - 0.01})
    message = rf"ModelBelowThreshold: Quality gate failed: {metric} = .* is below the threshold {threshold}"
    with pytest.raises(LocalRunError, match=message):
        local_gate.check_quality_gate(run)


def test_an_error_metric_must_stay_at_or_under_its_threshold(tmp_path):
    task = schema.contract().task
    error = next(name for name, way in quality_gate.GATE_METRICS[task].items() if way == "at_most")
    config_dir = shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    base = yaml.safe_load((config_dir / "base.yaml").read_text(encoding="utf-8"))
    base["evaluation"][task] = {"metric": error, "threshold": 0.5}
    (config_dir / "base.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    config = load_config("develop", config_dir)
    run = make_run(config, tmp_path)

    write_evaluation(config, tmp_path, {error: 0.5})
    assert local_gate.evaluate_quality_gate(run).passed
    write_evaluation(config, tmp_path, {error: 0.2})
    local_gate.check_quality_gate(run)

    write_evaluation(config, tmp_path, {error: 0.51})
    message = rf"ModelBelowThreshold: Quality gate failed: {error} = 0.51 is above the threshold 0.5"
    with pytest.raises(LocalRunError, match=message):
        local_gate.check_quality_gate(run)


def test_the_gate_names_a_missing_metric(config, tmp_path):
    path = write_evaluation(config, tmp_path, {"something_else": 1.0})
    with pytest.raises(LocalRunError, match=rf"{path} has no number at metrics.{config.evaluation.metric}"):
        local_gate.evaluate_quality_gate(make_run(config, tmp_path))


# --------------------------------------------------------------------------- your own raw data


def two_sources() -> data_contract.Contract:
    columns = [{"name": "row_id", "type": "string"}, {"name": "key", "type": "string"}, {"name": "y", "type": "double"}]
    return data_contract.parse(
        {
            "task": "regression",
            "id": "row_id",
            "label": {"column": "y"},
            "sources": [
                {"name": "facts", "columns": columns},
                {"name": "extras", "join": {"key": "key"}, "columns": [{"name": "key", "type": "string"}]},
            ],
        },
        "test contract",
    )


def one_source(file_format: str = "csv") -> data_contract.Contract:
    contract = two_sources()
    return dataclasses.replace(contract, sources=(dataclasses.replace(contract.main, format=file_format),))


def write(path: Path, text: str = "row_id,key,y\nr1,k1,1.5\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_of_a_one_source_contract_is_copied_into_the_raw_layout(tmp_path):
    given = write(tmp_path / "my data" / "export.csv")
    raw = tmp_path / "work" / "raw" / "train"
    write(raw / "facts" / "part-00000.csv", "old,data\n")

    assert local_data.stage_raw_data(given, raw, one_source()) == raw

    assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()) == ["facts/export.csv"]
    assert (raw / "facts" / "export.csv").read_bytes() == given.read_bytes()
    assert given.read_text(encoding="utf-8") == "row_id,key,y\nr1,k1,1.5\n"  # the user's file is untouched


def test_a_directory_gives_each_source_its_data_files(tmp_path):
    given = tmp_path / "exports"
    write(given / "facts" / "a.csv")
    write(given / "facts" / "b.csv")
    write(given / "facts" / "_SUCCESS", "")
    write(given / "extras" / "extras.csv", "key\nk1\n")
    raw = tmp_path / "raw" / "predict"

    local_data.stage_raw_data(given, raw, two_sources())

    assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()) == [
        "extras/extras.csv",
        "facts/a.csv",
        "facts/b.csv",
    ]


def test_the_raw_location_itself_is_used_as_it_is(tmp_path):
    raw = tmp_path / "raw" / "train"
    write(raw / "facts" / "part-00000.csv")
    assert local_data.stage_raw_data(raw, raw, one_source()) == raw
    assert (raw / "facts" / "part-00000.csv").is_file()


@pytest.mark.parametrize(
    ("layout", "contract", "message"),
    [
        ({}, one_source(), "given: no such file or directory"),
        ({"given": ""}, two_sources(), "a file, but the data contract has 2 sources (facts, extras); give a directory"),
        ({"given": ""}, one_source("parquet"), "source facts is declared as parquet in the data contract"),
        ({"given/facts/a.csv": ""}, two_sources(), "no folder extras/ for source extras"),
        ({"given/facts/a.txt": "", "given/extras/e.csv": ""}, two_sources(), "no .csv files for source facts"),
    ],
)
def test_raw_data_that_does_not_fit_the_contract_is_one_clear_error(tmp_path, layout, contract, message):
    for relative, text in layout.items():
        write(tmp_path / relative, text)
    given = tmp_path / "given"
    raw = tmp_path / "raw" / "train"

    with pytest.raises(LocalRunError) as error:
        local_data.stage_raw_data(given, raw, contract)
    assert message in str(error.value)
    assert str(error.value).startswith(f"--raw {given}")
    assert not raw.exists()


def test_help_tells_the_minimum_rows_of_raw_data(capsys):
    with pytest.raises(SystemExit):
        local_runner.parse_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"at least {data_contract.MIN_ROWS} rows, and {data_contract.MIN_ROWS_PER_CLASS} of each class" in text


def test_a_run_on_missing_raw_data_stops_before_any_step(tmp_path, capsys):
    code = local_runner.main(
        ["--use-type", "train", "--execution-date", DATE, "--work-dir", str(tmp_path), "--raw", str(tmp_path / "no")]
    )
    assert code == 1
    assert f"error: --raw {tmp_path / 'no'}: no such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "s3").exists()


# --------------------------------------------------------------------------- whole runs (Spark)


def run_locally(work_dir: Path, use_type: str, date: str, rows: int, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        f"{PACKAGE}.local_runner",
        "--use-type",
        use_type,
        "--environment",
        "develop",
        "--execution-date",
        date,
        "--rows",
        str(rows),
        "--work-dir",
        str(work_dir),
        *extra,
    ]
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")}
    return subprocess.run(command, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, check=False)


def show(completed: subprocess.CompletedProcess) -> str:
    return f"exit code {completed.returncode}\n--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory, config):
    """One train run, then one predict run, in the same work directory."""
    work_dir = tmp_path_factory.mktemp("local-run")
    train = run_locally(work_dir, "train", DATE, TRAIN_ROWS)
    predict = run_locally(work_dir, "predict", PREDICT_DATE, PREDICT_ROWS)
    return {"root": mirror_root(config, work_dir), "train": train, "predict": predict}


def execution_id_of(run: subprocess.CompletedProcess) -> str:
    """The run id the local runner announces in its first line."""
    match = re.search(r"^Local \w+ run (local-\S+) of ", run.stdout, re.MULTILINE)
    assert match, show(run)
    return match.group(1)


@pytest.mark.spark
def test_train_run_writes_model_evaluation_and_published_model(local_runs, config):
    root, train = local_runs["root"], local_runs["train"]
    assert train.returncode == 0, show(train)
    run_id = execution_id_of(train)

    with tarfile.open(root / "models" / DATE / run_id / "Train" / "output" / "model.tar.gz") as archive:
        assert "model.joblib" in archive.getnames()
    evaluation = json.loads((root / "evaluation" / DATE / run_id / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["metrics"][config.evaluation.metric] >= config.evaluation.threshold
    assert sorted(path.name for path in (root / "models" / "latest").iterdir()) == [
        "evaluation.json",
        "manifest.json",
        "model.tar.gz",
    ]
    assert (root / "raw" / "train" / schema.contract().main.name).is_dir()
    assert (root / "features" / "train" / f"execution_date={DATE}").is_dir()
    # The ETL's RunDate property file: on SageMaker, the later steps read their date from it.
    assert json.loads((root / "runs" / run_id / "run.json").read_text(encoding="utf-8")) == {"execution_date": DATE}


@pytest.mark.spark
def test_train_run_reports_each_step_its_timing_and_where_the_results_are(local_runs):
    output = local_runs["train"].stdout
    run_id = execution_id_of(local_runs["train"])
    for number, name in enumerate(["ETL", "PreprocessTrain", "Train", "Evaluate", "Publish"], start=1):
        assert f"[{number}/5] {name} done in " in output
    assert "QualityGate: " in output
    assert f"models/{DATE}/{run_id}/Train/output/model.tar.gz" in output
    assert f"evaluation/{DATE}/{run_id}/evaluation.json" in output


@pytest.mark.spark
def test_predict_run_scores_every_new_booking_with_the_published_model(local_runs):
    root, predict = local_runs["root"], local_runs["predict"]
    assert predict.returncode == 0, show(predict)

    predictions = pd.read_parquet(root / "predictions" / PREDICT_DATE)
    assert len(predictions) == PREDICT_ROWS
    assert (predictions["execution_date"].astype(str) == PREDICT_DATE).all()
    assert f"predictions/{PREDICT_DATE}" in predict.stdout
    assert "Read from earlier runs: " in predict.stdout
    assert "[3/3] Predict done in " in predict.stdout


@pytest.mark.spark
def test_a_model_below_the_threshold_is_not_published_and_predict_refuses(tmp_path):
    config_dir = shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    base = yaml.safe_load((config_dir / "base.yaml").read_text(encoding="utf-8"))
    task = schema.contract().task
    metric = base["evaluation"][task]["metric"]
    base["evaluation"][task]["threshold"] = 0.99
    (config_dir / "base.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    work_dir = tmp_path / "work"

    train = run_locally(work_dir, "train", DATE, TRAIN_ROWS, "--config-dir", str(config_dir))

    assert train.returncode == 1, show(train)
    assert f"ModelBelowThreshold: Quality gate failed: {metric} = " in train.stderr
    assert "is below the threshold 0.99 (evaluation.threshold); the model was not published." in train.stderr
    assert "] Publish (" not in train.stdout
    root = mirror_root(load_config("develop", config_dir), work_dir)
    assert (root / "evaluation" / DATE / execution_id_of(train) / "evaluation.json").is_file()
    assert not (root / "models" / "latest").exists()

    predict = run_locally(work_dir, "predict", PREDICT_DATE, PREDICT_ROWS, "--config-dir", str(config_dir))

    assert predict.returncode == 1, show(predict)
    assert "models/latest" in predict.stderr
    assert not (root / "predictions").exists()
