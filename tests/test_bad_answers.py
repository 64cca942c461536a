"""Each bad answer stops generation in the pre-generation hook with one line naming the
field, and leaves no output directory behind.

Every row changes one answer of the defaults (answers derived from it, such as the
package name from the slug, follow unless the row sets them). Choice answers cannot be
given wrongly on the command line (cookiecutter itself refuses them), so those rows
arrive the other way a wrong choice can: an edited replay file.
"""

from __future__ import annotations

import re

import pytest

from template import ANSWER_FIELDS, answers

ERROR_LINE = re.compile(r"^ERROR: (?P<field>\w+)=(?P<value>.+) is not valid: (?P<allowed>.+)$")
ARN = "arn:aws:iam::123456789012:role/"

# (field, bad value, what is wrong)
BAD_ANSWERS = [
    ("project_name", 'Bag "Propensity"', "double quote"),
    ("description", "   ", "blank"),
    ("description", 'The "best" bag model', "double quote"),
    ("description", "Predicts bags\\n for airlines", "backslash"),
    ("description", "Predicts bags\nfor airlines", "line break"),
    ("author_name", "Data {Science}", "braces"),
    ("author_name", "100% data", "percent sign"),
    ("author_email", "data-science", "no @"),
    ("author_email", "data science@example.com", "space"),
    ("author_email", "team@example", "no domain dot"),
    ("project_slug", "Ancillary-Propensity", "uppercase"),
    ("project_slug", "2-propensity", "starts with a digit"),
    ("project_slug", "ancillary--propensity", "double hyphen"),
    ("project_slug", "ancillary_propensity", "underscore"),
    ("project_slug", "a" * 41, "longer than 40"),
    ("package_name", "class", "Python keyword"),
    ("package_name", "json", "standard-library module"),
    ("package_name", "typing", "standard-library module"),
    ("package_name", "Ancillary", "uppercase"),
    ("package_name", "ancillary-propensity", "hyphen"),
    ("package_name", "2ancillary", "starts with a digit"),
    ("package_name", "propensité", "not ASCII"),
    ("package_name", "pandas", "shadows a dependency"),
    ("aws_region", "europe-west1", "not an AWS region code"),
    ("aws_region", "EU-WEST-1", "uppercase"),
    ("aws_region", "us-iso-east-1", "isolated partition"),
    ("develop_s3_bucket", "192.168.5.4", "IP address form"),
    ("develop_s3_bucket", "xn--ancillary", "reserved prefix xn--"),
    ("develop_s3_bucket", "sthree-ancillary", "reserved prefix sthree-"),
    ("develop_s3_bucket", "ancillary-develop-s3alias", "reserved suffix -s3alias"),
    ("develop_s3_bucket", "ab", "shorter than 3"),
    ("develop_s3_bucket", "ancillary..develop", "adjacent dots"),
    ("production_s3_bucket", "Ancillary-Production", "uppercase"),
    ("production_s3_bucket", "a" * 64, "longer than 63"),
    ("production_s3_bucket", "ancillary-production--ol-s3", "reserved suffix --ol-s3"),
    ("production_s3_bucket", "ancillary_production", "underscore"),
    ("production_s3_bucket", "-ancillary-production", "starts with a hyphen"),
    ("production_s3_bucket", "ancillary-propensity-develop", "same bucket as develop"),
    ("develop_role_arn", "arn:aws-cn:iam::123456789012:role/ancillary", "partition of another region"),
    ("develop_role_arn", "arn:aws:iam::12345678901:role/ancillary", "11-digit account"),
    ("develop_role_arn", "arn:aws:iam::123456789012:ancillary", "missing role/"),
    ("develop_role_arn", "arn:aws:iam::123456789012:user/ancillary", "a user, not a role"),
    ("production_role_arn", "arn:aws-us-gov:iam::123456789012:role/ancillary", "partition of another region"),
    ("production_role_arn", "arn:aws:iam::1234567890123:role/ancillary", "13-digit account"),
    ("production_role_arn", ARN, "empty role name"),
    ("production_role_arn", ARN + "a" * 65, "role name longer than 64"),
    ("production_role_arn", "arn:aws:sts::123456789012:role/ancillary", "not an IAM ARN"),
    ("s3_prefix", "/ancillary", "leading slash"),
    ("s3_prefix", "ancillary/", "trailing slash"),
    ("s3_prefix", "ancillary//propensity", "empty segment"),
    ("s3_prefix", "ancillary propensity", "space"),
    ("pipeline_name", "ancillary_propensity", "underscore"),
    ("pipeline_name", "-ancillary", "starts with a hyphen"),
    ("pipeline_name", "a" * 53, "too long for <name>-production as a model package group"),
    ("processing_instance_type", "m5.xlarge", "missing ml. prefix"),
    ("processing_instance_type", "ml.m5", "missing size"),
    ("training_instance_type", "ml.m5.huge", "unknown size"),
    ("training_instance_type", "ML.M5.XLARGE", "uppercase"),
    ("sklearn_framework_version", "1.2-1", "offered by SageMaker but not supported"),
    ("sklearn_framework_version", "1.4-2", "training-only image, no inference image"),
    ("sklearn_framework_version", "1.5-1", "not offered"),
    ("spark_framework_version", "3.3", "offered by SageMaker but not supported"),
    ("spark_framework_version", "4.0", "not offered"),
    ("gitlab_url", "http://gitlab.com", "not https"),
    ("gitlab_url", "https://gitlab.com/", "trailing slash"),
    ("gitlab_url", "gitlab.com", "no scheme"),
    ("gitlab_project_path", "ancillary-propensity", "no group"),
    ("gitlab_project_path", "data science/ancillary", "space"),
    ("gitlab_project_path", "data-science/", "trailing slash"),
    # Valid choices, so cookiecutter passes them; the default starter is the airline example.
    ("task", "multiclass", "airline-bags is binary only"),
    ("task", "regression", "airline-bags is binary only"),
]
BAD_CHOICES = [
    ("production_deploy", "sometimes", "not a choice"),
    ("model_registry", "maybe", "not a choice"),
    ("license", "GPL-3.0", "not a choice"),
    ("license", "mit", "wrong case"),
    ("starter", "two-tables", "not a choice"),
    ("task", "ranking", "not a choice"),
]


