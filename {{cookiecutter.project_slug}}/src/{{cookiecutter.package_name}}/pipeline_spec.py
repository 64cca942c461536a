"""The one description of the pipeline.

Both the local runner (``python -m {{ cookiecutter.package_name }}.local_runner``) and
``production/pipelines_code/create_pipeline.py`` build their runs from the objects
below, so a step, an argument or a storage location exists in both or in neither.

::

    ETL (Spark) ──► UseType == "train" ?
                     ├─ yes ─► PreprocessTrain ─► Train ─► Evaluate ─► QualityGate ?
                     │                                                   ├─ pass ─► Publish [+ RegisterModel]
                     │                                                   └─ fail ─► FailStep
                     └─ no ──► PreprocessPredict ─► Predict    (models/latest, or the newest Approved model)

Tokens used in arguments and locations, and what each becomes:

==================  ==============================================  ========================================
token               on SageMaker                                    locally
==================  ==============================================  ========================================
``Param``           a pipeline parameter                            the value given to the runner
``Setting``         a value from the environment config             the same value
``ExecutionId``     the execution's id (``PIPELINE_EXECUTION_ID``)  the run's id, ``local-<UTC time>-<hex>``
``ExecutionStart``  the execution's start (``START_DATETIME``)      the run's start time, UTC
``RunDate``         read from the ETL's ``RunDate`` property file   ``cli.run_date`` of the same values
``Uri``             ``Join`` of its parts (an ``s3://`` URI)        the same parts joined (a local path)
``InputPath``       ``/opt/ml/processing/input/<channel>``          the local path of that input
``OutputPath``      ``/opt/ml/processing/output/<channel>``         the local path of that output
==================  ==============================================  ========================================

The *current model*, which the predict branch scores with, is the published one
(``models/latest``), except on SageMaker with ``registry.enabled``: there it is the newest
Approved version of the environment's model package group. That one difference between the
runs is data here too (``StepSpec.registry_model``); the local runner has no Model Registry.

This module only holds data: no AWS, no Spark, no file system access.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Branch = Literal["common", "train", "promote", "predict"]
StepKind = Literal["spark", "processing", "training"]


@dataclass(frozen=True)
class Param:
    """Reference to a pipeline parameter (overridable per execution)."""

    name: str


@dataclass(frozen=True)
class Setting:
    """Reference to a value of the environment configuration, by dotted path."""

    path: str


@dataclass(frozen=True)
class ExecutionId:
    """The id of the pipeline execution, different for every run.

    Train outputs are keyed by it as well as by the date: two train runs of one ExecutionDate
    then keep apart the data, model and evaluation that the Model Registry links together.
    """


@dataclass(frozen=True)
class ExecutionStart:
    """When the execution started (ISO 8601): what an empty ExecutionDate turns into a date."""


@dataclass(frozen=True)
class RunDate:
    """The date that keys a run's outputs: ExecutionDate, or the execution's start day (UTC) if it is empty.

    The step ``step`` resolves it (``cli.run_date``) and writes it to its property file
    ``property_file``, from which the later SageMaker steps read it; the local runner calls
    the same function on the same two values. An execution started with the defaults (Studio's
    Start button, a schedule passing no parameters) then runs for the day it started.
    """

    step: str
    property_file: str
    json_path: str


@dataclass(frozen=True)
class Uri:
    """A storage location: its parts are concatenated (``s3://...`` on SageMaker, a path locally)."""

    parts: tuple[str | Param | Setting | ExecutionId | RunDate, ...]


@dataclass(frozen=True)
class StepOutput:
    """An output of an earlier step; on SageMaker this also orders the steps."""

    step: str
    channel: str


@dataclass(frozen=True)
class InputPath:
    """Where the step script finds an input channel."""

    channel: str


@dataclass(frozen=True)
class OutputPath:
    """Where the step script writes an output channel."""

    channel: str


Token = str | Param | Setting | ExecutionId | ExecutionStart | RunDate | Uri | InputPath | OutputPath
Source = Uri | StepOutput


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: Literal["string", "integer", "float"]
    default: str | int | float | Setting | Uri
    description: str
    allowed: tuple[str, ...] = ()

    def parse(self, text: str) -> str | int | float:
        """The value ``text`` gives this parameter; a ValueError says what it accepts."""
        if self.allowed and text not in self.allowed:
            raise ValueError(f"{self.name} {text!r}: choose one of {', '.join(self.allowed)}")
        if self.type == "string":
            return text
        kind, noun = (int, "an integer") if self.type == "integer" else (float, "a number")
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{self.name} {text!r}: must be {noun}") from None


@dataclass(frozen=True)
class PropertyFileSpec:
    """A JSON file a processing step writes, whose values later steps can read."""

    name: str
    output: str
    path: str


@dataclass(frozen=True)
class RegistryModel:
    """How a predict-branch step gets its model on SageMaker when ``registry.enabled`` is on.

    The input ``replaces`` (the published model, ``models/latest``) is not mounted, and the
    arguments that point at it give way to ``arguments``: the script then fetches the newest
    Approved version of the model package group itself, so approving a version in the Model
    Registry changes what the next predict execution scores with. The local runner ignores
    this: there is no Model Registry on this machine, so local runs keep the published model.
    """

    replaces: str
    arguments: dict[str, Token]


@dataclass(frozen=True)
class StepSpec:
    name: str
    kind: StepKind
    branch: Branch
    script: str
    description: str
    inputs: dict[str, Source] = field(default_factory=dict)
    outputs: dict[str, Uri] = field(default_factory=dict)
    # Command-line options in order: ``{"--name": token}`` becomes ``--name <value>``.
    arguments: dict[str, Token] = field(default_factory=dict)
    # Training steps only: passed as ``--name value`` by the SageMaker training toolkit.
    hyperparameters: dict[str, Param | Setting] = field(default_factory=dict)
    property_files: tuple[PropertyFileSpec, ...] = ()
    # Predict-branch steps only: what replaces the published model on SageMaker with the registry on.
    registry_model: RegistryModel | None = None

    def with_registry_model(self) -> StepSpec:
        """This step as SageMaker runs it when ``registry.enabled`` is on (see ``RegistryModel``)."""
        if self.registry_model is None:
            return self
        replaced = self.registry_model.replaces
        arguments: dict[str, Token] = {}
        for option, token in self.arguments.items():
            if token == InputPath(replaced):
                arguments.update(self.registry_model.arguments)  # in its place: the options keep their order
            else:
                arguments[option] = token
        inputs = {channel: source for channel, source in self.inputs.items() if channel != replaced}
        return replace(self, inputs=inputs, arguments=arguments, registry_model=None)


@dataclass(frozen=True)
class QualityGateSpec:
    """Train branch check: the model is published only if its metric reaches the threshold.

    ``direction`` (``at_least`` for a score, ``at_most`` for an error) says which side passes.
    """

    name: str
    step: str
    property_file: str
    metric: Setting
    threshold: Setting
    direction: Setting
    fail_step_name: str


@dataclass(frozen=True)
class PipelineSpec:
    parameters: tuple[ParameterSpec, ...]
    steps: tuple[StepSpec, ...]
    branch_parameter: str
    train_value: str
    quality_gate: QualityGateSpec

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"no step named {name!r}; steps are {[s.name for s in self.steps]}")

    def branch(self, branch: Branch) -> tuple[StepSpec, ...]:
        return tuple(step for step in self.steps if step.branch == branch)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters)

    def parameter(self, name: str) -> ParameterSpec:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(f"unknown pipeline parameter {name!r}: the pipeline has {', '.join(self.parameter_names)}")


