"""Failed-execution alerts: the SNS topic and the EventBridge rule deploy keeps in place, against moto.

Credentials exist only inside ``mock_aws()``, which sets moto's fake ones itself.
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from {{ cookiecutter.package_name }}.config import load_config

import alerts
from pipeline_errors import PipelineError

CONFIG = load_config("develop")
PIPELINE_ARN = f"arn:aws:sagemaker:{CONFIG.region}:123456789012:pipeline/{CONFIG.pipeline_name.lower()}"


@pytest.fixture
def aws(offline):
    with mock_aws():
        session = boto3.Session(region_name=CONFIG.region)
        account = session.client("sts").get_caller_identity()["Account"]
        yield session.client("sns"), session.client("events"), account


def test_deploy_creates_the_topic_and_rule_and_a_second_deploy_changes_nothing(aws):
    sns, events, account = aws

    first = alerts.reconcile(sns, events, CONFIG, PIPELINE_ARN, account)
    assert [action for action, _ in first] == ["created", "created", "updated"]

    topic = alerts.topic_arn(CONFIG, account)
    assert [item["TopicArn"] for item in sns.list_topics()["Topics"]] == [topic]
    rule = events.describe_rule(Name=f"{CONFIG.pipeline_name}-failed")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"] == {"pipelineArn": [PIPELINE_ARN], "currentPipelineExecutionStatus": ["Failed"]}
    assert pattern["detail-type"] == ["SageMaker Model Building Pipeline Execution Status Change"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == topic
    assert "make describe ENV=develop" in target["InputTransformer"]["InputTemplate"]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["Arn"]}}

    second = alerts.reconcile(sns, events, CONFIG, PIPELINE_ARN, account)
    assert [action for action, _ in second] == ["unchanged", "unchanged", "unchanged"]


def test_a_rule_changed_by_hand_is_put_back(aws):
    sns, events, account = aws
    alerts.reconcile(sns, events, CONFIG, PIPELINE_ARN, account)
    events.disable_rule(Name=alerts.rule_name(CONFIG))

    changes = {what: action for action, what in alerts.reconcile(sns, events, CONFIG, PIPELINE_ARN, account)}

    assert changes[f"EventBridge rule {alerts.rule_name(CONFIG)}"] == "updated"
    assert events.describe_rule(Name=alerts.rule_name(CONFIG))["State"] == "ENABLED"


def test_alerts_turned_off_remove_the_rule_and_keep_the_topic(aws):
    sns, events, account = aws
    alerts.reconcile(sns, events, CONFIG, PIPELINE_ARN, account)
    off = CONFIG.model_copy(update={"alerts": CONFIG.alerts.model_copy(update={"enabled": False})})

    assert alerts.reconcile(sns, events, off, PIPELINE_ARN, account) == [
        ("deleted", f"EventBridge rule {alerts.rule_name(CONFIG)}")
    ]
    assert events.list_rules()["Rules"] == []
    assert len(sns.list_topics()["Topics"]) == 1


def test_a_topic_deploy_may_not_create_must_exist_before_anything_is_deployed(aws):
    sns, events, account = aws
    own_topic = CONFIG.model_copy(update={"alerts": CONFIG.alerts.model_copy(update={"create_topic": False})})

    with pytest.raises(PipelineError, match=f"alerts.topic: SNS topic '{CONFIG.alerts.topic}' does not exist"):
        alerts.check(sns, own_topic, account)
    assert sns.list_topics()["Topics"] == []

    sns.create_topic(Name=CONFIG.alerts.topic)
    alerts.check(sns, own_topic, account)
    changes = alerts.reconcile(sns, events, own_topic, PIPELINE_ARN, account)
    # The user's own topic keeps its policy.
    assert [what for _, what in changes if what.startswith("publish policy")] == []
