"""Unit tests of every rule of hooks/pre_gen_project.py, called directly."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from template import ANSWER_FIELDS, COOKIECUTTER_JSON, HOOKS_DIR, answers

ERROR_LINE = re.compile(r"^ERROR: (?P<field>\w+)=(?P<value>.+) is not valid: (?P<allowed>.+)$")
ROLE = "arn:aws:iam::123456789012:role/"


def assert_error(error: str | None, field: str) -> None:
    assert error is not None
    match = ERROR_LINE.match(error)
    assert match, error
    assert match["field"] == field
    assert "\n" not in error


class RecordingAnswers(dict):
    """Answers that remember which fields were read."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def test_default_answers_are_valid(pre_gen) -> None:
    assert pre_gen.validate(answers()) == []


def test_validate_reads_every_answer(pre_gen) -> None:
    recorded = RecordingAnswers(answers())
    pre_gen.validate(recorded)
    assert recorded.read == set(ANSWER_FIELDS)


def test_bad_formats_the_one_line_error(pre_gen) -> None:
    error = pre_gen.bad("aws_region", "mars-1", "a real region")
    assert error == "ERROR: aws_region='mars-1' is not valid: a real region"


def test_bad_keeps_a_multiline_value_on_one_line(pre_gen) -> None:
    assert_error(pre_gen.bad("description", "two\nlines", "one line"), "description")


@pytest.mark.parametrize("value", ["Ancillary Propensity", "Bag & Seat: Upsell #2", "O'Brien", "Café (Paris)"])
def test_check_text_accepts(pre_gen, value) -> None:
    assert pre_gen.check_text("project_name", value) is None


@pytest.mark.parametrize("value", ["", "  ", 'say "hi"', "back\\slash", "two\nlines", "cr\rhere", "{x}", "50%"])
def test_check_text_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_text("author_name", value), "author_name")


@pytest.mark.parametrize("value", ["ancillary-propensity", "churn2", "a", "a" * 40, "a1-b2-c3"])
def test_check_slug_accepts(pre_gen, value) -> None:
    assert pre_gen.check_slug(value) is None


@pytest.mark.parametrize("value", ["", "Churn", "2churn", "churn--model", "churn-", "-churn", "churn_model", "a" * 41])
def test_check_slug_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_slug(value), "project_slug")


@pytest.mark.parametrize("value", ["ancillary_propensity", "churn2", "_internal", "a"])
def test_check_package_name_accepts(pre_gen, value) -> None:
    assert pre_gen.check_package_name(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "class",
        "None",
        "json",
        "typing",
        "logging",
        "pandas",
        "sklearn",
        "Churn",
        "churn-model",
        "2churn",
        "café",
        "a b",
    ],
)
def test_check_package_name_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_package_name(value), "package_name")


@pytest.mark.parametrize("value", ["data-science@example.com", "a.b+c@mail.example.co.uk"])
def test_check_email_accepts(pre_gen, value) -> None:
    assert pre_gen.check_email(value) is None


@pytest.mark.parametrize("value", ["", "data-science", "a@b", "a b@example.com", "a@@example.com", 'a"b@example.com'])
def test_check_email_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_email(value), "author_email")


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("us-east-1", "aws"),
        ("ap-southeast-5", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
    ],
)
def test_region_partition(pre_gen, region, partition) -> None:
    assert pre_gen.check_region(region) is None
    assert pre_gen.region_partition(region) == partition


@pytest.mark.parametrize(
    "value", ["", "eu-west", "euwest1", "EU-WEST-1", "europe-west1", "eu-west-123", "us-iso-east-1", "us-isob-east-1"]
)
def test_check_region_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_region(value), "aws_region")


@pytest.mark.parametrize("value", ["abc", "a" * 63, "my.bucket-1", "ancillary-propensity-develop", "1bucket", "1.2.3"])
def test_check_bucket_accepts(pre_gen, value) -> None:
    assert pre_gen.check_bucket("develop_s3_bucket", value) is None


