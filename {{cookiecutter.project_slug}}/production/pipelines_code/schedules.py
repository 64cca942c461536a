"""The pipeline's EventBridge Scheduler schedules, kept equal to the environment's ``schedules`` config.

Deploy calls ``reconcile``: afterwards the schedule group named after the pipeline holds
exactly the configured schedules. A schedule missing from AWS is created, one that differs in
any field deploy sets is updated, one no longer in the config is deleted, and an equal one
is left alone. boto3 only: the SDK's ``Pipeline.put_triggers`` passes no parameters and no
timezone. Deleting the pipeline deletes its schedules first (``delete_all``): EventBridge
would otherwise keep starting a pipeline that no longer exists.
"""

from __future__ import annotations

import datetime
from typing import Any

from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.config import EnvironmentConfig, Schedule
from {{ cookiecutter.package_name }}.schedule_expressions import next_run

from deployment import tags_of
from pipeline_errors import is_not_found

# The fields of a schedule deploy sets; any difference in them is an update.
COMPARED = ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "Description", "FlexibleTimeWindow")
COMPARED_TARGET = ("Arn", "RoleArn", "SageMakerPipelineParameters")


def request(schedule: Schedule, config: EnvironmentConfig, pipeline_arn: str) -> dict[str, Any]:
    """The CreateSchedule/UpdateSchedule request of one configured schedule."""
    parameters = schedule.pipeline_parameters
    return {
        "Name": schedule.name,
        "GroupName": config.schedule_group,
        "ScheduleExpression": schedule.expression,
        "ScheduleExpressionTimezone": schedule.timezone,
        "State": "ENABLED" if schedule.enabled else "DISABLED",
        "Description": schedule.description or f"{schedule.use_type} execution of {config.pipeline_name}",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": pipeline_arn,
            "RoleArn": config.scheduler_role_arn,
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": name, "Value": parameters[name]} for name in sorted(parameters)]
            },
        },
    }


def comparable(schedule: dict[str, Any]) -> dict[str, Any]:
    fields = {key: schedule.get(key) for key in COMPARED}
    fields["Target"] = {key: schedule.get("Target", {}).get(key) for key in COMPARED_TARGET}
    return fields


def group_exists(scheduler, group: str) -> bool:
    try:
        scheduler.get_schedule_group(Name=group)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def deployed(scheduler, group: str) -> dict[str, dict[str, Any]]:
    """Every schedule of the group, by name, as GetSchedule describes it ({} without the group)."""
    if not group_exists(scheduler, group):
        return {}
    names = [
        summary["Name"]
        for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group)
        for summary in page["Schedules"]
    ]
    described = {name: scheduler.get_schedule(Name=name, GroupName=group) for name in names}
    return {name: without_metadata(schedule) for name, schedule in described.items()}


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def plan(scheduler, config: EnvironmentConfig, pipeline_arn: str) -> list[tuple[str, str]]:
    """What ``reconcile`` would do, changing nothing: (create|update|unchanged|delete, name)."""
    wanted = {schedule.name: request(schedule, config, pipeline_arn) for schedule in config.schedules}
    existing = deployed(scheduler, config.schedule_group)
    changes = []
    for name, wanted_schedule in wanted.items():
        if name not in existing:
            changes.append(("create", name))
        elif comparable(existing[name]) != comparable(wanted_schedule):
            changes.append(("update", name))
        else:
            changes.append(("unchanged", name))
    changes += [("delete", name) for name in sorted(existing.keys() - wanted.keys())]
    return changes


def reconcile(scheduler, config: EnvironmentConfig, pipeline_arn: str) -> list[tuple[str, str]]:
    """Make the group hold exactly the configured schedules; return (created|updated|unchanged|deleted, name)."""
    group = config.schedule_group
    wanted = {schedule.name: request(schedule, config, pipeline_arn) for schedule in config.schedules}
    changes = plan(scheduler, config, pipeline_arn)
    if wanted and not group_exists(scheduler, group):
        scheduler.create_schedule_group(Name=group, Tags=tags_of(config))
    done = {"create": "created", "update": "updated", "unchanged": "unchanged", "delete": "deleted"}
    for action, name in changes:
        if action == "create":
            scheduler.create_schedule(**wanted[name])
        elif action == "update":
            scheduler.update_schedule(**wanted[name])
        elif action == "delete":
            scheduler.delete_schedule(Name=name, GroupName=group)
    return [(done[action], name) for action, name in changes]


def delete_all(scheduler, config: EnvironmentConfig) -> list[str]:
    """Delete the pipeline's schedules and their group; return the names deleted."""
    group = config.schedule_group
    names = sorted(deployed(scheduler, group))
    for name in names:
        scheduler.delete_schedule(Name=name, GroupName=group)
    if group_exists(scheduler, group):
        scheduler.delete_schedule_group(Name=group)
    return names


def rows(scheduler, config: EnvironmentConfig, now: datetime.datetime) -> list[list[str]]:
    """One row per deployed schedule: name, state, expression, timezone, parameters, next run."""
    table = []
    for name, schedule in sorted(deployed(scheduler, config.schedule_group).items()):
        expression, timezone = schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone") or "UTC"
        parameters = schedule.get("Target", {}).get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
        upcoming = None
        if schedule.get("State") == "ENABLED":
            upcoming = next_run(expression, timezone, now, schedule.get("StartDate") or schedule.get("CreationDate"))
        table.append(
            [
                name,
                schedule.get("State", ""),
                expression,
                timezone,
                " ".join(f"{parameter['Name']}={parameter['Value']}" for parameter in parameters),
                upcoming.strftime("%Y-%m-%d %H:%M %Z") if upcoming else "-",
            ]
        )
    return table
