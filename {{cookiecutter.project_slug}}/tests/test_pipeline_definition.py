"""The SageMaker pipeline definition, built offline, checked against pipeline_spec and the configuration.

Every assertion reads the definition JSON, the thing SageMaker receives. Building costs a few
seconds, so each environment is built once per test session.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
from pathlib import Path

import boto3
import pytest

from {{ cookiecutter.package_name }} import quality_gate, schema, training_metrics
from {{ cookiecutter.package_name }}.config import ENVIRONMENTS, EnvironmentConfig, load_config
from {{ cookiecutter.package_name }}.pipeline_spec import (
    LATEST_MODEL,
    PIPELINE,
    RUN_DATE,
    ExecutionId,
    ExecutionStart,
    InputPath,
    OutputPath,
    Param,
    RunDate,
    Setting,
    StepOutput,
    StepSpec,
    Uri,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    # The SDK warns about its own imports and defaults: nothing this project could act on.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sagemaker"),
    pytest.mark.filterwarnings("ignore:The 'dependencies' parameter is deprecated:DeprecationWarning"),
]

PROJECT_DIR = Path(__file__).resolve().parents[1]
PARAMETER_TYPES = {"string": "String", "integer": "Integer", "float": "Float"}
BRANCH_STEP = "UseTypeIsTrain"
REGISTER_STEP = "RegisterModel"


@pytest.fixture(scope="session")
def offline_build():
    """``build(config) -> definition dict``, with the SDK loaded and quietened the way the CLI does it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", load_config("develop").region)  # importing the SDK needs one
        import pipeline_steps  # noqa: F401 - loads the SDK
        import quiet_sdk
    import create_pipeline

    quiet_sdk.disable_telemetry()
    return lambda config: json.loads(create_pipeline.build_definition_offline(config))


@pytest.fixture(scope="session")
def definitions(offline_build) -> dict[str, dict]:
    return {environment: offline_build(load_config(environment)) for environment in ENVIRONMENTS}


@pytest.fixture(params=ENVIRONMENTS)
def built(request, definitions) -> tuple[EnvironmentConfig, dict]:
    return load_config(request.param), definitions[request.param]


def registry_switched(config: EnvironmentConfig, enabled: bool) -> EnvironmentConfig:
    return config.model_copy(update={"registry": config.registry.model_copy(update={"enabled": enabled})})


@pytest.fixture(scope="session")
def definition_with_registry(offline_build, definitions):
    """``get(environment, enabled) -> (config, definition)`` whichever way the project set ``registry.enabled``."""
    extra_builds = {}

    def get(environment: str, enabled: bool) -> tuple[EnvironmentConfig, dict]:
        config = registry_switched(load_config(environment), enabled)
        if load_config(environment).registry.enabled == enabled:
            return config, definitions[environment]
        if environment not in extra_builds:
            extra_builds[environment] = offline_build(config)
        return config, extra_builds[environment]

    return get


def steps_by_name(steps: list[dict]) -> dict[str, dict]:
    """Every step of the definition, including those nested in condition branches."""
    found = {}
    for step in steps:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            found |= steps_by_name(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])
    return found


def names(steps: list[dict]) -> list[str]:
    return [step["Name"] for step in steps]


def get(name: str) -> dict:
    return {"Get": f"Parameters.{name}"}


def as_string(parameter: str) -> dict:
    """How a non-string parameter appears where SageMaker expects a string."""
    spec = next(spec for spec in PIPELINE.parameters if spec.name == parameter)
    return get(parameter) if spec.type == "string" else {"Std:Join": {"On": "", "Values": [get(parameter)]}}


def expected_uri(uri: Uri, config: EnvironmentConfig):
    parts = [get(part.name) if isinstance(part, Param) else expected_token(part, config) for part in uri.parts]
    if all(isinstance(part, str) for part in parts):
        return "".join(parts)
    return {"Std:Join": {"On": "", "Values": parts}}