@pytest.mark.parametrize(
    "value",
    [
        "ab",
        "a" * 64,
        "Bucket",
        "bucket_name",
        "-bucket",
        "bucket-",
        ".bucket",
        "bucket..name",
        "bucket.-name",
        "bucket-.name",
        "192.168.5.4",
        "999.1.1.1",
        "xn--bucket",
        "sthree-bucket",
        "sthree-configurator",
        "amzn-s3-demo-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--x-s3",
        "bucket--table-s3",
    ],
)
def test_check_bucket_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_bucket("production_s3_bucket", value), "production_s3_bucket")


def test_check_buckets_differ(pre_gen) -> None:
    assert pre_gen.check_buckets_differ("a-develop", "a-production") is None
    assert_error(pre_gen.check_buckets_differ("same", "same"), "production_s3_bucket")


@pytest.mark.parametrize(
    ("value", "region"),
    [
        (ROLE + "sagemaker", "eu-west-1"),
        (ROLE + "service-role/team/sagemaker", "eu-west-1"),
        (ROLE + "a+b=c,d.e@f_g-h", "eu-west-1"),
        (ROLE + "a" * 64, "eu-west-1"),
        ("arn:aws-cn:iam::123456789012:role/sagemaker", "cn-north-1"),
        ("arn:aws-us-gov:iam::123456789012:role/sagemaker", "us-gov-west-1"),
    ],
)
def test_check_role_arn_accepts(pre_gen, value, region) -> None:
    assert pre_gen.check_role_arn("develop_role_arn", value, region) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sagemaker",
        "arn:aws:iam::12345678901:role/sagemaker",
        "arn:aws:iam::1234567890123:role/sagemaker",
        "arn:aws:iam::12345678901a:role/sagemaker",
        "arn:aws:iam::123456789012:sagemaker",
        "arn:aws:iam::123456789012:user/sagemaker",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/" + "a" * 65,
        "arn:aws:iam::123456789012:role/rôle",
        "arn:aws:iam::123456789012:role/with space",
        "arn:aws:sts::123456789012:role/sagemaker",
        "arn:aws-iso:iam::123456789012:role/sagemaker",
    ],
)
def test_check_role_arn_refuses_shape(pre_gen, value) -> None:
    assert_error(pre_gen.check_role_arn("production_role_arn", value, "eu-west-1"), "production_role_arn")


@pytest.mark.parametrize(
    ("partition", "region", "expected"),
    [("aws-cn", "eu-west-1", "aws"), ("aws", "cn-north-1", "aws-cn"), ("aws", "us-gov-west-1", "aws-us-gov")],
)
def test_check_role_arn_refuses_another_partition(pre_gen, partition, region, expected) -> None:
    error = pre_gen.check_role_arn("develop_role_arn", f"arn:{partition}:iam::123456789012:role/x", region)
    assert_error(error, "develop_role_arn")
    assert f"partition {expected!r}" in error


@pytest.mark.parametrize("value", ["ancillary-propensity", "teams/revenue/bag_seat", "a", "x!_.*'()-y"])
def test_check_s3_prefix_accepts(pre_gen, value) -> None:
    assert pre_gen.check_s3_prefix(value) is None


@pytest.mark.parametrize("value", ["", "/a", "a/", "a//b", "a b", "a\\b", "a" * 201, "a?b"])
def test_check_s3_prefix_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_s3_prefix(value), "s3_prefix")


@pytest.mark.parametrize("value", ["ancillary-propensity", "BagSeat2", "a", "a--b", "a" * 52])
def test_check_pipeline_name_accepts(pre_gen, value) -> None:
    assert pre_gen.check_pipeline_name(value) is None


@pytest.mark.parametrize("value", ["", "-a", "a-", "a_b", "a.b", "a b", "a" * 53])
def test_check_pipeline_name_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_pipeline_name(value), "pipeline_name")


def test_longest_pipeline_name_fits_a_model_package_group(pre_gen) -> None:
    """SageMaker caps Model Package Group names at 63 characters; the hook leaves room for -production."""
    assert len("a" * pre_gen.PIPELINE_NAME_MAX_LENGTH + "-production") == 63


