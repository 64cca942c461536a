"""SageMaker SDK objects for the parts of ``pipeline_spec``: parameters, steps, the quality gate.

One builder per step kind - ``spark`` (PySparkProcessor), ``processing`` (FrameworkProcessor on
the scikit-learn image) and ``training`` (ModelTrainer) - plus the quality gate, the model
registration and the branch on ``UseType``. ``BuildContext.value`` turns the spec's argument
tokens into what a SageMaker definition holds (see the table in ``pipeline_spec``). With
``registry.enabled`` every step is built as ``StepSpec.with_registry_model`` describes it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sagemaker.core.helper.pipeline_variable import PipelineVariable
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import FrameworkProcessor
from sagemaker.core.shapes import (
    MetricDefinition,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
    Tag,
)
from sagemaker.core.spark.processing import PySparkProcessor
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode, StoppingCondition
from sagemaker.core.workflow.conditions import (
    ConditionEquals,
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import Parameter, ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.steps import ProcessingStep, Step, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

from {{ cookiecutter.package_name }} import quality_gate, training_metrics
from {{ cookiecutter.package_name }}.config import EnvironmentConfig
from {{ cookiecutter.package_name }}.pipeline_spec import (
    ExecutionId,
    ExecutionStart,
    InputPath,
    OutputPath,
    Param,
    ParameterSpec,
    PipelineSpec,
    QualityGateSpec,
    RunDate,
    Setting,
    Source,
    StepOutput,
    StepSpec,
    Token,
    Uri,
)

from code_bundles import SERVING_SCRIPT, ShippedCode
from container_images import sklearn_image, spark_image
from pipeline_parameters import default_value

PROCESSING_INPUT_DIR = "/opt/ml/processing/input"
PROCESSING_OUTPUT_DIR = "/opt/ml/processing/output"
REQUIREMENTS = "requirements.txt"
# The spec's parameter that sizes the Spark cluster ("Instances of the Spark ETL").
ETL_INSTANCE_COUNT = "ProcessingInstanceCount"
REGISTER_STEP_NAME = "RegisterModel"
# What the serving functions in inference.py accept and answer (a test holds the two together).
SERVING_CONTENT_TYPES = ["text/csv", "application/json"]
SERVING_RESPONSE_TYPES = ["application/json", "text/csv"]
EVALUATION_CONTENT_TYPE = "application/json"
# The gate's condition per direction of its metric: a score must reach the threshold, an error stay under it.
GATE_CONDITIONS = {"at_least": ConditionGreaterThanOrEqualTo, "at_most": ConditionLessThanOrEqualTo}

SdkValue = str | PipelineVariable


@dataclass
class BuildContext:
    """What every builder needs: the environment, the session, the shipped code, what is built so far."""

    config: EnvironmentConfig
    session: PipelineSession
    code: ShippedCode
    parameters: dict[str, Parameter]
    steps: dict[str, Step] = field(default_factory=dict)

    def value(self, token: Token) -> SdkValue:
        """A spec token as a definition value: always a string, or a variable that renders as one."""
        if isinstance(token, str):
            return token
        if isinstance(token, Param):
            return self.parameters[token.name].to_string()
        if isinstance(token, Setting):
            return str(self.config.setting(token.path))
        if isinstance(token, ExecutionId):
            return ExecutionVariables.PIPELINE_EXECUTION_ID
        if isinstance(token, ExecutionStart):
            return ExecutionVariables.START_DATETIME
        if isinstance(token, RunDate):
            # Reading the ETL's property file also makes every step that uses the date run after it.
            return JsonGet(step_name=token.step, property_file=token.property_file, json_path=token.json_path)
        if isinstance(token, Uri):
            return self.uri(token)
        if isinstance(token, InputPath):
            return f"{PROCESSING_INPUT_DIR}/{token.channel}"
        if isinstance(token, OutputPath):
            return f"{PROCESSING_OUTPUT_DIR}/{token.channel}"
        raise TypeError(f"unsupported argument token {token!r}")

    def uri(self, uri: Uri) -> SdkValue:
        parts = [self.parameters[part.name] if isinstance(part, Param) else self.value(part) for part in uri.parts]
        if all(isinstance(part, str) for part in parts):
            return "".join(parts)
        return Join(on="", values=parts)

    def source(self, source: Source) -> SdkValue:
        """Where an input comes from: a storage location, or the output of an earlier step."""
        if isinstance(source, StepOutput):
            return self.step_output(source)
        # A trailing slash keeps an S3 prefix from also matching sibling keys (models/latest2/...).
        return self.uri(Uri((*source.parts, "/")))

    def step_output(self, output: StepOutput) -> PipelineVariable:
        step = self.steps.get(output.step)
        if step is None:
            raise ValueError(f"{output.step!r} must come before the steps that read its outputs in pipeline_spec")
        if isinstance(step, TrainingStep):
            # A training job has one output: the model.tar.gz object, mounted as <input dir>/model.tar.gz.
            return step.properties.ModelArtifacts.S3ModelArtifacts
        return step.properties.ProcessingOutputConfig.Outputs[output.channel].S3Output.S3Uri

    def arguments(self, spec: StepSpec) -> list[SdkValue]:
        return [part for option, token in spec.arguments.items() for part in (option, self.value(token))]

    @property
    def tags(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in self.config.tags.items()]


def build_parameter(spec: ParameterSpec, config: EnvironmentConfig) -> Parameter:
    default = default_value(spec, config)
    if spec.type == "integer":
        return ParameterInteger(name=spec.name, default_value=int(default))
    if spec.type == "float":
        return ParameterFloat(name=spec.name, default_value=float(default))
    return ParameterString(name=spec.name, default_value=str(default), enum_values=list(spec.allowed) or None)


def build_step(spec: StepSpec, context: BuildContext) -> Step:
    if context.config.registry.enabled:
        # The predict steps then fetch the newest Approved model themselves, instead of models/latest.
        spec = spec.with_registry_model()
    builders = {"spark": spark_step, "processing": processing_step, "training": training_step}
    return builders[spec.kind](spec, context)


def spark_step(spec: StepSpec, context: BuildContext) -> ProcessingStep:
    """The Spark ETL: the script and the package zip as ``spark-submit`` app and ``--py-files``."""
    config = context.config
    processor = PySparkProcessor(
        image_uri=spark_image(config),
        role=config.role_arn,
        instance_type=config.etl.instance_type,
        instance_count=context.parameters[ETL_INSTANCE_COUNT],
        volume_size_in_gb=config.etl.volume_size_gb,
        max_runtime_in_seconds=config.etl.max_runtime_seconds,
        base_job_name=spec.name,
        sagemaker_session=context.session,
        tags=context.tags,
    )
    step_args = processor.run(
        submit_app=context.code.spark_scripts[spec.script],
        submit_py_files=[context.code.package_zip],
        outputs=[processing_output(channel, context.uri(location)) for channel, location in spec.outputs.items()],
        arguments=context.arguments(spec),
        configuration=spark_classifications(config),
    )
    return ProcessingStep(
        name=spec.name, step_args=step_args, description=spec.description, property_files=property_files(spec)
    )


def spark_classifications(config: EnvironmentConfig) -> list[dict]:
    """``etl.spark_configuration`` in the EMR-style list SageMaker's Spark containers read."""
    return [
        {"Classification": classification, "Properties": dict(properties)}
        for classification, properties in config.etl.spark_configuration.items()
    ]