def row_id(row: tuple[str, str, str]) -> str:
    field, _, reason = row
    return f"{field}: {reason}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR: ")]


def assert_names_field(stderr: str, field: str) -> None:
    lines = error_lines(stderr)
    assert lines, f"no error line in:\n{stderr}"
    assert all(ERROR_LINE.match(line) for line in lines), lines
    assert field in {ERROR_LINE.match(line)["field"] for line in lines}, lines


def test_table_covers_every_answer_the_hook_validates() -> None:
    """Every question except the derived ones is exercised (derived ones are rows too)."""
    covered = {field for field, _, _ in BAD_ANSWERS + BAD_CHOICES}
    assert covered == set(ANSWER_FIELDS)


@pytest.mark.parametrize("row", BAD_ANSWERS, ids=row_id)
def test_bad_answer_is_refused(row, refused) -> None:
    field, value, _ = row
    stderr = refused({field: value})
    assert_names_field(stderr, field)


@pytest.mark.parametrize("row", BAD_CHOICES, ids=row_id)
def test_bad_choice_in_a_replay_file_is_refused(row, refused) -> None:
    field, value, _ = row
    stderr = refused({**answers(), field: value}, replay=True)
    assert_names_field(stderr, field)
    assert len(error_lines(stderr)) == 1


def test_a_task_the_starter_cannot_do_names_both_answers_and_the_fix(refused) -> None:
    stderr = refused({"starter": "airline-bags", "task": "regression"})
    (line,) = error_lines(stderr)
    match = ERROR_LINE.match(line)
    assert (match["field"], match["value"]) == ("task", "'regression'")
    assert "starter=airline-bags" in match["allowed"]
    assert "task=binary" in match["allowed"]
    assert "starter=single-table" in match["allowed"]


def test_each_bad_answer_prints_one_line_per_bad_field(refused) -> None:
    """Independent mistakes are all reported at once, one line each."""
    stderr = refused({"author_email": "nobody", "s3_prefix": "/x", "training_instance_type": "big"})
    fields = [ERROR_LINE.match(line)["field"] for line in error_lines(stderr)]
    assert fields == ["author_email", "s3_prefix", "training_instance_type"]