def expected_token(token, config: EnvironmentConfig):
    """The definition form of a spec token, per the table in pipeline_spec's docstring."""
    if isinstance(token, str):
        return token
    if isinstance(token, Param):
        return as_string(token.name)
    if isinstance(token, Setting):
        return str(config.setting(token.path))
    if isinstance(token, ExecutionId):
        return {"Get": "Execution.PipelineExecutionId"}
    if isinstance(token, ExecutionStart):
        return {"Get": "Execution.StartDateTime"}
    if isinstance(token, RunDate):
        return {
            "Std:JsonGet": {
                "PropertyFile": {"Get": f"Steps.{token.step}.PropertyFiles.{token.property_file}"},
                "Path": token.json_path,
            }
        }
    if isinstance(token, Uri):
        return expected_uri(token, config)
    if isinstance(token, InputPath):
        return f"/opt/ml/processing/input/{token.channel}"
    if isinstance(token, OutputPath):
        return f"/opt/ml/processing/output/{token.channel}"
    raise AssertionError(f"unexpected token {token!r}")


def expected_source(source, config: EnvironmentConfig):
    if isinstance(source, StepOutput):
        producer = PIPELINE.step(source.step)
        if producer.kind == "training":
            return {"Get": f"Steps.{source.step}.ModelArtifacts.S3ModelArtifacts"}
        return {"Get": f"Steps.{source.step}.ProcessingOutputConfig.Outputs['{source.channel}'].S3Output.S3Uri"}
    return expected_uri(Uri((*source.parts, "/")), config)


def test_parameters_are_the_specs_with_this_environments_defaults(built):
    config, definition = built
    root = f"s3://{config.storage.bucket}/{config.storage.prefix}"
    parameters = {parameter["Name"]: parameter for parameter in definition["Parameters"]}

    assert list(parameters) == [spec.name for spec in PIPELINE.parameters]
    for spec in PIPELINE.parameters:
        assert parameters[spec.name]["Type"] == PARAMETER_TYPES[spec.type]
    assert parameters["UseType"]["DefaultValue"] == "train"
    assert parameters["UseType"]["EnumValues"] == ["train", "predict"]
    assert parameters["ExecutionDate"]["DefaultValue"] == ""
    assert parameters["InputDataUri"]["DefaultValue"] == f"{root}/raw"
    assert parameters["OutputDataUri"]["DefaultValue"] == root
    assert parameters["ProcessingInstanceCount"]["DefaultValue"] == config.etl.instance_count
    assert parameters["NEstimators"]["DefaultValue"] == config.training.n_estimators
    assert parameters["MaxDepth"]["DefaultValue"] == config.training.max_depth


def test_environments_differ_where_their_configurations_do(definition_with_registry):
    for environment in ENVIRONMENTS:
        config, definition = definition_with_registry(environment, True)
        parameters = {parameter["Name"]: parameter for parameter in definition["Parameters"]}
        register = steps_by_name(definition["Steps"])[REGISTER_STEP]["Arguments"]

        assert parameters["ProcessingInstanceCount"]["DefaultValue"] == config.etl.instance_count
        assert parameters["OutputDataUri"]["DefaultValue"] == f"s3://{config.storage.bucket}/{config.storage.prefix}"
        assert register["ModelPackageGroupName"] == config.registry.model_package_group
        assert register["ModelApprovalStatus"] == config.registry.approval_status


def test_etl_runs_first_then_one_branch_on_use_type(built):
    _, definition = built
    steps = definition["Steps"]
    common = [spec.name for spec in PIPELINE.branch("common")]

    assert names(steps) == [*common, BRANCH_STEP]
    branch = steps[-1]
    assert branch["DependsOn"] == common
    assert branch["Arguments"]["Conditions"] == [{"Type": "Equals", "LeftValue": get("UseType"), "RightValue": "train"}]
    train = [spec.name for spec in PIPELINE.branch("train")]
    predict = [spec.name for spec in PIPELINE.branch("predict")]
    assert names(branch["Arguments"]["IfSteps"]) == [*train, PIPELINE.quality_gate.name]
    assert names(branch["Arguments"]["ElseSteps"]) == predict