def processing_step(spec: StepSpec, context: BuildContext) -> ProcessingStep:
    """A script on the scikit-learn image, unpacked from its source archive beside the package."""
    config = context.config
    processor = FrameworkProcessor(
        image_uri=sklearn_image(config, "training", config.processing.instance_type),
        command=["python3"],
        role=config.role_arn,
        instance_type=config.processing.instance_type,
        instance_count=config.processing.instance_count,
        volume_size_in_gb=config.processing.volume_size_gb,
        max_runtime_in_seconds=config.processing.max_runtime_seconds,
        base_job_name=spec.name,
        sagemaker_session=context.session,
        tags=context.tags,
    )
    step_args = processor.run(
        code=spec.script,
        source_dir=context.code.source_archives[spec.script],
        requirements=REQUIREMENTS,
        inputs=[processing_input(channel, context.source(source)) for channel, source in spec.inputs.items()],
        outputs=[processing_output(channel, context.uri(location)) for channel, location in spec.outputs.items()],
        arguments=context.arguments(spec),
        job_name=helper_upload_name(config, spec),
    )
    return ProcessingStep(
        name=spec.name, step_args=step_args, description=spec.description, property_files=property_files(spec)
    )


def helper_upload_name(config: EnvironmentConfig, spec: StepSpec) -> str:
    """The name the SDK files a step's copy of its install_requirements.py under (SageMaker names
    the actual job at run time). It carries the helper's checksum: a deploy then never replaces
    the file under a running execution with other content, and an unchanged one keeps its key."""
    return f"{config.pipeline_name}-{spec.name}-{sdk_helper_checksum()[:16]}"


@functools.cache
def sdk_helper_checksum() -> str:
    # The SDK uploads this module's file as it is.
    import sagemaker.core.utils.install_requirements as helper

    return hashlib.sha256(Path(helper.__file__).read_bytes()).hexdigest()


def property_files(spec: StepSpec) -> list[PropertyFile]:
    return [PropertyFile(name=file.name, output_name=file.output, path=file.path) for file in spec.property_files]


def processing_input(channel: str, source: SdkValue) -> ProcessingInput:
    return ProcessingInput(
        input_name=channel,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=f"{PROCESSING_INPUT_DIR}/{channel}",
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def processing_output(channel: str, destination: SdkValue) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=channel,
        s3_output=ProcessingS3Output(
            s3_uri=destination, local_path=f"{PROCESSING_OUTPUT_DIR}/{channel}", s3_upload_mode="EndOfJob"
        ),
    )


