"""Fixtures shared by the tests: sample data, one local Spark session, and a published model.

Expensive things are made once per test session: the Spark session (start-up takes
seconds), and one run of preprocess -> train -> evaluate -> publish on sample data that
the evaluate, publish, predict and inference tests start from. Tests that change files
copy them first.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import files, model_bundle, sample_data, schema, tables

ROWS = 400
SEED = 7
EXECUTION_DATE = "2024-06-01"
N_ESTIMATORS = 40


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def spark() -> Iterator:
    """A quiet two-core Spark bound to the loopback interface, shared by every Spark test."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        # Test data is small: a few shuffle partitions are plenty, and the JVM's quick
        # compiler alone runs these short jobs with about 40% less CPU.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# --------------------------------------------------------------------------- AWS


@pytest.fixture
def config_with(tmp_path) -> Callable:
    """``config_with(environment, key=value, ...)``: the shipped configuration of one environment
    with these top-level keys of its file replaced, loaded from a copy under tmp_path."""
    import yaml

    from {{ cookiecutter.package_name }} import config

    directory = tmp_path / "config"
    shutil.copytree(config.DEFAULT_CONFIG_DIR, directory)

    def load(environment: str = "develop", **settings):
        path = directory / f"{environment}.yaml"
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump({**content, **settings}), encoding="utf-8")
        return config.load_config(environment, directory)

    return load


@pytest.fixture
def offline(monkeypatch, tmp_path) -> None:
    """No route to real AWS: no AWS variables of this shell, no config files, no instance metadata.

    Tests that call AWS start moto (``mock_aws()``) on top of this; its fake credentials
    then exist only inside the mock.
    """
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def web_identity(monkeypatch, tmp_path) -> None:
    """Credentials as CI gets them: a job token that STS exchanges for a role, no static keys.

    Only for tests that point boto3 at a moto server (``AWS_ENDPOINT_URL``): moto's STS
    accepts any token. The role is in the develop environment's account and partition, as
    CI's deploy role is.
    """
    from {{ cookiecutter.package_name }}.config import load_config

    # arn:<partition>:iam::<account>:role/<name>
    arn_fields = load_config("develop").role_arn.split(":")
    partition, account = arn_fields[1], arn_fields[4]
    token = tmp_path / "web-identity-token"
    token.write_text("a-ci-job-token", encoding="utf-8")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", f"arn:{partition}:iam::{account}:role/tests-deploy")


# --------------------------------------------------------------------------- sample data


@pytest.fixture(scope="session")
def train_sample() -> sample_data.SampleData:
    return sample_data.generate("train", ROWS, SEED)


