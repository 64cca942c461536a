"""The SageMaker images the jobs run on, looked up from the versions in the configuration."""

from __future__ import annotations

import functools
from typing import Literal

from sagemaker.core import image_uris

from {{ cookiecutter.package_name }}.config import EnvironmentConfig

from pipeline_errors import PipelineError


def sklearn_image(config: EnvironmentConfig, scope: Literal["training", "inference"], instance_type: str) -> str:
    """The scikit-learn image: ``training`` scope for processing and training jobs, ``inference`` for serving."""
    version = config.images.sklearn_framework_version
    return lookup(
        f"images.sklearn_framework_version {version!r}",
        framework="sklearn",
        version=version,
        image_scope=scope,
        instance_type=instance_type,
        region=config.region,
    )


def spark_image(config: EnvironmentConfig) -> str:
    images = config.images
    return lookup(
        f"images.spark_framework_version {images.spark_framework_version!r} with {images.spark_py_version}",
        framework="spark",
        version=images.spark_framework_version,
        py_version=images.spark_py_version,
        container_version=images.spark_container_version,
        instance_type=config.etl.instance_type,
        region=config.region,
    )


def lookup(setting: str, **arguments: str) -> str:
    try:
        return retrieve(**arguments)
    except ValueError as error:
        raise PipelineError(f"{setting}: no SageMaker image matches ({' '.join(str(error).split())})") from None


# Every processing step asks for the same image, and each SDK lookup reads botocore's
# endpoint data afresh (about 0.2 s): remember the answers for the life of the process.
@functools.cache
def retrieve(**arguments: str) -> str:
    return image_uris.retrieve(**arguments)
