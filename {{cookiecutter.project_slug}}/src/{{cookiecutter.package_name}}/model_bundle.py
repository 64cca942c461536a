"""The model artifact: what train.py writes, SageMaker packs, and every later step loads.

``model.tar.gz`` (SageMaker tars the training job's ``SM_MODEL_DIR``) holds::

    model.joblib        the fitted estimator; its inputs are the transformer's output columns
    transformer.joblib  the fitted feature transformer; its inputs are feature-table columns
    metadata.json       task, label, classes, column lists, library versions, hyperparameters,
                        training summary

A *published* model (``models/latest``, written by publish.py) is that archive plus the
``evaluation.json`` that let it through the quality gate and a ``manifest.json`` naming
its version. Batch prediction only uses models that passed the gate: the published one, or
on SageMaker with the Model Registry the newest Approved version (``approved_model``).

joblib files are pickles: load only artifacts your own pipeline wrote.
"""

from __future__ import annotations

import gzip
import io
import json
import platform
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from {{ cookiecutter.package_name }} import features, schema
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import read_json, require_dir, sha256, write_json

ARCHIVE = "model.tar.gz"
MODEL_FILE = "model.joblib"
TRANSFORMER_FILE = "transformer.joblib"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, TRANSFORMER_FILE, METADATA_FILE)
EVALUATION_FILE = "evaluation.json"
MANIFEST_FILE = "manifest.json"
# Written by preprocess.py beside a predict set: the version of the model whose transformer made it.
TRANSFORMED_BY_FILE = "_transformed_by.json"
FORMAT_VERSION = 2  # 2: task, classes, positive class
DEFAULT_DECISION_THRESHOLD = 0.5

TRAIN_FIRST = "run a train pipeline first: its Publish step writes the model (locally: make run-local USE_TYPE=train)"


@dataclass(frozen=True)
class ModelBundle:
    model: Any
    transformer: Any
    metadata: dict[str, Any]

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Feature-table columns the transformer reads."""
        return tuple(self.metadata["feature_columns"])

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns of the model matrix the estimator reads (the transformer's output)."""
        return tuple(self.metadata["model_inputs"])

    @property
    def task(self) -> str:
        return self.metadata["task"]

    @property
    def classes(self) -> tuple[Any, ...]:
        """The classes in the order of the model's probabilities; empty for regression."""
        return tuple(self.metadata["classes"])

    @property
    def positive_class(self) -> Any:
        return self.metadata["positive_class"]

    @property
    def id_column(self) -> str:
        return self.metadata["id_column"]

    def value_columns(self) -> tuple[str, ...]:
        """What ``predict_matrix`` gives for each row (``schema.prediction_value_columns``)."""
        return schema.names(schema.prediction_value_columns(self.classes))

    def probabilities(self, matrix: pd.DataFrame) -> np.ndarray:
        """Probability of each class (columns in ``classes`` order) for each row of a model matrix."""
        return self.model.predict_proba(matrix[list(self.input_columns)])

    def positive_probability(self, matrix: pd.DataFrame) -> np.ndarray:
        """Binary models: the probability of the positive class for each row."""
        return self.probabilities(matrix)[:, self.classes.index(self.positive_class)]

    def predict_matrix(
        self, matrix: pd.DataFrame, decision_threshold: float = DEFAULT_DECISION_THRESHOLD
    ) -> pd.DataFrame:
        """The task's prediction columns for the rows of a model matrix (same index).

        binary      probability (of the positive class) and predicted_class: the positive
                    class from ``decision_threshold`` on, else the other one
        multiclass  probability_<class> per class and predicted_class, the most likely one
        regression  prediction
        """
        names = self.value_columns()
        if self.task == "regression":
            values = {names[0]: self.model.predict(matrix[list(self.input_columns)]).astype("float64")}
        elif self.task == "binary":
            positive = self.positive_probability(matrix)
            (negative,) = (value for value in self.classes if value != self.positive_class)
            chosen = np.where(positive >= decision_threshold, self.positive_class, negative)
            values = {names[0]: positive, names[1]: chosen}
        else:
            probabilities = self.probabilities(matrix)
            values = dict(zip(names[:-1], probabilities.T, strict=True))
            values[names[-1]] = np.asarray(self.classes, dtype=object)[probabilities.argmax(axis=1)]
        return pd.DataFrame(values, index=matrix.index)

    def predict_features(
        self, table: pd.DataFrame, decision_threshold: float = DEFAULT_DECISION_THRESHOLD
    ) -> pd.DataFrame:
        """Predictions for conformed feature-table rows: transform, then predict."""
        return self.predict_matrix(features.transform(self.transformer, table), decision_threshold)