@pytest.fixture(scope="session")
def predict_sample() -> sample_data.SampleData:
    return sample_data.generate("predict", ROWS // 2, SEED)


@pytest.fixture(scope="session")
def write_features() -> Callable[[pd.DataFrame, Path, schema.UseType], Path]:
    """Write a feature table as etl.py does (Parquet, Spark's column types) into a directory."""

    def write(frame: pd.DataFrame, directory: Path, use_type: schema.UseType = "train") -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        columns = schema.feature_table_columns(use_type)
        tables.write_parquet(frame, directory / "part-00000.parquet", tables.arrow_schema(columns))
        return directory

    return write


@pytest.fixture(scope="session")
def train_features_dir(tmp_path_factory, train_sample, write_features) -> Path:
    return write_features(train_sample.features, tmp_path_factory.mktemp("features") / "train", "train")


@pytest.fixture(scope="session")
def predict_features_dir(tmp_path_factory, predict_sample, write_features) -> Path:
    return write_features(predict_sample.features, tmp_path_factory.mktemp("features") / "predict", "predict")


# --------------------------------------------------------------------------- a trained model


@dataclass(frozen=True)
class TrainRun:
    """Where one preprocess -> train -> evaluate -> publish run on sample data left its outputs."""

    train_dir: Path
    test_dir: Path
    transformer_dir: Path
    model_dir: Path  # the training job's output: model.tar.gz
    extracted_dir: Path  # the same bundle, unpacked (as SageMaker's serving container sees it)
    evaluation_dir: Path
    latest_dir: Path  # the published model


@pytest.fixture(scope="session")
def trained(tmp_path_factory, train_features_dir) -> TrainRun:
    import evaluate
    import preprocess
    import publish
    import train

    root = tmp_path_factory.mktemp("train-run")
    run = TrainRun(
        train_dir=root / "preprocess" / "train",
        test_dir=root / "preprocess" / "test",
        transformer_dir=root / "preprocess" / "transformer",
        model_dir=root / "models" / EXECUTION_DATE / "Train" / "output",
        extracted_dir=root / "sm-model-dir",
        evaluation_dir=root / "evaluation",
        latest_dir=root / "models" / "latest",
    )
    preprocess.preprocess_train(
        train_features_dir, run.train_dir, run.test_dir, run.transformer_dir, test_size=0.25, random_state=42
    )
    train.train(
        run.train_dir,
        run.test_dir,
        run.transformer_dir,
        run.extracted_dir,
        root / "output-data",
        {"n_estimators": N_ESTIMATORS, "max_depth": 8, "random_state": 42},
    )
    # SageMaker tars the training job's model directory into model.tar.gz.
    run.model_dir.mkdir(parents=True)
    model_bundle.pack(run.extracted_dir, run.model_dir / model_bundle.ARCHIVE)
    evaluate.evaluate(run.model_dir, run.test_dir, run.evaluation_dir)  # the task's default gate
    publish.publish(run.model_dir, run.evaluation_dir, run.latest_dir, EXECUTION_DATE)
    return run


@pytest.fixture
def republish(tmp_path) -> Callable[[TrainRun, Callable[[dict], None]], Path]:
    """A copy of the published model whose metadata.json ``edit`` changed, repacked and with
    a matching manifest: as far as any check can tell, a model written by other code."""

    def make(run: TrainRun, edit: Callable[[dict], None]) -> Path:
        bundle = Path(shutil.copytree(run.extracted_dir, tmp_path / "edited-bundle"))
        metadata = json.loads((bundle / model_bundle.METADATA_FILE).read_text())
        edit(metadata)
        files.write_json(bundle / model_bundle.METADATA_FILE, metadata)
        latest = Path(shutil.copytree(run.latest_dir, tmp_path / "edited-latest"))
        checksum = files.sha256(model_bundle.pack(bundle, latest / model_bundle.ARCHIVE))
        manifest = json.loads((latest / model_bundle.MANIFEST_FILE).read_text())
        manifest.update(model_sha256=checksum, model_version=f"{EXECUTION_DATE}-{checksum[:8]}")
        files.write_json(latest / model_bundle.MANIFEST_FILE, manifest)
        return latest

    return make


@pytest.fixture(scope="session")
def prepared_predict_dir(tmp_path_factory, trained, predict_features_dir) -> Path:
    """PreprocessPredict's output for the predict sample, made with the published model."""
    import preprocess

    predict_dir = tmp_path_factory.mktemp("preprocess") / "predict"
    preprocess.preprocess_predict(predict_features_dir, model_bundle.load_published(trained.latest_dir), predict_dir)
    return predict_dir


@pytest.fixture
def corrupt_model_dir(trained, tmp_path) -> Path:
    """A readable model.tar.gz whose model.joblib is no pickle (unpickling it raises KeyError)."""
    with tarfile.open(trained.model_dir / model_bundle.ARCHIVE) as original:
        members = {member.name: original.extractfile(member).read() for member in original.getmembers()}
    members[model_bundle.MODEL_FILE] = b"not a pickle"
    directory = tmp_path / "corrupt-model"
    directory.mkdir()
    with tarfile.open(directory / model_bundle.ARCHIVE, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return directory


# --------------------------------------------------------------------------- assertions


@pytest.fixture
def expect_failure(capsys) -> Callable[..., str]:
    """Run a step's ``main(argv)`` and check how it fails.

    It must return non-zero after printing exactly one ``ERROR:`` line that contains every
    one of ``fragments``, and none of ``outputs`` may exist afterwards: neither the output
    itself nor a staging directory beside it. Returns the error line.
    """

    def check(
        main: Callable[[list[str]], int], argv: list[str], *fragments: str, outputs: tuple[Path, ...] = ()
    ) -> str:
        code = main(argv)
        stderr = capsys.readouterr().err
        errors = [line for line in stderr.splitlines() if line.startswith("ERROR: ")]
        assert code != 0, f"expected a failure, got exit code {code}"
        assert len(errors) == 1, f"expected one ERROR line, got:\n{stderr}"
        for fragment in fragments:
            assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
        for output in outputs:
            assert_no_output(output)
        return errors[0]

    return check


def assert_no_output(path: Path) -> None:
    assert not path.exists(), f"{path} exists after a failed step"
    if path.parent.exists():
        leftovers = [entry.name for entry in path.parent.iterdir() if entry.name.startswith(f".{path.name}.")]
        assert not leftovers, f"staging directories left beside {path}: {leftovers}"


@pytest.fixture
def copy_tree(tmp_path) -> Callable[[Path, str], Path]:
    """Copy a directory from a session fixture into this test's tmp_path, to change it safely."""

    def copy(source: Path, name: str) -> Path:
        return Path(shutil.copytree(source, tmp_path / name))

    return copy