@pytest.mark.parametrize(
    "value", ["ml.m5.xlarge", "ml.m5.24xlarge", "ml.c5.2xlarge", "ml.p4d.24xlarge", "ml.t3.medium", "ml.trn1n.32xlarge"]
)
def test_check_instance_type_accepts(pre_gen, value) -> None:
    assert pre_gen.check_instance_type("training_instance_type", value) is None


@pytest.mark.parametrize(
    "value", ["", "m5.xlarge", "ml.m5", "ml..xlarge", "ml.m5.huge", "ML.M5.XLARGE", "ml.m5.xlarge "]
)
def test_check_instance_type_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_instance_type("processing_instance_type", value), "processing_instance_type")


def test_check_framework_version(pre_gen) -> None:
    offered, supported = ("1.0", "2.0"), ("2.0",)
    assert pre_gen.check_framework_version("spark_framework_version", "2.0", offered, supported) is None
    not_supported = pre_gen.check_framework_version("spark_framework_version", "1.0", offered, supported)
    assert_error(not_supported, "spark_framework_version")
    assert "offered by SageMaker, but" in not_supported
    not_offered = pre_gen.check_framework_version("spark_framework_version", "3.0", offered, supported)
    assert_error(not_offered, "spark_framework_version")
    assert "a version SageMaker offers: 1.0, 2.0" in not_offered


@pytest.mark.parametrize("field", ["production_deploy", "model_registry", "license", "starter", "task"])
def test_check_choice(pre_gen, field) -> None:
    for value in COOKIECUTTER_JSON[field]:
        assert pre_gen.check_choice(field, value) is None
    assert_error(pre_gen.check_choice(field, "other"), field)


@pytest.mark.parametrize(
    ("starter", "task"),
    [
        ("airline-bags", "binary"),
        ("single-table", "binary"),
        ("single-table", "multiclass"),
        ("single-table", "regression"),
        # Not a choice: check_choice reports these, once.
        ("airline-bags", "ranking"),
        ("two-tables", "multiclass"),
    ],
)
def test_check_starter_task_accepts(pre_gen, starter, task) -> None:
    assert pre_gen.check_starter_task(starter, task) is None


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_check_starter_task_refuses_the_airline_example_for_another_task(pre_gen, task) -> None:
    error = pre_gen.check_starter_task("airline-bags", task)
    assert_error(error, "task")
    # Both answers and both ways out, on the one line.
    assert "starter=airline-bags" in error
    assert "answer task=binary" in error
    assert f"starter=single-table for a {task} model" in error


def test_choices_equal_cookiecutter_json(pre_gen) -> None:
    lists = {field: tuple(value) for field, value in COOKIECUTTER_JSON.items() if isinstance(value, list)}
    assert lists == pre_gen.CHOICES


@pytest.mark.parametrize("value", ["https://gitlab.com", "https://gitlab.example.com:8443/git", "https://git.example"])
def test_check_gitlab_url_accepts(pre_gen, value) -> None:
    assert pre_gen.check_gitlab_url(value) is None


@pytest.mark.parametrize("value", ["", "http://gitlab.com", "https://gitlab.com/", "gitlab.com", "https://Git Lab"])
def test_check_gitlab_url_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_gitlab_url(value), "gitlab_url")


@pytest.mark.parametrize("value", ["data-science/churn", "a/b/c", "Team_1/proj.x"])
def test_check_gitlab_project_path_accepts(pre_gen, value) -> None:
    assert pre_gen.check_gitlab_project_path(value) is None


@pytest.mark.parametrize("value", ["", "churn", "/churn", "team/", "team//churn", "team/my churn"])
def test_check_gitlab_project_path_refuses(pre_gen, value) -> None:
    assert_error(pre_gen.check_gitlab_project_path(value), "gitlab_project_path")


