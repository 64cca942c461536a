"""Option combinations the template is rendered with, generated rather than listed.

A combination picks one value per dimension: every choice question of
cookiecutter.json plus three free-text dimensions that interact across fields
(the region's AWS partition, the partition of the role ARNs, whether the two
environments share a bucket). ``itertools.product`` over the dimensions gives
every combination; ``is_valid`` is the test suite's own statement of which ones
the pre-generation hook must accept.

- ``VALID``: every valid combination (all dimensions).
- ``RENDERED``: the valid combinations the tests render: every choice combination (with
  the default free-text answers) and every free-text combination of the deployment
  choices (with the default data answers). The free-text answers only change names,
  accounts and partitions, which the data answers (``starter``, ``task``) never touch,
  so the full product would render the same files again for every starter and task.
- ``REFUSED``: every invalid combination of the free-text dimensions, with the default
  choices, and every refused pair of data answers, with the default free text: a
  refusal repeated once per other answer would only repeat the same error line.
- ``MOST_DIFFERENT``: per starter, the valid combination furthest from the defaults, with
  every free-text answer changed too; their generated test suites are run in full.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from template import COOKIECUTTER_JSON

# Each region is paired with the partition its ARNs must use (the tests' own oracle,
# independent of the hook's rule).
REGION_PARTITIONS = {"eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}
ROLE_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
BUCKET_LAYOUTS = ("separate", "shared")
# The tests' own oracle of which tasks a starter's example data fits (unlisted: any task).
STARTER_TASKS = {"airline-bags": ("binary",)}
DATA_DIMENSIONS = ("starter", "task")

CHOICE_DIMENSIONS = {field: tuple(values) for field, values in COOKIECUTTER_JSON.items() if isinstance(values, list)}
FREE_TEXT_DIMENSIONS = {
    "aws_region": tuple(REGION_PARTITIONS),
    "role_partition": ROLE_PARTITIONS,
    "bucket_layout": BUCKET_LAYOUTS,
}
DIMENSIONS = {**CHOICE_DIMENSIONS, **FREE_TEXT_DIMENSIONS}
DEFAULTS = {dimension: values[0] for dimension, values in DIMENSIONS.items()}
DATA_CHOICES = {dimension: DIMENSIONS[dimension] for dimension in DATA_DIMENSIONS}

# Answers the "most different" project changes on top of its combination: names
# with punctuation the hook allows, another account, a nested prefix, a self-hosted GitLab.
MOST_DIFFERENT_TEXT = {
    "project_name": "Bag & Seat: Upsell #2",
    "description": "Scores O'Hare bookings: bags & seats (#1 use case).",
    "author_name": "O'Brien & Co.",
    "author_email": "ml-team+bags@airline.example",
    "develop_s3_bucket": "ml.bags-dev-210987654321",
    "production_s3_bucket": "ml.bags-prod-210987654321",
    "s3_prefix": "teams/revenue/bag_seat",
    "pipeline_name": "BagSeatUpsell",
    "processing_instance_type": "ml.c5.2xlarge",
    "training_instance_type": "ml.m5.4xlarge",
    "gitlab_url": "https://gitlab.airline.example",
    "gitlab_project_path": "revenue/ml/bag-seat-upsell",
}
DEFAULT_ACCOUNT = "123456789012"
MOST_DIFFERENT_ACCOUNT = "210987654321"


@dataclass
class Combination:
    id: str
    values: dict[str, str]  # one value per dimension
    overrides: dict[str, str]  # the answers given to cookiecutter; the others keep their defaults


def make_combination(
    values: dict[str, str], text: dict[str, str] | None = None, case_id: str | None = None
) -> Combination:
    """Turn dimension values into cookiecutter answers (Jinja references keep derived answers derived)."""
    text = text or {}
    account = MOST_DIFFERENT_ACCOUNT if text else DEFAULT_ACCOUNT
    role = "arn:" + values["role_partition"] + ":iam::" + account + ":role/{{ cookiecutter.project_slug }}-sagemaker"
    develop_bucket = text.get("develop_s3_bucket", "{{ cookiecutter.project_slug }}-develop")
    production_bucket = text.get("production_s3_bucket", "{{ cookiecutter.project_slug }}-production")
    overrides = {
        **text,
        **{field: values[field] for field in CHOICE_DIMENSIONS},
        "aws_region": values["aws_region"],
        "develop_role_arn": f"{role}-develop",
        "production_role_arn": f"{role}-production",
        "develop_s3_bucket": develop_bucket,
        "production_s3_bucket": develop_bucket if values["bucket_layout"] == "shared" else production_bucket,
    }
    case_id = case_id or "-".join(values[dimension] for dimension in DIMENSIONS)
    return Combination(id=case_id, values=values, overrides=overrides)


def free_text_is_valid(values: dict[str, str]) -> bool:
    """Role ARNs must live in the region's partition; the environments must not share a bucket."""
    return REGION_PARTITIONS[values["aws_region"]] == values["role_partition"] and values["bucket_layout"] != "shared"


def data_is_valid(values: dict[str, str]) -> bool:
    """The starter's example data must fit the task."""
    return values["task"] in STARTER_TASKS.get(values["starter"], DIMENSIONS["task"])


def is_valid(values: dict[str, str]) -> bool:
    return free_text_is_valid(values) and data_is_valid(values)


def product(dimensions: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    """Every combination of the given dimensions, the other dimensions at their defaults."""
    names = list(dimensions)
    return [{**DEFAULTS, **dict(zip(names, picked, strict=True))} for picked in itertools.product(*dimensions.values())]


def distance_from_defaults(values: dict[str, str]) -> int:
    return sum(values[dimension] != DEFAULTS[dimension] for dimension in DIMENSIONS)


def at_defaults(values: dict[str, str], dimensions: Iterable[str]) -> bool:
    return all(values[dimension] == DEFAULTS[dimension] for dimension in dimensions)


def most_different(starter: str) -> Combination:
    """The valid combination of this starter furthest from the defaults, every free-text answer changed.

    Among equally distant combinations the last one wins: choices list the usual answer first.
    """
    candidates = [valid for valid in reversed(VALID) if valid.values["starter"] == starter]
    values = max(candidates, key=lambda valid: distance_from_defaults(valid.values)).values
    return make_combination(values, MOST_DIFFERENT_TEXT, case_id=f"most-different-{starter}")


VALID = [make_combination(values) for values in product(DIMENSIONS) if is_valid(values)]
RENDERED = [
    valid
    for valid in VALID
    if at_defaults(valid.values, FREE_TEXT_DIMENSIONS) or at_defaults(valid.values, DATA_DIMENSIONS)
]
REFUSED = [
    *(make_combination(values) for values in product(FREE_TEXT_DIMENSIONS) if not free_text_is_valid(values)),
    *(make_combination(values) for values in product(DATA_CHOICES) if not data_is_valid(values)),
]
DEFAULT = next(valid for valid in VALID if valid.values == DEFAULTS)
MOST_DIFFERENT = [most_different(starter) for starter in DIMENSIONS["starter"]]