OUTPUT = Param("OutputDataUri")
DATE = Param("ExecutionDate")
USE_TYPE = Param("UseType")
EXECUTION = ExecutionId()
START = ExecutionStart()
RUN_DATE = RunDate(step="ETL", property_file="RunDate", json_path="execution_date")

RAW_DATA = Uri((Param("InputDataUri"), "/", USE_TYPE))
FEATURES = Uri((OUTPUT, "/features/", USE_TYPE))
RUNS = Uri((OUTPUT, "/runs/", EXECUTION))
FEATURES_OF_DATE = Uri((OUTPUT, "/features/", USE_TYPE, "/execution_date=", RUN_DATE))
TRAIN_SETS = Uri((OUTPUT, "/preprocess/train/", RUN_DATE, "/", EXECUTION))
PREDICT_SET = Uri((OUTPUT, "/preprocess/predict/", RUN_DATE))
MODELS = Uri((OUTPUT, "/models/", RUN_DATE, "/", EXECUTION))
EVALUATION = Uri((OUTPUT, "/evaluation/", RUN_DATE, "/", EXECUTION))
LATEST_MODEL = Uri((OUTPUT, "/models/latest"))
PREDICTIONS = Uri((OUTPUT, "/predictions/", RUN_DATE))


def below(location: Uri, *parts: str) -> Uri:
    return Uri(location.parts + tuple(f"/{part}" for part in parts))


# The region is passed along because the job must call the registry of the environment's region.
LATEST_APPROVED = RegistryModel(
    replaces="model",
    arguments={"--model-package-group": Setting("registry.model_package_group"), "--region": Setting("region")},
)


PARAMETERS = (
    ParameterSpec("UseType", "string", "train", "train: fit a model; predict: score new data", ("train", "predict")),
    ParameterSpec(
        "ExecutionDate",
        "string",
        "",
        "Date of the data snapshot (YYYY-MM-DD) that keys every output; empty: the day the execution started (UTC)",
    ),
    ParameterSpec("InputDataUri", "string", Uri((Setting("storage.root"), "/raw")), "ETL reads <it>/<UseType>"),
    ParameterSpec("OutputDataUri", "string", Setting("storage.root"), "Root under which every step writes"),
    ParameterSpec("ProcessingInstanceCount", "integer", Setting("etl.instance_count"), "Instances of the Spark ETL"),
    ParameterSpec("NEstimators", "integer", Setting("training.n_estimators"), "Trees in the random forest"),
    ParameterSpec("MaxDepth", "integer", Setting("training.max_depth"), "Maximum depth of each tree"),
)

