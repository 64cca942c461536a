"""Schedules as configuration: expressions checked at load, next runs, and deploy's reconcile against moto.

Credentials exist only inside ``mock_aws()``, which sets moto's fake ones itself.
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from moto import mock_aws

from {{ cookiecutter.package_name }} import config as configuration
from {{ cookiecutter.package_name }}.schedule_expressions import ExpressionError, check_expression, next_run

import schedules

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # a Thursday
PIPELINE_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/tests"
NIGHTLY = {
    "name": "nightly-predict",
    "expression": "cron(0 4 * * ? *)",
    "timezone": "Europe/Amsterdam",
    "use_type": "predict",
}
WEEKLY = {"name": "weekly-train", "expression": "rate(7 days)", "use_type": "train", "parameters": {"MaxDepth": 8}}


def load_error(config_with, schedule_list: list[dict]) -> str:
    with pytest.raises(configuration.ConfigError) as error:
        config_with(schedules=schedule_list)
    return str(error.value)


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 4 * * ? *)",
        "cron(30 6 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 2027-2030)",
        "cron(0 0 L * ? *)",
        "rate(1 day)",
        "rate(15 minutes)",
        "at(2027-01-31T09:00:00)",
    ],
)
def test_expressions_eventbridge_accepts_pass(expression):
    check_expression(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 4 * * ?)", "a cron needs 6 fields"),
        ("cron(0 4 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 4 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 25 * * ? *)", "hour"),
        ("cron(0 4 ? * 8 *)", "day-of-week 8: use 1-7 (1 = Sunday)"),
        ("cron(0 4 * * ? 1900)", "use years 1970-2199"),
        ("rate(1 days)", "write rate(1 day)"),
        ("rate(2 hour)", "write rate(2 hours)"),
        ("rate(0 minutes)", "at least 1"),
        ("at(2027-02-30T09:00:00)", "is not a date and time"),
        ("0 4 * * *", "write cron(...), rate(...) or at(...)"),
    ],
)
def test_expressions_eventbridge_refuses_are_named_with_the_fix(expression, message):
    with pytest.raises(ExpressionError) as error:
        check_expression(expression)
    assert message in str(error.value)
    assert expression in str(error.value)


def test_a_cron_fires_next_at_its_hour_in_its_timezone():
    upcoming = next_run("cron(0 4 * * ? *)", "Europe/Amsterdam", NOW)
    assert upcoming.isoformat() == "2026-12-04T04:00:00+01:00"


def test_day_of_week_numbers_count_sunday_as_one_like_aws():
    # 2 is Monday in AWS's numbering: the first Monday after Thursday 3 December is the 7th.
    assert next_run("cron(0 9 ? * 2 *)", "UTC", NOW) == datetime.datetime(2026, 12, 7, 9, tzinfo=UTC)
    # 1#2: the second Sunday of the month.
    assert next_run("cron(0 9 ? * 1#2 *)", "UTC", NOW) == datetime.datetime(2026, 12, 13, 9, tzinfo=UTC)


def test_the_year_field_limits_the_runs():
    assert next_run("cron(0 9 1 * ? 2028)", "UTC", NOW) == datetime.datetime(2028, 1, 1, 9, tzinfo=UTC)
    assert next_run("cron(0 9 1 * ? 2020)", "UTC", NOW) is None


def test_a_rate_counts_from_the_schedules_start_and_a_past_moment_never_comes_back():
    started = datetime.datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    assert next_run("rate(1 hour)", "UTC", NOW, started) == datetime.datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
    assert next_run("at(2026-12-01T09:00:00)", "UTC", NOW) is None


# ---------------------------------------------------------------- configuration


def test_a_valid_schedule_loads_with_its_pipeline_parameters(config_with):
    config = config_with(schedules=[NIGHTLY, WEEKLY])
    nightly, weekly = config.schedules
    assert nightly.timezone == "Europe/Amsterdam"
    assert nightly.pipeline_parameters == {"UseType": "predict"}
    assert weekly.timezone == "UTC"
    assert weekly.pipeline_parameters == {"UseType": "train", "MaxDepth": "8"}


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"expression": "cron(0 4 * * * *)"}, "schedules.0.expression", "exactly one of day-of-month"),
        ({"timezone": "Europe/Atlantis"}, "schedules.0.timezone", "'Europe/Atlantis' is not an IANA timezone name"),
        ({"use_type": "score"}, "schedules.0.use_type", "UseType 'score': choose one of train, predict"),
        ({"parameters": {"Depth": 3}}, "schedules.0.parameters", "Depth: the pipeline has no such parameter"),
        ({"parameters": {"MaxDepth": "deep"}}, "schedules.0.parameters", "MaxDepth 'deep': must be an integer"),
        ({"parameters": {"ExecutionDate": "2026-01-01"}}, "schedules.0.parameters", "ExecutionDate: leave it out"),
        ({"name": "nightly predict"}, "schedules.0.name", "should match pattern"),
    ],
)
def test_a_bad_schedule_names_the_file_and_key_and_fails_the_load(config_with, tmp_path, change, key, message):
    error = load_error(config_with, [{**NIGHTLY, **change}])
    assert error.startswith(f"{tmp_path / 'config' / 'develop.yaml'}: {key}: "), error
    assert message in error


def test_two_schedules_of_one_name_are_refused(config_with):
    error = load_error(config_with, [NIGHTLY, {**WEEKLY, "name": NIGHTLY["name"]}])
    assert "schedules: schedule names must be unique: nightly-predict appears more than once" in error


# ---------------------------------------------------------------- reconcile against moto


@pytest.fixture
def scheduler(offline):
    with mock_aws():
        yield boto3.client("scheduler", region_name="eu-west-1")


def deployed_schedules(scheduler, config) -> dict[str, dict]:
    return schedules.deployed(scheduler, config.schedule_group)


def test_deploy_creates_the_schedules_and_a_second_deploy_changes_nothing(scheduler, config_with):
    config = config_with(schedules=[NIGHTLY, WEEKLY])

    assert schedules.reconcile(scheduler, config, PIPELINE_ARN) == [
        ("created", "nightly-predict"),
        ("created", "weekly-train"),
    ]
    first = deployed_schedules(scheduler, config)
    nightly = first["nightly-predict"]
    assert nightly["ScheduleExpression"] == "cron(0 4 * * ? *)"
    assert nightly["ScheduleExpressionTimezone"] == "Europe/Amsterdam"
    assert nightly["State"] == "ENABLED"
    assert nightly["Target"]["Arn"] == PIPELINE_ARN
    assert nightly["Target"]["RoleArn"] == config.scheduler_role_arn
    parameters = first["weekly-train"]["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    # No ExecutionDate: each execution takes the day it starts.
    assert parameters == [{"Name": "MaxDepth", "Value": "8"}, {"Name": "UseType", "Value": "train"}]

    assert schedules.reconcile(scheduler, config, PIPELINE_ARN) == [
        ("unchanged", "nightly-predict"),
        ("unchanged", "weekly-train"),
    ]
    assert deployed_schedules(scheduler, config) == first


def test_a_changed_schedule_is_updated_and_a_removed_one_deleted(scheduler, config_with):
    schedules.reconcile(scheduler, config_with(schedules=[NIGHTLY, WEEKLY]), PIPELINE_ARN)
    changed = config_with(schedules=[{**NIGHTLY, "expression": "cron(30 5 * * ? *)", "enabled": False}])

    planned = schedules.plan(scheduler, changed, PIPELINE_ARN)
    assert planned == [("update", "nightly-predict"), ("delete", "weekly-train")]
    assert schedules.reconcile(scheduler, changed, PIPELINE_ARN) == [
        ("updated", "nightly-predict"),
        ("deleted", "weekly-train"),
    ]
    left = deployed_schedules(scheduler, changed)
    assert list(left) == ["nightly-predict"]
    assert left["nightly-predict"]["ScheduleExpression"] == "cron(30 5 * * ? *)"
    assert left["nightly-predict"]["State"] == "DISABLED"


def test_without_schedules_nothing_is_created(scheduler, config_with):
    config = config_with(schedules=[])
    assert schedules.reconcile(scheduler, config, PIPELINE_ARN) == []
    assert not schedules.group_exists(scheduler, config.schedule_group)


def test_deleting_removes_every_schedule_and_the_group(scheduler, config_with):
    config = config_with(schedules=[NIGHTLY, WEEKLY])
    schedules.reconcile(scheduler, config, PIPELINE_ARN)

    assert schedules.delete_all(scheduler, config) == ["nightly-predict", "weekly-train"]
    assert not schedules.group_exists(scheduler, config.schedule_group)


def test_the_listing_shows_each_schedule_with_its_next_run(scheduler, config_with):
    config = config_with(schedules=[NIGHTLY, {**WEEKLY, "enabled": False}])
    schedules.reconcile(scheduler, config, PIPELINE_ARN)

    rows = schedules.rows(scheduler, config, NOW)

    assert rows == [
        ["nightly-predict", "ENABLED", "cron(0 4 * * ? *)", "Europe/Amsterdam", "UseType=predict",
         "2026-12-04 04:00 CET"],
        ["weekly-train", "DISABLED", "rate(7 days)", "UTC", "MaxDepth=8 UseType=train", "-"],
    ]  # fmt: skip
