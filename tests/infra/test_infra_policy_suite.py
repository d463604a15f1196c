"""The policy suite finds nothing in any stage's stack, and catches each violation planted in one."""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from infra.policy_suite import RULES, RecordedResource, check
from tests.infra.infra_stacks import BuiltStack


def test_each_stage_stack_policy_suite_finds_zero_violations(stack: BuiltStack) -> None:
    assert len(stack.resources) > 60
    violations = check(stack.resources)
    assert violations == [], "\n".join(map(str, violations))


def _mutate(resources: list[RecordedResource], typ: str, where: Callable[[RecordedResource], bool],
            change: Callable[[dict[str, Any]], None]) -> list[RecordedResource]:
    out, hit = [], 0
    for r in resources:
        if r.type == typ and where(r):
            inputs = copy.deepcopy(dict(r.inputs))
            change(inputs)
            r = RecordedResource(r.type, r.name, inputs, r.outputs)
            hit += 1
        out.append(r)
    assert hit == 1, f"plant must touch exactly one {typ}, touched {hit}"
    return out


def _policy(fn: str) -> Callable[[RecordedResource], bool]:
    return lambda r: r.inputs["role"] == f"relay-dev-{fn}"


def _edit_policy(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        doc = json.loads(inputs["policy"])
        edit(doc)
        inputs["policy"] = json.dumps(doc)
    return change


def _remove(typ: str, resources: list[RecordedResource], where: Callable[[RecordedResource], bool]):
    kept = [r for r in resources if not (r.type == typ and where(r))]
    assert len(kept) == len(resources) - 1
    return kept


any_ = lambda r: True  # noqa: E731
PLANTS: dict[str, tuple[str, str, Callable[[list[RecordedResource]], list[RecordedResource]]]] = {
    "public canned ACL": ("no-public-bucket", "'public-read' is public", lambda rs: _mutate(
        rs, "aws:s3/bucket:Bucket", any_, lambda i: i.update(acl="public-read"))),
    "public access block off": ("no-public-bucket", "leaves blockPublicPolicy off", lambda rs: _mutate(
        rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", any_,
        lambda i: i.update(blockPublicPolicy=False))),
    "no public access block": ("no-public-bucket", "has no BucketPublicAccessBlock", lambda rs: _remove(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", rs, any_)),
    "bucket policy allows everyone": ("no-public-bucket", "allows Principal '*'", lambda rs: _mutate(
        rs, "aws:s3/bucketPolicy:BucketPolicy", any_, _edit_policy(lambda d: d["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"})))),
    "plain-HTTP allowed": ("tls-only-bucket", "aws:SecureTransport=false", lambda rs: _remove(
        "aws:s3/bucketPolicy:BucketPolicy", rs, any_)),
    "bucket unencrypted": ("encryption-at-rest", "no server-side encryption", lambda rs: _remove(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", rs, any_)),
    "queue unencrypted": ("encryption-at-rest", "neither SSE-SQS nor a KMS key", lambda rs: _mutate(
        rs, "aws:sqs/queue:Queue", lambda r: r.inputs["name"] == "relay-dev-stream-dlq",
        lambda i: i.update(sqsManagedSseEnabled=False))),
    "table unencrypted": ("encryption-at-rest", "serverSideEncryption is not enabled", lambda rs: _mutate(
        rs, "aws:dynamodb/table:Table", lambda r: r.inputs["name"] == "relay-dev-audit",
        lambda i: i.pop("serverSideEncryption"))),
    "Action *": ("no-wildcard-action", "allows Action '*'", lambda rs: _mutate(
        rs, "aws:iam/rolePolicy:RolePolicy", _policy("api"),
        _edit_policy(lambda d: d["Statement"][0].update(Action="*")))),
    "service-wide action": ("no-wildcard-action", "allows Action 'dynamodb:*'", lambda rs: _mutate(
        rs, "aws:iam/rolePolicy:RolePolicy", _policy("job-worker"),
        _edit_policy(lambda d: d["Statement"][-1].update(Action=["dynamodb:GetItem", "dynamodb:*"])))),
    "Resource *": ("no-wildcard-resource", "on '*'", lambda rs: _mutate(
        rs, "aws:iam/rolePolicy:RolePolicy", _policy("log-indexer"),
        _edit_policy(lambda d: d["Statement"][-1].update(Resource="*")))),
    "job queue without redrive": ("queue-has-dlq", "feeds a function but has no redrive policy", lambda rs: _mutate(
        rs, "aws:sqs/queue:Queue", lambda r: r.inputs["name"] == "relay-dev-jobs", lambda i: i.pop("redrivePolicy"))),
    "redrive to a foreign queue": ("queue-has-dlq", "not a queue of this stack", lambda rs: _mutate(
        rs, "aws:sqs/queue:Queue", lambda r: r.inputs["name"] == "relay-dev-jobs",
        lambda i: i.update(redrivePolicy=json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:999999999999:elsewhere", "maxReceiveCount": 5})))),
    "stream mapping without on-failure": ("stream-on-failure", "no on-failure destination", lambda rs: _mutate(
        rs, "aws:lambda/eventSourceMapping:EventSourceMapping", lambda r: "parallelizationFactor" in r.inputs,
        lambda i: i.pop("destinationConfig"))),
    "S3-triggered function without on-failure": ("async-on-failure", "relay-dev-send-worker is invoked by S3",
        lambda rs: _remove("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", rs,
                           lambda r: r.inputs["functionName"] == "relay-dev-send-worker")),
    "log group without retention": ("log-retention", "no log group with a retention", lambda rs: _mutate(
        rs, "aws:cloudwatch/logGroup:LogGroup", lambda r: r.inputs["name"] == "/aws/lambda/relay-dev-api",
        lambda i: i.pop("retentionInDays"))),
    "untagged queue": ("tagged", "lack project=relay and stage", lambda rs: _mutate(
        rs, "aws:sqs/queue:Queue", lambda r: r.inputs["name"] == "relay-dev-job-dlq", lambda i: i.pop("tags"))),
    "function on a deprecated runtime": ("supported-runtime", "'python3.11' is not python3.13 or newer",
        lambda rs: _mutate(rs, "aws:lambda/function:Function", lambda r: r.inputs["name"] == "relay-dev-api",
                           lambda i: i.update(runtime="python3.11"))),
    "layer for a deprecated runtime": ("supported-runtime", "include ['python3.12'], older than python3.13",
        lambda rs: _mutate(rs, "aws:lambda/layerVersion:LayerVersion", any_,
                           lambda i: i.update(compatibleRuntimes=["python3.12"]))),
    "function on another CPU than its layer": ("layer-matches-function", "runs on ['x86_64'] but layer relay-dev-deps",
        lambda rs: _mutate(rs, "aws:lambda/function:Function", lambda r: r.inputs["name"] == "relay-dev-send-worker",
                           lambda i: i.pop("architectures"))),
    "job worker without recursion setting": ("recursion-allowed", "sends to relay-dev-jobs, which invokes it",
        lambda rs: _remove("aws:lambda/functionRecursionConfig:FunctionRecursionConfig", rs, any_)),
    "job worker recursion left at Terminate": ("recursion-allowed", "recursiveLoop=Allow", lambda rs: _mutate(
        rs, "aws:lambda/functionRecursionConfig:FunctionRecursionConfig", any_,
        lambda i: i.update(recursiveLoop="Terminate"))),
    "send worker may send email from another identity": ("send-email-scoped", "not this stage's SES identity",
        lambda rs: _mutate(rs, "aws:iam/rolePolicy:RolePolicy", _policy("send-worker"),
                           _edit_policy(lambda d: d["Statement"].append(
                               {"Sid": "Planted", "Effect": "Allow", "Action": "ses:SendEmail",
                                "Resource": "arn:aws:ses:us-east-1:123456789012:identity/elsewhere.io",
                                "Condition": {"StringEquals": {"ses:FromAddress": "x@elsewhere.io"}}})))),
    "send worker may publish to a topic": ("sms-phone-only", "phone numbers only, never to a topic",
        lambda rs: _mutate(rs, "aws:iam/rolePolicy:RolePolicy", _policy("send-worker"),
                           _edit_policy(lambda d: d["Statement"].append(
                               {"Sid": "Planted", "Effect": "Allow", "Action": "sns:Publish",
                                "Resource": "arn:aws:sns:us-east-1:123456789012:relay-dev-alarms"})))),
    "public API URL in front of a function without key checks": ("api-never-open",
        "opens relay-dev-api to anyone (AuthType NONE) but the function does not enforce API keys",
        lambda rs: _mutate(rs, "aws:lambda/function:Function", lambda r: r.inputs["name"] == "relay-dev-api",
                           lambda i: i["environment"]["variables"].pop("API_AUTH"))),
    "API URL with an unknown auth type": ("api-never-open", "'CUSTOM' is neither AWS_IAM nor NONE",
        lambda rs: _mutate(rs, "aws:lambda/functionUrl:FunctionUrl", any_,
                           lambda i: i.update(authorizationType="CUSTOM"))),
    "alarm actions on with no subscriber": ("alarm-reaches-someone", "nothing subscribes to relay-dev-alarms",
        lambda rs: _mutate(rs, "aws:cloudwatch/metricAlarm:MetricAlarm",
                           lambda r: r.inputs["name"] == "relay-dev-job-dlq-visible",
                           lambda i: i.update(actionsEnabled=True))),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_planted_violation_is_reported_by_its_rule(stacks: dict[str, BuiltStack], plant: str) -> None:
    rule, message, apply = PLANTS[plant]
    violations = check(apply(stacks["dev"].resources))
    assert len(violations) == 1, "\n".join(map(str, violations))
    assert violations[0].rule == rule
    assert message in violations[0].message, str(violations[0])


def test_every_rule_has_a_planted_violation() -> None:
    assert {rule for rule, _, _ in PLANTS.values()} == set(RULES)


def test_alarm_subscriber_rule_passes_with_an_email_or_an_existing_topic(stacks: dict[str, BuiltStack]) -> None:
    # prod (built with its owner's alarmEmail) has actions on: the subscription is what makes it pass
    prod = stacks["prod"].resources
    assert any(r.inputs.get("actionsEnabled") for r in prod if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert check(prod) == []
    unsubscribed = _remove("aws:sns/topicSubscription:TopicSubscription", prod, any_)
    assert {v.rule for v in check(unsubscribed)} == {"alarm-reaches-someone"}
    # an existing topic the alarms also notify counts as a recipient managed elsewhere
    pager = "arn:aws:sns:us-east-1:123456789012:acme-pager"
    with_pager = [RecordedResource(r.type, r.name, {**r.inputs, "alarmActions": [*r.inputs["alarmActions"], pager]},
                                   r.outputs) if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" else r
                  for r in unsubscribed]
    assert check(with_pager) == []


def test_recursion_rule_flags_only_functions_that_may_send_to_their_own_queue(stacks: dict[str, BuiltStack]) -> None:
    # the request worker also sends to the job queue, but S3 invokes it, not that queue: no loop of its own
    dev = stacks["dev"].resources
    unset = _remove("aws:lambda/functionRecursionConfig:FunctionRecursionConfig", dev, any_)
    assert [v.resource for v in check(unset)] == ["aws:lambda/function:Function automation-pipeline-job-worker-function"]
    # and the job worker is flagged because it may send there: without that permission there is no loop
    def drop_send(doc: dict[str, Any]) -> None:
        for st in doc["Statement"]:
            if isinstance(st.get("Action"), list) and "sqs:SendMessage" in st["Action"]:
                st["Action"] = [a for a in st["Action"] if a != "sqs:SendMessage"]

    job_only = _mutate(dev, "aws:iam/rolePolicy:RolePolicy", _policy("job-worker"), _edit_policy(drop_send))
    no_config = _remove("aws:lambda/functionRecursionConfig:FunctionRecursionConfig", job_only, any_)
    assert [v for v in check(no_config) if v.rule == "recursion-allowed"] == []