# (rule, arguments before the value, a valid value, arguments after it, field named in the error)
ONE_LINE_RULES = [
    ("check_slug", (), "ancillary-propensity", (), "project_slug"),
    ("check_package_name", (), "ancillary_propensity", (), "package_name"),
    ("check_email", (), "team@example.com", (), "author_email"),
    ("check_region", (), "eu-west-1", (), "aws_region"),
    ("check_bucket", ("develop_s3_bucket",), "ancillary-develop", (), "develop_s3_bucket"),
    ("check_role_arn", ("develop_role_arn",), ROLE + "x", ("eu-west-1",), "develop_role_arn"),
    ("check_s3_prefix", (), "ancillary", (), "s3_prefix"),
    ("check_pipeline_name", (), "ancillary", (), "pipeline_name"),
    ("check_instance_type", ("training_instance_type",), "ml.m5.xlarge", (), "training_instance_type"),
    ("check_gitlab_url", (), "https://gitlab.com", (), "gitlab_url"),
    ("check_gitlab_project_path", (), "data-science/churn", (), "gitlab_project_path"),
]


@pytest.mark.parametrize(
    ("rule", "before", "value", "after", "field"), ONE_LINE_RULES, ids=[r[0] for r in ONE_LINE_RULES]
)
def test_rules_refuse_a_trailing_line_break(pre_gen, rule, before, value, after, field) -> None:
    """A value from a replay file or --no-input key=value can end in a line break."""
    check = getattr(pre_gen, rule)
    assert check(*before, value, *after) is None
    assert_error(check(*before, value + "\n", *after), field)


def sdk_image_config(name: str) -> dict:
    """An image_uri_config file of the installed SageMaker SDK, read without importing the SDK."""
    spec = importlib.util.find_spec("sagemaker.core")
    assert spec is not None, "the SageMaker SDK is not installed"
    assert spec.submodule_search_locations
    for location in spec.submodule_search_locations:
        path = Path(location) / "image_uri_config" / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text())
    raise AssertionError(f"image_uri_config/{name}.json not found in {spec.submodule_search_locations}")


def test_sklearn_versions_equal_the_sdk_ones(pre_gen) -> None:
    """The hook offers the scikit-learn images that exist for both training and inference."""
    config = sdk_image_config("sklearn")
    both = set(config["training"]["versions"]) & set(config["inference"]["versions"])
    assert sorted(pre_gen.SAGEMAKER_SKLEARN_VERSIONS) == sorted(both)


def test_spark_versions_equal_the_sdk_ones(pre_gen) -> None:
    config = sdk_image_config("spark")
    assert sorted(pre_gen.SAGEMAKER_SPARK_VERSIONS) == sorted(config["processing"]["versions"])


def test_supported_versions_are_offered_and_the_defaults(pre_gen) -> None:
    assert set(pre_gen.SUPPORTED_SKLEARN_VERSIONS) <= set(pre_gen.SAGEMAKER_SKLEARN_VERSIONS)
    assert set(pre_gen.SUPPORTED_SPARK_VERSIONS) <= set(pre_gen.SAGEMAKER_SPARK_VERSIONS)
    assert COOKIECUTTER_JSON["sklearn_framework_version"] in pre_gen.SUPPORTED_SKLEARN_VERSIONS
    assert COOKIECUTTER_JSON["spark_framework_version"] in pre_gen.SUPPORTED_SPARK_VERSIONS


def test_main_accepts_valid_answers_silently(pre_gen, monkeypatch, capsys) -> None:
    monkeypatch.setattr(pre_gen, "RENDERED_ANSWERS", json.dumps(answers()))
    assert pre_gen.main() == 0
    assert capsys.readouterr() == ("", "")


def test_main_prints_one_line_per_bad_answer_and_fails(pre_gen, monkeypatch, capsys) -> None:
    bad = {**answers(), "aws_region": "mars-1", "license": "GPL"}
    monkeypatch.setattr(pre_gen, "RENDERED_ANSWERS", json.dumps(bad))
    assert pre_gen.main() == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    # An unknown region counts as partition aws, so the default aws role ARNs add no lines.
    assert [ERROR_LINE.match(line)["field"] for line in lines] == ["aws_region", "license"]


def test_hook_source_holds_no_jinja_but_the_answers() -> None:
    """cookiecutter renders hooks with Jinja: any other {{, {% or {# would be rendered too."""
    source = (HOOKS_DIR / "pre_gen_project.py").read_text() + (HOOKS_DIR / "post_gen_project.py").read_text()
    assert re.findall(r"\{[{%#].*", source) == ['{{ cookiecutter | jsonify }}"""'] * 2
