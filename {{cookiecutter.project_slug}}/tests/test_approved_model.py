"""The predict branch on the newest Approved model of the Model Registry, against moto's AWS in this process.

The versions are registered as the pipeline's RegisterModel step registers them: the
training job's model.tar.gz (made by the shared train run of conftest.py) as model data,
its evaluation.json as model-quality statistics. preprocess.py and predict.py then run with
``--model-package-group`` as SageMaker runs them when ``registry.enabled`` is on.

Credentials exist only inside ``mock_aws()``, which sets moto's fake ones itself.
"""

from __future__ import annotations

import json
import uuid
from hashlib import sha256
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from {{ cookiecutter.package_name }} import approved_model, local_plan, model_bundle, schema, tables
from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

import predict
import preprocess

CONFIG = load_config("develop")
GROUP = CONFIG.registry.model_package_group
BUCKET = CONFIG.storage.bucket
PREFIX = CONFIG.storage.prefix
DATE = "2024-06-03"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
IMAGE = f"141502667606.dkr.ecr.{CONFIG.region}.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"


# --------------------------------------------------------------------------- AWS in this process


@pytest.fixture
def aws(offline):
    """moto's AWS with the environment's bucket and an empty model package group."""
    with mock_aws():
        session = boto3.Session(region_name=CONFIG.region)
        location = {"LocationConstraint": CONFIG.region}
        session.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration=location)
        session.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
        yield session


class Registry:
    """Adds versions to the group as RegisterModel does, from the shared train run's files."""

    def __init__(self, session: boto3.Session, trained):
        self.sagemaker = session.client("sagemaker")
        self.s3 = session.client("s3")
        self.archive = (trained.model_dir / model_bundle.ARCHIVE).read_bytes()
        self.evaluation = json.loads((trained.evaluation_dir / model_bundle.EVALUATION_FILE).read_text())

    def upload(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=body)
        return f"s3://{BUCKET}/{PREFIX}/{key}"

    def register(self, status: str, evaluation: dict | None = None, model_uri: str | None = None) -> str:
        """A new version (its training job's archive and evaluation); returns its ARN."""
        job = f"Train-{uuid.uuid4().hex[:8]}"
        model_uri = model_uri or self.upload(f"models/2024-06-01/{job}/output/model.tar.gz", self.archive)
        evaluation_body = json.dumps(self.evaluation if evaluation is None else evaluation).encode()
        evaluation_uri = self.upload(f"evaluation/2024-06-01/{job}/evaluation.json", evaluation_body)
        return self.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": model_uri}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation_uri}}},
        )["ModelPackageArn"]

    def approve(self, arn: str) -> None:
        self.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=APPROVED)


@pytest.fixture
def registry(aws, trained) -> Registry:
    return Registry(aws, trained)


def version(number: int) -> str:
    return f"{GROUP}/{number}"


def preprocess_arguments(features_dir: Path, predict_dir: Path) -> list[str]:
    return [
        "--use-type", "predict",
        "--features-dir", str(features_dir),
        "--model-package-group", GROUP,
        "--region", CONFIG.region,
        "--predict-dir", str(predict_dir),
    ]  # fmt: skip


def predict_arguments(features_dir: Path, predictions_dir: Path) -> list[str]:
    return [
        "--features-dir", str(features_dir),
        "--model-package-group", GROUP,
        "--region", CONFIG.region,
        "--predictions-dir", str(predictions_dir),
        "--execution-date", DATE,
    ]  # fmt: skip


# --------------------------------------------------------------------------- which version


def test_the_newest_approved_version_is_chosen_over_newer_ones_not_approved(registry, trained):
    for status in (APPROVED, APPROVED, PENDING, REJECTED):
        registry.register(status)

    model = approved_model.load_approved(GROUP, CONFIG.region)

    assert model.version == version(2)
    assert model.source.startswith(f"s3://{BUCKET}/{PREFIX}/models/")
    assert model.evaluation == registry.evaluation
    assert model.bundle.metadata == model_bundle.load_bundle(trained.model_dir).metadata


def test_approving_a_version_changes_the_model(registry):
    registry.register(APPROVED)
    second = registry.register(PENDING)
    assert approved_model.load_approved(GROUP, CONFIG.region).version == version(1)

    registry.approve(second)

    assert approved_model.load_approved(GROUP, CONFIG.region).version == version(2)


def test_no_approved_version_says_how_to_approve_one(registry):
    registry.register(PENDING)
    registry.register(REJECTED)
    with pytest.raises(StepError) as refused:
        approved_model.load_approved(GROUP, CONFIG.region)
    assert str(refused.value) == (
        f"model package group {GROUP} has no Approved version: "
        "approve one with `make approve ENV=<environment> VERSION=n` (or in SageMaker Studio)"
    )


def test_a_missing_group_is_named_with_its_region(aws):
    with pytest.raises(StepError, match=f"^model package group no-such-group does not exist in {CONFIG.region}: "):
        approved_model.load_approved("no-such-group", CONFIG.region)


def test_a_missing_archive_is_a_download_error_naming_it(registry):
    missing = f"s3://{BUCKET}/{PREFIX}/models/gone/model.tar.gz"
    registry.register(APPROVED, model_uri=missing)
    with pytest.raises(StepError) as refused:
        approved_model.load_approved(GROUP, CONFIG.region)
    assert str(refused.value).startswith(f"{missing}: cannot download the model of {version(1)} (AWS ")


def test_an_evaluation_of_another_archive_is_refused(registry):
    registry.register(APPROVED, evaluation={**registry.evaluation, "model_sha256": "0" * 64})
    with pytest.raises(StepError, match=rf"evaluates another model than s3://.+ \({version(1)}\)"):
        approved_model.load_approved(GROUP, CONFIG.region)