def predictions(
    bundle: ModelBundle, rows: pd.DataFrame, decision_threshold: float = DEFAULT_DECISION_THRESHOLD
) -> pd.DataFrame:
    """The task's prediction columns for conformed feature-table rows (see ``ModelBundle.predict_matrix``)."""
    return bundle.predict_features(rows, decision_threshold)


@dataclass(frozen=True)
class PublishedModel:
    """A model cleared for batch prediction, with the evaluation that cleared it."""

    bundle: ModelBundle
    version: str
    evaluation: dict[str, Any]
    source: str  # where it was loaded from, for error messages: a directory or an s3:// URI

    @property
    def decision_threshold(self) -> float:
        """Binary models: the probability from which a row counts as the positive class, as evaluated."""
        return float(self.evaluation["decision_threshold"])


def bundle_metadata(
    model: Any, transformer: Any, hyperparameters: dict[str, Any], training: dict[str, Any]
) -> dict[str, Any]:
    of = schema.contract()
    return {
        "format_version": FORMAT_VERSION,
        "task": of.task,
        "id_column": of.id_column,
        "label": of.label.column,
        # JSON's own types, in the order of the model's probabilities.
        "classes": [native(value) for value in getattr(model, "classes_", ())],
        "positive_class": of.label.positive_class if of.task == "binary" else None,
        "feature_columns": [str(name) for name in transformer.feature_names_in_],
        "model_inputs": [str(name) for name in model.feature_names_in_],
        "model_class": type(model).__name__,
        "hyperparameters": hyperparameters,
        "training": training,
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
    }


def native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def write_bundle(directory: Path, model: Any, transformer_file: Path, metadata: dict[str, Any]) -> None:
    """Write the three bundle files into ``directory`` (the training job's model directory)."""
    joblib.dump(model, directory / MODEL_FILE)
    # A byte copy: the model ships the very transformer preprocess fitted.
    shutil.copyfile(transformer_file, directory / TRANSFORMER_FILE)
    write_json(directory / METADATA_FILE, metadata)