STEPS = (
    StepSpec(
        name="ETL",
        kind="spark",
        branch="common",
        script="etl.py",
        description="Check raw sources against the data contract, join them, derive features, write Parquet by date.",
        outputs={"run": RUNS},
        arguments={
            "--input-uri": RAW_DATA,
            "--output-uri": FEATURES,
            "--execution-date": DATE,
            "--use-type": USE_TYPE,
            "--execution-start": START,
            "--run-dir": OutputPath("run"),
        },
        property_files=(PropertyFileSpec(RUN_DATE.property_file, "run", "run.json"),),
    ),
    StepSpec(
        name="PreprocessTrain",
        kind="processing",
        branch="train",
        script="preprocess.py",
        description="Fit the feature transformer and split train/test.",
        inputs={"features": FEATURES_OF_DATE},
        outputs={
            "train": below(TRAIN_SETS, "train"),
            "test": below(TRAIN_SETS, "test"),
            "transformer": below(TRAIN_SETS, "transformer"),
        },
        arguments={
            "--use-type": "train",
            "--features-dir": InputPath("features"),
            "--train-dir": OutputPath("train"),
            "--test-dir": OutputPath("test"),
            "--transformer-dir": OutputPath("transformer"),
            "--test-size": Setting("preprocess.test_size"),
            "--random-state": Setting("preprocess.random_state"),
        },
    ),
    StepSpec(
        name="Train",
        kind="training",
        branch="train",
        script="train.py",
        description="Train the classifier; the model artifact also carries the fitted transformer.",
        inputs={
            "train": StepOutput("PreprocessTrain", "train"),
            "test": StepOutput("PreprocessTrain", "test"),
            "transformer": StepOutput("PreprocessTrain", "transformer"),
        },
        outputs={"model": MODELS},
        hyperparameters={
            "n-estimators": Param("NEstimators"),
            "max-depth": Param("MaxDepth"),
            "random-state": Setting("training.random_state"),
        },
    ),
    StepSpec(
        name="Evaluate",
        kind="processing",
        branch="train",
        script="evaluate.py",
        description="Score the model on the held-out test split and write evaluation.json.",
        inputs={"model": StepOutput("Train", "model"), "test": StepOutput("PreprocessTrain", "test")},
        outputs={"evaluation": EVALUATION},
        arguments={
            "--model-dir": InputPath("model"),
            "--test-dir": InputPath("test"),
            "--evaluation-dir": OutputPath("evaluation"),
            "--decision-threshold": Setting("evaluation.decision_threshold"),
            "--gate-metric": Setting("evaluation.metric"),
            "--gate-threshold": Setting("evaluation.threshold"),
        },
        property_files=(PropertyFileSpec("EvaluationReport", "evaluation", "evaluation.json"),),
    ),
    StepSpec(
        name="Publish",
        kind="processing",
        branch="promote",
        script="publish.py",
        description="Make the model that passed the gate the one predict runs use (models/latest).",
        inputs={"model": StepOutput("Train", "model"), "evaluation": StepOutput("Evaluate", "evaluation")},
        outputs={"latest": LATEST_MODEL},
        arguments={
            "--model-dir": InputPath("model"),
            "--evaluation-dir": InputPath("evaluation"),
            "--output-dir": OutputPath("latest"),
            "--execution-date": RUN_DATE,
        },
    ),
    StepSpec(
        name="PreprocessPredict",
        kind="processing",
        branch="predict",
        script="preprocess.py",
        description="Apply the current model's transformer to the new data.",
        inputs={"features": FEATURES_OF_DATE, "model": LATEST_MODEL},
        outputs={"predict": PREDICT_SET},
        arguments={
            "--use-type": "predict",
            "--features-dir": InputPath("features"),
            "--model-dir": InputPath("model"),
            "--predict-dir": OutputPath("predict"),
        },
        registry_model=LATEST_APPROVED,
    ),
    StepSpec(
        name="Predict",
        kind="processing",
        branch="predict",
        script="predict.py",
        description="Score the new data with the current model, whose transformer prepared it.",
        inputs={"features": StepOutput("PreprocessPredict", "predict"), "model": LATEST_MODEL},
        outputs={"predictions": PREDICTIONS},
        arguments={
            "--features-dir": InputPath("features"),
            "--model-dir": InputPath("model"),
            "--predictions-dir": OutputPath("predictions"),
            "--execution-date": RUN_DATE,
        },
        registry_model=LATEST_APPROVED,
    ),
)

PIPELINE = PipelineSpec(
    parameters=PARAMETERS,
    steps=STEPS,
    branch_parameter="UseType",
    train_value="train",
    quality_gate=QualityGateSpec(
        name="QualityGate",
        step="Evaluate",
        property_file="EvaluationReport",
        metric=Setting("evaluation.metric"),
        threshold=Setting("evaluation.threshold"),
        direction=Setting("evaluation.direction"),
        fail_step_name="ModelBelowThreshold",
    ),
)