def test_a_corrupt_archive_is_one_error_naming_its_version(registry, corrupt_model_dir):
    archive = (corrupt_model_dir / model_bundle.ARCHIVE).read_bytes()
    uri = registry.upload("models/corrupt/model.tar.gz", archive)
    registry.register(
        APPROVED, evaluation={**registry.evaluation, "model_sha256": sha256(archive).hexdigest()}, model_uri=uri
    )
    with pytest.raises(StepError) as refused:
        approved_model.load_approved(GROUP, CONFIG.region)
    assert str(refused.value).startswith(f"{uri} ({version(1)}): ")
    assert f"cannot load {model_bundle.MODEL_FILE}" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_model_that_failed_its_gate_is_refused_even_if_approved(registry):
    failed = {**registry.evaluation, "quality_gate": {**registry.evaluation["quality_gate"], "passed": False}}
    registry.register(APPROVED, evaluation=failed)
    with pytest.raises(StepError, match=f"model {version(1)} did not pass the quality gate"):
        approved_model.load_approved(GROUP, CONFIG.region)


def test_a_version_registered_without_its_evaluation_is_refused(registry):
    arn = registry.register(APPROVED)
    package = registry.sagemaker.describe_model_package(ModelPackageName=arn)
    del package["ModelMetrics"]
    with pytest.raises(StepError, match="registered without model-quality statistics"):
        approved_model.registered_model(package)


def test_missing_credentials_are_one_line(offline):
    with pytest.raises(StepError, match=f"^model package group {GROUP}: Unable to locate credentials$"):
        approved_model.load_approved(GROUP, CONFIG.region)


# --------------------------------------------------------------------------- the two predict steps


def test_both_predict_steps_score_with_the_approved_model(
    registry, trained, predict_features_dir, prepared_predict_dir, tmp_path
):
    registry.register(APPROVED)
    predict_dir, predictions_dir = tmp_path / "predict", tmp_path / "predictions"

    assert preprocess.main(preprocess_arguments(predict_features_dir, predict_dir)) == 0
    assert predict.main(predict_arguments(predict_dir, predictions_dir)) == 0

    record = json.loads((predict_dir / model_bundle.TRANSFORMED_BY_FILE).read_text())
    assert record == {"model_version": version(1)}
    predictions = tables.read_table(predictions_dir, "predictions")
    assert set(predictions["model_version"]) == {version(1)}
    # The registered archive is the published one: the same rows, the same predictions.
    assert tables.read_table(predict_dir, "predict set").equals(tables.read_table(prepared_predict_dir, "predict set"))
    published_model = model_bundle.load_published(trained.latest_dir)
    published = predict.predict(prepared_predict_dir, published_model, tmp_path / "published", DATE)
    value_columns = list(schema.names(schema.prediction_value_columns(published_model.bundle.classes)))
    pd.testing.assert_frame_equal(predictions[value_columns], published[value_columns], check_dtype=False)


def test_a_version_approved_between_the_two_steps_is_refused(registry, predict_features_dir, tmp_path, expect_failure):
    registry.register(APPROVED)
    newer = registry.register(PENDING)
    predict_dir, predictions_dir = tmp_path / "predict", tmp_path / "predictions"
    assert preprocess.main(preprocess_arguments(predict_features_dir, predict_dir)) == 0

    registry.approve(newer)

    expect_failure(
        predict.main,
        predict_arguments(predict_dir, predictions_dir),
        f"prepared with the transformer of model {version(1)}, but the current model is {version(2)}",
        predict.RERUN_PREPROCESS,
        outputs=(predictions_dir,),
    )


@pytest.mark.parametrize("main", [preprocess.main, predict.main], ids=["preprocess", "predict"])
def test_steps_fail_in_one_line_without_an_approved_version(
    main, registry, predict_features_dir, tmp_path, expect_failure
):
    registry.register(PENDING)
    out = tmp_path / "out"
    arguments = preprocess_arguments if main is preprocess.main else predict_arguments
    expect_failure(
        main,
        arguments(predict_features_dir, out),
        f"model package group {GROUP} has no Approved version",
        "make approve ENV=<environment> VERSION=n",
        outputs=(out,),
    )


@pytest.mark.parametrize(
    ("main", "arguments", "message"),
    [
        (predict.main, ["--model-dir", "m", "--model-package-group", GROUP], "not allowed with argument"),
        (predict.main, ["--region", CONFIG.region], "--region is only used with --model-package-group"),
        (preprocess.main, ["--use-type", "predict", "--model-dir", "m", "--model-package-group", GROUP], "not allowed"),
        (preprocess.main, ["--use-type", "train", "--model-package-group", GROUP], "only used with --use-type predict"),
    ],
)
def test_the_model_comes_from_one_place(main, arguments, message, capsys):
    extra = ["--execution-date", DATE] if main is predict.main else []
    with pytest.raises(SystemExit):
        main([*arguments, *extra])
    assert message in capsys.readouterr().err


def test_local_runs_keep_the_published_model(tmp_path):
    """There is no Model Registry on this machine: the local runner ignores ``registry_model``."""
    config = CONFIG.model_copy(update={"registry": CONFIG.registry.model_copy(update={"enabled": True})})
    given = {"UseType": "predict", "ExecutionDate": DATE}
    run = local_plan.LocalRun(config, tmp_path, local_plan.resolve_parameters(config, tmp_path, given))

    for step in PIPELINE.branch("predict"):
        arguments = local_plan.render_arguments(run, step)
        assert "--model-package-group" not in arguments
        model_dir = arguments[arguments.index("--model-dir") + 1]
        assert model_dir == str(tmp_path / "s3" / BUCKET / PREFIX / "models" / "latest")