def pack(directory: Path, archive: Path) -> Path:
    """Tar the bundle files of ``directory`` into ``archive`` as SageMaker does, byte-reproducibly
    (fixed timestamps and owners), so equal models give equal checksums."""
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for name in BUNDLE_FILES:
            data = (directory / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def load_bundle(directory: Path) -> ModelBundle:
    """The bundle in ``directory``: from its model.tar.gz, or from the extracted files
    (as SageMaker's serving container presents them in /opt/ml/model)."""
    require_dir(directory, "model directory", TRAIN_FIRST)
    archive = directory / ARCHIVE
    if archive.is_file():
        source, files = archive, read_archive(archive)
    elif all((directory / name).is_file() for name in BUNDLE_FILES):
        source, files = directory, {name: (directory / name).read_bytes() for name in BUNDLE_FILES}
    else:
        raise StepError(f"{directory}: no model here (expected {ARCHIVE}, or {', '.join(BUNDLE_FILES)}); {TRAIN_FIRST}")
    bundle = ModelBundle(
        metadata=parse_metadata(files[METADATA_FILE], source),
        model=unpickle(files, MODEL_FILE, source),
        transformer=unpickle(files, TRANSFORMER_FILE, source),
    )
    check_loaded(bundle, source)
    return bundle


def check_loaded(bundle: ModelBundle, source: Path) -> None:
    """What unpickled is an estimator and a transformer of the task the metadata names."""
    expected = "predict_proba" if bundle.task != "regression" else "predict"
    if not hasattr(bundle.model, expected) or not hasattr(bundle.model, "feature_names_in_"):
        raise StepError(
            f"{source}: {MODEL_FILE} holds a {type(bundle.model).__name__}, "
            f"not a fitted {bundle.task} model; retrain it"
        )
    if not hasattr(bundle.transformer, "transform"):
        raise StepError(f"{source}: {TRANSFORMER_FILE} holds a {type(bundle.transformer).__name__}, not a transformer")
    if [native(value) for value in getattr(bundle.model, "classes_", ())] != list(bundle.classes):
        raise StepError(f"{source}: {METADATA_FILE} names other classes than {MODEL_FILE} has; retrain the model")


def read_archive(archive: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            # Entries may be named "./model.joblib" or "model.joblib".
            members = {member.name.removeprefix("./"): member for member in tar.getmembers() if member.isfile()}
            missing = [name for name in BUNDLE_FILES if name not in members]
            if missing:
                raise StepError(f"{archive}: lacks {', '.join(missing)}; it was not written by train.py")
            return {name: tar.extractfile(members[name]).read() for name in BUNDLE_FILES}
    except (tarfile.TarError, EOFError, OSError) as error:
        raise StepError(f"{archive}: not a readable model archive ({error})") from None


def parse_metadata(content: bytes, source: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(content.decode("utf-8"))
    except ValueError as error:
        raise StepError(f"{source}: {METADATA_FILE} is not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format_version") != FORMAT_VERSION:
        raise StepError(f"{source}: {METADATA_FILE} is not model metadata of format {FORMAT_VERSION}")
    # A pickled scikit-learn model only loads reliably into the release that wrote it.
    written_with = metadata.get("libraries", {}).get("scikit-learn")
    if written_with != sklearn.__version__:
        raise StepError(
            f"{source}: the model was written with scikit-learn {written_with} but this environment has "
            f"{sklearn.__version__}; retrain the model, or align the scikit-learn pin with the SageMaker image"
        )
    return metadata


def load_transformer(directory: Path) -> Any:
    """The transformer preprocess.py fitted (``transformer.joblib`` in ``directory``)."""
    path = require_dir(directory, "transformer directory", "run PreprocessTrain first") / TRANSFORMER_FILE
    if not path.is_file():
        raise StepError(f"{path}: not found; run PreprocessTrain first")
    return unpickle({TRANSFORMER_FILE: path.read_bytes()}, TRANSFORMER_FILE, directory)


def unpickle(files: dict[str, bytes], name: str, source: Path) -> Any:
    try:
        return joblib.load(io.BytesIO(files[name]))
    # A damaged pickle can fail in any way its bytes happen to direct (KeyError, EOFError,
    # UnpicklingError, ModuleNotFoundError, MemoryError...): each means the same thing here.
    except Exception as error:
        raise StepError(f"{source}: cannot load {name} ({type(error).__name__}: {error}); retrain the model") from None


def gate_passed(evaluation: dict[str, Any]) -> bool:
    return evaluation.get("quality_gate", {}).get("passed") is True


def gate_summary(evaluation: dict[str, Any]) -> str:
    gate = evaluation.get("quality_gate", {})
    needs = {"at_least": "at least", "at_most": "at most"}.get(gate.get("direction", "at_least"), "at least")
    return f"{gate.get('metric')} = {gate.get('value')} against a threshold of {gate.get('threshold')} ({needs})"


def load_published(directory: Path) -> PublishedModel:
    """The model publish.py wrote to ``directory``, refused unless its evaluation passed the gate
    and the archive is the one the manifest names."""
    require_dir(directory, "published model directory", TRAIN_FIRST)
    archive = directory / ARCHIVE
    if not archive.is_file():
        raise StepError(f"{directory}: no published model ({ARCHIVE} missing); {TRAIN_FIRST}")
    evaluation = read_json(directory / EVALUATION_FILE, "evaluation of the published model")
    if not gate_passed(evaluation):
        raise StepError(
            f"{directory / EVALUATION_FILE}: this model did not pass the quality gate ({gate_summary(evaluation)}); "
            "refusing to use it"
        )
    manifest = read_json(directory / MANIFEST_FILE, "manifest of the published model")
    if manifest.get("model_sha256") != sha256(archive):
        raise StepError(f"{archive}: differs from the model {directory / MANIFEST_FILE} names; publish it again")
    return PublishedModel(
        bundle=load_bundle(directory),
        version=str(manifest["model_version"]),
        evaluation=evaluation,
        source=str(directory),
    )
