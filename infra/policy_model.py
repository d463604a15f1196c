"""What the policy rules read: the recorded resources of a stack, the violations they find, Pulumi's type
tokens and the small helpers every rule shares (pure; nothing here talks to AWS)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping


BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LAYER = "aws:lambda/layerVersion:LayerVersion"
RECURSION_CONFIG = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EMAIL_IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"
# sns:Publish allowed on everything but SNS ARNs: phone numbers (SMS) only, never a topic or an endpoint
SMS_ONLY_NOT_RESOURCE = "arn:aws:sns:*:*:*"
SEND_WORKER_HANDLER = "functions.send_worker.handler.lambda_handler"
IAM_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy"}
TAGGABLE_TYPES = {BUCKET, QUEUE, TABLE, FUNCTION, ESM, LOG_GROUP, "aws:iam/role:Role", "aws:sns/topic:Topic",
                  "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:ssm/parameter:Parameter",
                  "aws:sesv2/emailIdentity:EmailIdentity", "aws:sesv2/configurationSet:ConfigurationSet"}
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
# Actions AWS does not authorise per resource: "*" is the only Resource they accept.
UNSCOPABLE_ACTIONS = {"cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                      "sqs:ListQueues", "s3:ListAllMyBuckets", "logs:DescribeLogGroups"}
# The oldest Python runtime relay deploys: python3.13 runs on Amazon Linux 2023 and is the Python the
# project is tested with; python3.11 and older sit on Amazon Linux 2, which AWS has deprecated (creating,
# then updating, functions on a deprecated runtime is blocked).
MIN_PYTHON_RUNTIME = (3, 13)
_PYTHON_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")
# Lambda's default when a function names no architecture.
_DEFAULT_ARCHITECTURES = ["x86_64"]


@dataclass(frozen=True)
class RecordedResource:
    """One registered resource: its Pulumi type token, logical name, inputs and (resolved) outputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """An input, falling back to the output of the same name."""
        if key in self.inputs:
            return self.inputs[key]
        return self.outputs.get(key, default)


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str            # "<type> <logical name>"
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


Rule = Callable[[list[RecordedResource]], Iterable[Violation]]


def _of(resources: list[RecordedResource], typ: str) -> list[RecordedResource]:
    return [r for r in resources if r.type == typ]


def _v(rule: str, r: RecordedResource, message: str) -> Violation:
    return Violation(rule, f"{r.type} {r.name}", message)


def _bucket_refs(b: RecordedResource) -> set[str]:
    return {x for x in (b.outputs.get("bucket"), b.outputs.get("id"), b.inputs.get("bucket")) if x}


def _as_doc(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


def _listify(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]

def _iam_documents(resources: list[RecordedResource]) -> Iterable[tuple[RecordedResource, dict[str, Any]]]:
    for r in resources:
        if r.type in IAM_POLICY_TYPES:
            yield r, _as_doc(r.inputs.get("policy"))


def _sms_only(st: Mapping[str, Any]) -> bool:
    """``sns:Publish`` alone, on ``NotResource`` every SNS ARN: the narrowest grant IAM has for SMS."""
    return (set(map(str, _listify(st.get("Action", [])))) == {"sns:Publish"} and "Resource" not in st
            and _listify(st.get("NotResource")) == [SMS_ONLY_NOT_RESOURCE])
