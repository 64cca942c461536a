"""The model artifact: what train.py writes, SageMaker packs, and every later step loads.

``model.tar.gz`` (SageMaker tars the training job's ``SM_MODEL_DIR``) holds::

    model.joblib        the fitted classifier; its inputs are the transformer's output columns
    transformer.joblib  the fitted feature transformer; its inputs are feature-table columns
    metadata.json       column lists, label, library versions, hyperparameters, training summary

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
import pickle
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
FORMAT_VERSION = 1

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
        """Columns of the model matrix the classifier reads (the transformer's output)."""
        return tuple(self.metadata["model_inputs"])

    def probabilities(self, matrix: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class (a bag bought) for each row of a model matrix."""
        positive = list(self.model.classes_).index(1)
        return self.model.predict_proba(matrix[list(self.input_columns)])[:, positive]

    def score_features(self, table: pd.DataFrame) -> np.ndarray:
        """Probabilities for conformed feature-table rows: transform, then classify."""
        return self.probabilities(features.transform(self.transformer, table))


@dataclass(frozen=True)
class PublishedModel:
    """A model cleared for batch prediction, with the evaluation that cleared it."""

    bundle: ModelBundle
    version: str
    evaluation: dict[str, Any]
    source: str  # where it was loaded from, for error messages: a directory or an s3:// URI

    @property
    def decision_threshold(self) -> float:
        """The probability from which a booking counts as a buyer: the one the evaluation used."""
        return float(self.evaluation["decision_threshold"])


def bundle_metadata(
    model: Any, transformer: Any, hyperparameters: dict[str, Any], training: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "id_column": schema.ID_COLUMN,
        "label": schema.LABEL.name,
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
    return ModelBundle(
        metadata=parse_metadata(files[METADATA_FILE], source),
        model=unpickle(files, MODEL_FILE, source),
        transformer=unpickle(files, TRANSFORMER_FILE, source),
    )


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
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as error:
        raise StepError(f"{source}: cannot load {name} ({type(error).__name__}: {error})") from None


def gate_passed(evaluation: dict[str, Any]) -> bool:
    return evaluation.get("quality_gate", {}).get("passed") is True


def gate_summary(evaluation: dict[str, Any]) -> str:
    gate = evaluation.get("quality_gate", {})
    return f"{gate.get('metric')} = {gate.get('value')} against a threshold of {gate.get('threshold')}"


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
