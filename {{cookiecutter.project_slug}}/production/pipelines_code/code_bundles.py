"""The code each job runs, uploaded to S3 under keys named by the hash of its bytes.

Every upload lands at ``s3://<bucket>/<prefix>/<pipeline>/code/<sha256>/<file>``:

* the Spark ETL gets its script and ``<package>.zip`` (``spark-submit --py-files``) as files;
* every script on the scikit-learn image - the steps' and the serving script the registered
  model runs - gets a ``sourcedir.tar.gz`` of the directory
  ``<package>.packaging.stage_step_source`` stages (script, ``requirements.txt``, package).

Because a key changes exactly when the bytes do, two builds from the same sources give the
same definition, a changed script changes only the steps that ship it, and an execution that
is already running keeps reading the code it started with. (The SDK would upload the same
files under time-stamped or path-dependent keys.)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }} import packaging
from {{ cookiecutter.package_name }}.config import EnvironmentConfig
from {{ cookiecutter.package_name }}.pipeline_spec import PIPELINE

from pipeline_errors import PipelineError, http_status

CODE_DIR = Path(__file__).resolve().parents[1] / "code"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
# model_fn, input_fn, predict_fn and output_fn for the scikit-learn serving container.
SERVING_SCRIPT = "inference.py"


@dataclass(frozen=True)
class ShippedCode:
    """S3 URIs of the uploaded code, by the step script that needs it."""

    spark_scripts: dict[str, str]
    package_zip: str
    source_archives: dict[str, str]


def code_root(config: EnvironmentConfig) -> str:
    return f"s3://{config.storage.bucket}/{config.storage.prefix}/{config.pipeline_name}/code"


def ship_step_code(s3_client, config: EnvironmentConfig) -> ShippedCode:
    """Stage, archive and upload the code of every step, and the serving code; return where it went."""
    uploader = ContentAddressedUploader(s3_client, code_root(config))
    spark_scripts = sorted({step.script for step in PIPELINE.steps if step.kind == "spark"})
    sklearn_scripts = sorted({step.script for step in PIPELINE.steps if step.kind != "spark"} | {SERVING_SCRIPT})
    with tempfile.TemporaryDirectory(prefix="pipeline-code-") as scratch:
        scratch_dir = Path(scratch)
        package_zip = packaging.build_package(scratch_dir / "dist")
        return ShippedCode(
            spark_scripts={
                script: uploader.upload(script, read_step_file(CODE_DIR / script)) for script in spark_scripts
            },
            package_zip=uploader.upload(package_zip.name, package_zip.read_bytes()),
            source_archives={
                script: uploader.upload(SOURCE_ARCHIVE, tar_gz(stage(script, scratch_dir / "staged" / script)))
                for script in sklearn_scripts
            },
        )


def read_step_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: step script not found") from None


def stage(script: str, destination: Path) -> Path:
    try:
        return packaging.stage_step_source(script, destination)
    except FileNotFoundError as error:
        raise PipelineError(str(error)) from None


def tar_gz(directory: Path) -> bytes:
    """A gzipped tar of ``directory``'s contents that depends on nothing but their names and bytes."""
    buffer = io.BytesIO()
    # mtime=0 and no file name keep the gzip header free of the build time and place.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        for path in sorted(directory.rglob("*"), key=lambda item: item.relative_to(directory).as_posix()):
            archive.addfile(*tar_entry(path, directory))
    return buffer.getvalue()


def tar_entry(path: Path, root: Path) -> tuple[tarfile.TarInfo, io.BytesIO | None]:
    entry = tarfile.TarInfo(path.relative_to(root).as_posix())
    entry.mtime = 0
    if path.is_dir():
        entry.type, entry.mode = tarfile.DIRTYPE, 0o755
        return entry, None
    content = path.read_bytes()
    entry.mode, entry.size = 0o644, len(content)
    return entry, io.BytesIO(content)


class ContentAddressedUploader:
    """Puts bytes at ``<root>/<sha256 of the bytes>/<name>``, skipping objects already there."""

    def __init__(self, s3_client, root: str):
        self.s3 = s3_client
        self.bucket, _, self.prefix = root.removeprefix("s3://").partition("/")

    def upload(self, name: str, content: bytes) -> str:
        key = f"{self.prefix}/{hashlib.sha256(content).hexdigest()}/{name}"
        if not self.exists(key):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=content)
        return f"s3://{self.bucket}/{key}"

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if http_status(error) == 404:
                return False
            raise
        return True