def training_step(spec: StepSpec, context: BuildContext) -> TrainingStep:
    """A training job: inputs become SM_CHANNEL_<NAME>, hyperparameters ``--name value`` arguments."""
    config = context.config
    trainer = ModelTrainer(
        training_image=sklearn_image(config, "training", config.training.instance_type),
        role=config.role_arn,
        sagemaker_session=context.session,
        base_job_name=spec.name,
        input_s3_key_prefix=config.pipeline_name,
        source_code=SourceCode(
            source_dir=context.code.source_archives[spec.script],
            entry_script=spec.script,
            requirements=REQUIREMENTS,
        ),
        # scikit-learn trains on one machine: a second instance would only idle.
        compute=Compute(
            instance_type=config.training.instance_type,
            instance_count=1,
            volume_size_in_gb=config.training.volume_size_gb,
        ),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=config.training.max_runtime_seconds),
        hyperparameters={name: context.value(token) for name, token in spec.hyperparameters.items()},
        output_data_config=OutputDataConfig(s3_output_path=context.uri(spec.outputs["model"])),
        tags=[Tag(key=key, value=value) for key, value in config.tags.items()],
    ).with_metric_definitions(
        # train.py prints `name=value;` lines; these regexes make them the job's metrics.
        [MetricDefinition(name=item["Name"], regex=item["Regex"]) for item in training_metrics.metric_definitions()]
    )
    step_args = trainer.train(
        input_data_config=[
            InputData(channel_name=channel, data_source=context.source(source))
            for channel, source in spec.inputs.items()
        ]
    )
    return TrainingStep(name=spec.name, step_args=step_args, description=spec.description)


def evaluation_file(gate: QualityGateSpec, context: BuildContext) -> tuple[ProcessingStep, PropertyFile]:
    step = context.steps[gate.step]
    for property_file in step.property_files:
        if property_file.name == gate.property_file:
            return step, property_file
    raise ValueError(f"step {gate.step!r} has no property file {gate.property_file!r}")


def quality_gate_step(gate: QualityGateSpec, context: BuildContext, promote: list[Step]) -> ConditionStep:
    """Promote the model if its metric reaches the threshold; otherwise fail the execution, saying why."""
    evaluate, report = evaluation_file(gate, context)
    metric = context.config.setting(gate.metric.path)
    threshold = context.config.setting(gate.threshold.path)
    direction = context.config.setting(gate.direction.path)
    value = JsonGet(step_name=evaluate.name, property_file=report, json_path=f"metrics.{metric}")
    side = quality_gate.failed_side(direction)
    not_reached = FailStep(
        name=gate.fail_step_name,
        error_message=Join(
            on="",
            values=[
                f"Quality gate failed: {metric} = ",
                value,
                f" is {side} the threshold {threshold} ({gate.threshold.path}); the model was not published.",
            ],
        ),
    )
    return ConditionStep(
        name=gate.name,
        conditions=[GATE_CONDITIONS[direction](left=value, right=threshold)],
        if_steps=promote,
        else_steps=[not_reached],
    )


def register_model_step(training: StepSpec, gate: QualityGateSpec, context: BuildContext) -> ModelStep:
    """Register the trained model, with its evaluation as model quality, in the Model Registry."""
    config = context.config
    evaluate, report = evaluation_file(gate, context)
    evaluation_dir = evaluate.properties.ProcessingOutputConfig.Outputs[report.output_name].S3Output.S3Uri
    model = ModelBuilder(
        s3_model_data_url=context.steps[training.name].properties.ModelArtifacts.S3ModelArtifacts,
        image_uri=sklearn_image(config, "inference", config.processing.instance_type),
        # The scikit-learn serving container downloads this archive and imports the program from it.
        env_vars={
            "SAGEMAKER_PROGRAM": SERVING_SCRIPT,
            "SAGEMAKER_SUBMIT_DIRECTORY": context.code.source_archives[SERVING_SCRIPT],
        },
        role_arn=config.role_arn,
        sagemaker_session=context.session,
        # The default (DEBUG) would reset the level of an SDK-wide logger for the whole process.
        log_level=None,
    )
    step_args = model.register(
        model_package_group_name=config.registry.model_package_group,
        approval_status=config.registry.approval_status,
        content_types=SERVING_CONTENT_TYPES,
        response_types=SERVING_RESPONSE_TYPES,
        model_metrics=ModelMetrics(
            model_statistics=MetricsSource(
                content_type=EVALUATION_CONTENT_TYPE, s3_uri=Join(on="/", values=[evaluation_dir, report.path])
            )
        ),
    )
    return ModelStep(
        name=REGISTER_STEP_NAME, step_args=step_args, description="Register the model that passed the gate."
    )


def branch_on_use_type(
    spec: PipelineSpec, context: BuildContext, train_steps: list[Step], predict_steps: list[Step], after: list[Step]
) -> ConditionStep:
    """Train (and gate) when UseType is the train value, otherwise predict; both after the common steps."""
    return ConditionStep(
        name=f"{spec.branch_parameter}Is{spec.train_value.capitalize()}",
        depends_on=after,
        conditions=[ConditionEquals(left=context.parameters[spec.branch_parameter], right=spec.train_value)],
        if_steps=train_steps,
        else_steps=predict_steps,
    )
