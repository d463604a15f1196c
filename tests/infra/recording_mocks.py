"""Pulumi mocks that record every resource with AWS-shaped ids and ARNs (account 123456789012)."""
from __future__ import annotations

import hashlib
from typing import Any

import pulumi

from infra.policy_suite import RecordedResource

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


class RecordingMocks(pulumi.runtime.Mocks):
    """Records ``RecordedResource``s; outputs carry the ids and ARNs AWS would return."""

    def __init__(self) -> None:
        self.resources: list[RecordedResource] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, inputs = args.typ, dict(args.inputs)
        outputs = dict(inputs)
        name = inputs.get("name") or args.name
        rid = name
        if typ == "aws:s3/bucket:Bucket":
            rid = name = inputs["bucket"]
            outputs.update(arn=f"arn:aws:s3:::{name}", bucket=name)
        elif typ == "aws:sqs/queue:Queue":
            rid = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            outputs.update(url=rid, arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
        elif typ == "aws:dynamodb/table:Table":
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
            outputs.update(arn=arn)
            if inputs.get("streamEnabled"):
                outputs.update(streamArn=f"{arn}/stream/2026-11-27T00:00:00.000", streamLabel="2026-11-27T00:00:00.000")
        elif typ == "aws:lambda/function:Function":
            outputs.update(arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
        elif typ == "aws:lambda/layerVersion:LayerVersion":
            name = inputs["layerName"]
            outputs.update(arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}:1",
                           layerArn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}", version="1")
            rid = outputs["arn"]
        elif typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
            rid = f"esm-{_short(args.name)}"
            outputs.update(uuid=rid)
        elif typ == "aws:lambda/functionUrl:FunctionUrl":
            url_id = _short(args.name)
            outputs.update(functionUrl=f"https://{url_id}.lambda-url.{REGION}.on.aws/", urlId=url_id)
        elif typ == "aws:iam/role:Role":
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{name}")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            outputs.update(arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}")
        elif typ == "aws:sns/topic:Topic":
            outputs.update(arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}")
        elif typ == "aws:sesv2/emailIdentity:EmailIdentity":
            rid = inputs["emailIdentity"]
            outputs.update(arn=f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{rid}")
        elif typ == "aws:sesv2/configurationSet:ConfigurationSet":
            rid = inputs["configurationSetName"]
            outputs.update(arn=f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{rid}")
        elif typ == "aws:sns/topicSubscription:TopicSubscription":
            outputs.update(arn=f"{inputs['topic']}:{_short(args.name)}")
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            outputs.update(arn=f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}")
        elif typ == "aws:ssm/parameter:Parameter":
            outputs.update(arn=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")
        else:
            rid = f"{args.name}-id"
        self.resources.append(RecordedResource(type=typ, name=args.name, inputs=inputs, outputs=outputs))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "userId": "AIDTEST",
                    "id": ACCOUNT}
        return {}
