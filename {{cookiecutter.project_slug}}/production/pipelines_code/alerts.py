"""Failed executions reported to the environment's SNS topic, through an EventBridge rule.

SageMaker sends an event for every change of a pipeline execution's status; the rule deploy
keeps in place, ``<pipeline_name>-failed``, matches this pipeline's executions that end
``Failed`` and publishes a one-line message to ``alerts.topic``: the execution and the
command that shows its steps. Subscribe to the topic (e-mail, chat, a pager) to receive it.
Each call compares what exists with what should, and writes only what differs.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.config import EnvironmentConfig

from deployment import tags_of
from pipeline_errors import PipelineError, error_code, is_not_found

TARGET_ID = "alerts-topic"
EXECUTION_STATUS_EVENT = "SageMaker Model Building Pipeline Execution Status Change"


def rule_name(config: EnvironmentConfig) -> str:
    return f"{config.pipeline_name}-failed"


def topic_arn(config: EnvironmentConfig, account: str) -> str:
    partition = config.role_arn.split(":")[1]
    return f"arn:{partition}:sns:{config.region}:{account}:{config.alerts.topic}"


def event_pattern(pipeline_arn: str) -> dict[str, Any]:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [EXECUTION_STATUS_EVENT],
        "detail": {"pipelineArn": [pipeline_arn], "currentPipelineExecutionStatus": ["Failed"]},
    }


def target(config: EnvironmentConfig, topic: str) -> dict[str, Any]:
    command = f"make describe ENV={config.environment} EXECUTION=<execution>"
    return {
        "Id": TARGET_ID,
        "Arn": topic,
        "InputTransformer": {
            "InputPathsMap": {"execution": "$.detail.pipelineExecutionArn"},
            "InputTemplate": json.dumps(f"{config.pipeline_name}: execution <execution> failed. Its steps: {command}"),
        },
    }


def publish_policy(topic: str, rule_arn: str) -> dict[str, Any]:
    """The topic policy that lets the rule, and only it, publish (same-account users need none)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FailedExecutionsRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def topic_attributes(sns, topic: str) -> dict[str, str] | None:
    try:
        return sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    except ClientError as error:
        if error_code(error) in ("NotFound", "NotFoundException") or is_not_found(error):
            return None
        raise


def check(sns, config: EnvironmentConfig, account: str) -> None:
    """Before deploying: a topic deploy may not create must exist."""
    if not config.alerts.enabled or config.alerts.create_topic:
        return
    if topic_attributes(sns, topic_arn(config, account)) is None:
        raise PipelineError(
            f"alerts.topic: SNS topic {config.alerts.topic!r} does not exist in {config.region} "
            f"({config.environment}): create it, or set alerts.create_topic: true"
        )


def ensure_topic(sns, config: EnvironmentConfig, account: str) -> tuple[str, str]:
    """(created | unchanged, topic ARN)."""
    topic = topic_arn(config, account)
    if topic_attributes(sns, topic) is not None:
        return "unchanged", topic
    return "created", sns.create_topic(Name=config.alerts.topic, Tags=tags_of(config))["TopicArn"]


def ensure_publish_policy(sns, topic: str, rule_arn: str) -> str:
    wanted = publish_policy(topic, rule_arn)
    current = (topic_attributes(sns, topic) or {}).get("Policy")
    if current and json.loads(current) == wanted:
        return "unchanged"
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(wanted))
    return "updated"


def describe_rule(events, name: str) -> dict[str, Any] | None:
    try:
        return events.describe_rule(Name=name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def ensure_rule(events, config: EnvironmentConfig, pipeline_arn: str, topic: str) -> tuple[str, str]:
    """(created | updated | unchanged, rule ARN)."""
    name = rule_name(config)
    pattern, wanted_target = event_pattern(pipeline_arn), target(config, topic)
    existing = describe_rule(events, name)
    if existing is not None:
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        if (
            json.loads(existing.get("EventPattern", "{}")) == pattern
            and existing.get("State") == "ENABLED"
            and targets == [wanted_target]
        ):
            return "unchanged", existing["Arn"]
    response = events.put_rule(
        Name=name,
        EventPattern=json.dumps(pattern),
        State="ENABLED",
        Description=f"Failed executions of {config.pipeline_name}, to SNS topic {config.alerts.topic}",
        Tags=tags_of(config),
    )
    events.put_targets(Rule=name, Targets=[wanted_target])
    return ("updated" if existing else "created"), response["RuleArn"]


def delete_rule(events, config: EnvironmentConfig) -> bool:
    """Remove the rule and its target; True if there was one. The topic stays: it has subscribers."""
    name = rule_name(config)
    if describe_rule(events, name) is None:
        return False
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    if targets:
        events.remove_targets(Rule=name, Ids=[item["Id"] for item in targets])
    events.delete_rule(Name=name)
    return True


def reconcile(sns, events, config: EnvironmentConfig, pipeline_arn: str, account: str) -> list[tuple[str, str]]:
    """Put the topic and the rule in place (or remove the rule when alerts are off): (action, what)."""
    if not config.alerts.enabled:
        return [("deleted", f"EventBridge rule {rule_name(config)}")] if delete_rule(events, config) else []
    if config.alerts.create_topic:
        topic_action, topic = ensure_topic(sns, config, account)
    else:
        topic_action, topic = "unchanged", topic_arn(config, account)
    rule_action, rule_arn = ensure_rule(events, config, pipeline_arn, topic)
    changes = [(topic_action, f"SNS topic {topic}"), (rule_action, f"EventBridge rule {rule_name(config)}")]
    # A topic of the user's own keeps its policy: allowing the rule to publish is theirs to grant.
    if config.alerts.create_topic:
        changes.append((ensure_publish_policy(sns, topic, rule_arn), f"publish policy of {config.alerts.topic}"))
    return changes