CONDITIONS = {"at_least": "GreaterThanOrEqualTo", "at_most": "LessThanOrEqualTo"}


def check_gate(config: EnvironmentConfig, definition: dict) -> None:
    """The gate compares the configured metric with its threshold, the way its direction says, and
    otherwise fails with the numbers."""
    gate = steps_by_name(definition["Steps"])[PIPELINE.quality_gate.name]["Arguments"]
    metric_value = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
            "Path": f"metrics.{config.evaluation.metric}",
        }
    }
    condition = CONDITIONS[config.evaluation.direction]
    assert gate["Conditions"] == [
        {"Type": condition, "LeftValue": metric_value, "RightValue": config.evaluation.threshold}
    ]
    promote = [spec.name for spec in PIPELINE.branch("promote")]
    assert names(gate["IfSteps"]) == promote + ([REGISTER_STEP] if config.registry.enabled else [])
    [fail] = gate["ElseSteps"]
    assert fail["Name"] == PIPELINE.quality_gate.fail_step_name
    assert fail["Type"] == "Fail"
    message = fail["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert metric_value in message
    text = "".join(part for part in message if isinstance(part, str))
    side = "below" if config.evaluation.direction == "at_least" else "above"
    assert f"{config.evaluation.metric} =  is {side} the threshold {config.evaluation.threshold}" in text
    assert "(evaluation.threshold)" in text


def test_quality_gate_publishes_a_good_model_and_fails_with_the_numbers_otherwise(built):
    config, definition = built
    check_gate(config, definition)


def with_gate(config: EnvironmentConfig, metric: str, threshold: float) -> EnvironmentConfig:
    task = schema.contract().task
    gate = getattr(config.evaluation, task).model_copy(update={"metric": metric, "threshold": threshold})
    return config.model_copy(update={"evaluation": config.evaluation.model_copy(update={task: gate})})


def test_an_error_metric_passes_the_gate_at_most_at_its_threshold(offline_build):
    task = schema.contract().task
    error = next(name for name, way in quality_gate.GATE_METRICS[task].items() if way == "at_most")
    config = with_gate(load_config("develop"), error, 0.25)
    assert config.evaluation.direction == "at_most"
    check_gate(config, offline_build(config))


@pytest.mark.parametrize("step", ["ETL", "Evaluate"])
def test_steps_expose_their_reports_as_property_files(built, step):
    _, definition = built
    [report] = PIPELINE.step(step).property_files

    assert steps_by_name(definition["Steps"])[step]["PropertyFiles"] == [
        {"PropertyFileName": report.name, "OutputName": report.output, "FilePath": report.path}
    ]


def test_an_execution_started_with_the_defaults_runs_for_its_start_day(built):
    # ExecutionDate defaults to empty: the ETL turns it into the start day and every later step reads that.
    _, definition = built
    steps = steps_by_name(definition["Steps"])
    etl = steps["ETL"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert etl[etl.index("--execution-date") + 1] == get("ExecutionDate")
    assert etl[etl.index("--execution-start") + 1] == {"Get": "Execution.StartDateTime"}
    run_date = expected_token(RUN_DATE, config=None)
    for name in ("Publish", "Predict"):
        arguments = steps[name]["Arguments"]["AppSpecification"]["ContainerArguments"]
        assert arguments[arguments.index("--execution-date") + 1] == run_date, name
    model_output = steps["Train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"]
    assert run_date in model_output["Std:Join"]["Values"]
    assert json.dumps(definition).count('"Get": "Parameters.ExecutionDate"') == 1  # the ETL's argument alone


def as_built(spec: StepSpec, config: EnvironmentConfig) -> StepSpec:
    """The step as the definition should hold it for this configuration."""
    return spec.with_registry_model() if config.registry.enabled else spec


def test_processing_steps_take_arguments_inputs_and_outputs_from_the_spec(built):
    config, definition = built
    steps = steps_by_name(definition["Steps"])
    for spec in (as_built(spec, config) for spec in PIPELINE.steps):
        if spec.kind == "training":
            continue
        arguments = steps[spec.name]["Arguments"]
        expected = [
            item for option, token in spec.arguments.items() for item in (option, expected_token(token, config))
        ]
        assert arguments["AppSpecification"]["ContainerArguments"] == expected, spec.name

        inputs = {item["InputName"]: item["S3Input"] for item in arguments["ProcessingInputs"]}
        for channel, source in spec.inputs.items():
            assert inputs[channel]["S3Uri"] == expected_source(source, config), (spec.name, channel)
            assert inputs[channel]["LocalPath"] == f"/opt/ml/processing/input/{channel}"
        outputs = {
            item["OutputName"]: item["S3Output"]
            for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        assert list(outputs) == list(spec.outputs), spec.name
        for channel, location in spec.outputs.items():
            assert outputs[channel]["S3Uri"] == expected_uri(location, config)
            assert outputs[channel]["LocalPath"] == f"/opt/ml/processing/output/{channel}"


def test_instances_volumes_runtimes_and_tags_come_from_the_configuration(built):
    config, definition = built
    steps = steps_by_name(definition["Steps"])
    tags = [{"Key": key, "Value": value} for key, value in config.tags.items()]

    etl = steps["ETL"]["Arguments"]
    assert etl["ProcessingResources"]["ClusterConfig"]["InstanceType"] == config.etl.instance_type
    assert etl["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == get("ProcessingInstanceCount")
    assert etl["StoppingCondition"]["MaxRuntimeInSeconds"] == config.etl.max_runtime_seconds
    assert etl["RoleArn"] == config.role_arn
    assert etl["Tags"] == tags
    for spec in PIPELINE.steps:
        if spec.kind != "processing":
            continue
        arguments = steps[spec.name]["Arguments"]
        assert arguments["ProcessingResources"]["ClusterConfig"] == {
            "InstanceType": config.processing.instance_type,
            "InstanceCount": config.processing.instance_count,
            "VolumeSizeInGB": config.processing.volume_size_gb,
        }
        assert arguments["StoppingCondition"]["MaxRuntimeInSeconds"] == config.processing.max_runtime_seconds
        assert arguments["RoleArn"] == config.role_arn
        assert arguments["Tags"] == tags
    train = steps["Train"]["Arguments"]
    assert train["ResourceConfig"]["InstanceType"] == config.training.instance_type
    assert train["StoppingCondition"]["MaxRuntimeInSeconds"] == config.training.max_runtime_seconds
    assert train["RoleArn"] == config.role_arn
    assert train["Tags"] == tags


def test_etl_submits_its_script_with_the_package_and_the_spark_settings(built):
    import pipeline_steps

    config, definition = built
    etl = steps_by_name(definition["Steps"])["ETL"]["Arguments"]
    inputs = {item["InputName"]: item["S3Input"]["S3Uri"] for item in etl["ProcessingInputs"]}
    classifications = pipeline_steps.spark_classifications(config)

    assert etl["AppSpecification"]["ContainerEntrypoint"] == [
        "smspark-submit",
        "--py-files",
        etl["AppSpecification"]["ContainerEntrypoint"][2],
        "/opt/ml/processing/input/code/etl.py",
    ]
    assert etl["AppSpecification"]["ContainerEntrypoint"][2].endswith("/{{ cookiecutter.package_name }}.zip")
    assert inputs["code"].endswith("/etl.py")
    assert classifications == [
        {"Classification": name, "Properties": properties}
        for name, properties in config.etl.spark_configuration.items()
    ]
    if classifications:
        # The SDK names the uploaded configuration.json after a hash of the classifications.
        assert hashlib.sha256(str(classifications).encode()).hexdigest() in inputs["conf"]
    else:
        assert "conf" not in inputs


def test_images_match_the_configured_framework_versions(built):
    config, definition = built
    steps = steps_by_name(definition["Steps"])
    images = config.images

    spark = steps["ETL"]["Arguments"]["AppSpecification"]["ImageUri"]
    assert re.search(
        rf"\.dkr\.ecr\.{config.region}\.amazonaws\.com/sagemaker-spark-processing:"
        rf"{re.escape(images.spark_framework_version)}-cpu-{images.spark_py_version}-v\d",
        spark,
    ), spark
    sklearn = f".dkr.ecr.{config.region}.amazonaws.com/sagemaker-scikit-learn:{images.sklearn_framework_version}-cpu"
    for spec in PIPELINE.steps:
        if spec.kind == "processing":
            assert sklearn in steps[spec.name]["Arguments"]["AppSpecification"]["ImageUri"], spec.name
    assert sklearn in steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]


def test_training_gets_channels_hyperparameters_and_a_dated_model_location(built):
    config, definition = built
    spec = next(step for step in PIPELINE.steps if step.kind == "training")
    train = steps_by_name(definition["Steps"])[spec.name]["Arguments"]
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in train["InputDataConfig"]
    }

    for channel, source in spec.inputs.items():
        assert channels[channel] == expected_source(source, config), channel
    assert {"code", "sm_drivers"} <= set(channels)
    assert channels["code"].endswith("/sourcedir.tar.gz")
    assert train["HyperParameters"] == {
        name: expected_token(token, config) for name, token in spec.hyperparameters.items()
    }
    assert train["HyperParameters"]["random-state"] == str(config.training.random_state)
    assert train["OutputDataConfig"]["S3OutputPath"] == expected_uri(spec.outputs["model"], config)
    assert train["AlgorithmSpecification"]["MetricDefinitions"] == training_metrics.metric_definitions()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_registration_carries_the_model_its_serving_code_and_its_evaluation(definition_with_registry, environment):
    import inference
    from code_bundles import code_root

    config, definition = definition_with_registry(environment, True)
    arguments = steps_by_name(definition["Steps"])[REGISTER_STEP]["Arguments"]
    [container] = arguments["InferenceSpecification"]["Containers"]
    sklearn = (
        f".dkr.ecr.{config.region}.amazonaws.com/sagemaker-scikit-learn:{config.images.sklearn_framework_version}-cpu"
    )

    assert steps_by_name(definition["Steps"])[REGISTER_STEP]["Type"] == "RegisterModel"
    assert arguments["ModelPackageGroupName"] == config.registry.model_package_group
    assert arguments["ModelApprovalStatus"] == config.registry.approval_status
    assert sklearn in container["Image"]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    content_addressed = re.escape(code_root(config)) + r"/[0-9a-f]{64}/sourcedir\.tar\.gz"
    assert re.fullmatch(content_addressed, container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"])
    specification = arguments["InferenceSpecification"]
    assert set(specification["SupportedContentTypes"]) == {inference.CSV, inference.JSON}
    assert set(specification["SupportedResponseMIMETypes"]) == {inference.CSV, inference.JSON}
    assert arguments["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": {
            "Std:Join": {
                "On": "/",
                "Values": [
                    {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                    "evaluation.json",
                ],
            }
        },
    }


def test_without_the_registry_the_gate_only_publishes(definition_with_registry):
    _, definition = definition_with_registry("develop", False)

    gate = steps_by_name(definition["Steps"])[PIPELINE.quality_gate.name]["Arguments"]
    assert names(gate["IfSteps"]) == [spec.name for spec in PIPELINE.branch("promote")]
    assert REGISTER_STEP not in json.dumps(definition)


def processing_io(step: dict) -> tuple[list, dict]:
    """A processing step's container arguments, and its inputs' S3 URIs by channel."""
    arguments = step["Arguments"]
    inputs = {item["InputName"]: item["S3Input"]["S3Uri"] for item in arguments["ProcessingInputs"]}
    return arguments["AppSpecification"]["ContainerArguments"], inputs


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_with_the_registry_predict_steps_fetch_the_newest_approved_model(definition_with_registry, environment):
    config, definition = definition_with_registry(environment, True)
    steps = steps_by_name(definition["Steps"])
    registry = ["--model-package-group", config.registry.model_package_group, "--region", config.region]

    preprocess_arguments, preprocess_inputs = processing_io(steps["PreprocessPredict"])
    predict_arguments, predict_inputs = processing_io(steps["Predict"])
    assert preprocess_arguments == [
        "--use-type", "predict",
        "--features-dir", "/opt/ml/processing/input/features",
        *registry,
        "--predict-dir", "/opt/ml/processing/output/predict",
    ]  # fmt: skip
    assert predict_arguments == [
        "--features-dir", "/opt/ml/processing/input/features",
        *registry,
        "--predictions-dir", "/opt/ml/processing/output/predictions",
        "--execution-date", expected_token(RUN_DATE, config),
    ]  # fmt: skip
    # Nothing mounts the published model: models/latest may hold a model nobody approved.
    latest = expected_uri(Uri((*LATEST_MODEL.parts, "/")), config)
    for inputs in (preprocess_inputs, predict_inputs):
        assert "model" not in inputs
        assert latest not in inputs.values()


def test_without_the_registry_predict_steps_read_the_published_model(definition_with_registry):
    config, definition = definition_with_registry("develop", False)
    steps = steps_by_name(definition["Steps"])

    for name in ("PreprocessPredict", "Predict"):
        arguments, inputs = processing_io(steps[name])
        assert arguments[arguments.index("--model-dir") + 1] == "/opt/ml/processing/input/model"
        assert inputs["model"] == expected_uri(Uri((*LATEST_MODEL.parts, "/")), config)
    assert "--model-package-group" not in json.dumps(definition)


def test_the_registry_replaces_only_the_published_model_of_the_predict_steps():
    changed = {spec.name: spec.with_registry_model() for spec in PIPELINE.steps if spec.registry_model}

    assert sorted(changed) == sorted(spec.name for spec in PIPELINE.branch("predict"))
    for spec in PIPELINE.steps:
        if spec.name not in changed:
            assert spec.with_registry_model() is spec
            continue
        replaced = spec.registry_model.replaces
        registry_step = changed[spec.name]
        assert replaced not in registry_step.inputs
        assert InputPath(replaced) not in registry_step.arguments.values()
        assert registry_step.inputs == {
            channel: source for channel, source in spec.inputs.items() if channel != replaced
        }
        assert registry_step.arguments["--model-package-group"] == Setting("registry.model_package_group")
        assert registry_step.outputs == spec.outputs


def test_definition_is_the_same_for_the_same_sources(offline_build, definitions):
    import create_pipeline
    from definition_json import normalise

    again = create_pipeline.build_definition_offline(load_config("develop"))

    assert normalise(again) == normalise(json.dumps(definitions["develop"]))
    assert "<build-time>" in normalise(again)  # the only per-build part is the SDK's driver upload
    assert not re.search(r"-\d{14}/", normalise(again))


def test_code_is_uploaded_under_the_hash_of_its_bytes(offline_build):
    from moto import mock_aws

    from code_bundles import code_root, ship_step_code

    config = load_config("develop")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=config.storage.bucket)
        shipped = ship_step_code(s3, config)
        uris = [*shipped.spark_scripts.values(), shipped.package_zip, *shipped.source_archives.values()]
        contents = {
            uri: s3.get_object(Bucket=config.storage.bucket, Key=uri.split("/", 3)[3])["Body"].read() for uri in uris
        }

    for uri, content in contents.items():
        assert uri.startswith(f"{code_root(config)}/")
        assert uri.split("/")[-2] == hashlib.sha256(content).hexdigest()
    assert set(shipped.spark_scripts) == {spec.script for spec in PIPELINE.steps if spec.kind == "spark"}
    assert set(shipped.source_archives) == {spec.script for spec in PIPELINE.steps if spec.kind != "spark"} | {
        "inference.py"
    }
    with tarfile.open(fileobj=io.BytesIO(contents[shipped.source_archives["inference.py"]])) as archive:
        assert {"inference.py", "requirements.txt", "{{ cookiecutter.package_name }}/pipeline_spec.py"} <= set(archive.getnames())
        requirements = archive.extractfile("requirements.txt").read()
    assert requirements == (PROJECT_DIR / "production" / "packages" / "requirements" / "inference.txt").read_bytes()
    assert contents[shipped.spark_scripts["etl.py"]] == (PROJECT_DIR / "production" / "code" / "etl.py").read_bytes()


def test_the_sdks_helper_script_is_uploaded_under_its_own_checksum(built):
    import sagemaker.core.utils.install_requirements as helper

    config, definition = built
    checksum = hashlib.sha256(Path(helper.__file__).read_bytes()).hexdigest()[:16]
    helpers = set(re.findall(r"s3://[^\"]*/install_requirements\.py", json.dumps(definition)))

    assert {uri.split("/")[-3] for uri in helpers} == {
        f"{config.pipeline_name}-{spec.name}-{checksum}" for spec in PIPELINE.steps if spec.kind == "processing"
    }


def test_source_archives_depend_only_on_names_and_bytes(tmp_path):
    import os

    from code_bundles import tar_gz

    for name in ("first", "second"):
        (tmp_path / name / "package").mkdir(parents=True)
        (tmp_path / name / "script.py").write_text("print('hello')\n", encoding="utf-8")
        (tmp_path / name / "package" / "module.py").write_text("VALUE = 1\n", encoding="utf-8")
    for path in (tmp_path / "second").rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000))

    assert tar_gz(tmp_path / "first") == tar_gz(tmp_path / "second")
    (tmp_path / "second" / "script.py").write_text("print('changed')\n", encoding="utf-8")
    assert tar_gz(tmp_path / "first") != tar_gz(tmp_path / "second")


def test_no_telemetry_leaves_the_process(offline_build, monkeypatch):
    """A decorated SDK call sends nothing once telemetry is disabled, and would send an event otherwise."""
    from moto import mock_aws
    from sagemaker.core.processing import FrameworkProcessor
    from sagemaker.core.telemetry import telemetry_logging
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    import quiet_sdk

    def events_sent_by_a_processor_run() -> list:
        sent = []
        monkeypatch.setattr(telemetry_logging, "_send_telemetry_request_sync", lambda *args: sent.append(args))
        with mock_aws():
            session = PipelineSession(boto_session=boto3.Session(region_name="eu-west-1"), default_bucket="telemetry")
            processor = FrameworkProcessor(
                image_uri="image",
                role=load_config("develop").role_arn,
                instance_type="ml.m5.xlarge",
                instance_count=1,
                sagemaker_session=session,
            )
            processor.run(code="script.py")
            for thread in threading.enumerate():
                if thread.name == "sagemaker-telemetry":
                    thread.join(timeout=10)
        return sent

    assert telemetry_logging._send_telemetry_request is not quiet_sdk.SDK_SEND_TELEMETRY  # disabled by the fixture
    assert events_sent_by_a_processor_run() == []

    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", quiet_sdk.SDK_SEND_TELEMETRY)
    assert len(events_sent_by_a_processor_run()) == 1
