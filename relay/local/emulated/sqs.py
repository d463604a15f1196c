"""SQS: queues with their attributes and redrive policies."""
from __future__ import annotations

from typing import TYPE_CHECKING

import json

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


_QUEUE_ATTRS = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds", "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "fifoQueue": "FifoQueue", "contentBasedDeduplication": "ContentBasedDeduplication", "policy": "Policy",
}


def _queue(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    sqs = r.client("sqs")
    qname = i.get("name") or name
    attrs: dict[str, str] = {}
    for key, attr in _QUEUE_ATTRS.items():
        v = i.get(key)
        if v is None or v == "":
            continue
        attrs[attr] = ("true" if v else "false") if isinstance(v, bool) else (
            v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(int(v)))
    try:
        # CreateQueue is idempotent when the attributes match: one call on a fresh or unchanged stage
        url = sqs.create_queue(QueueName=qname, Attributes=attrs, tags=dict(i.get("tags") or {}))["QueueUrl"]
    except ClientError as err:
        if "QueueAlreadyExists" not in code_of(err) and "QueueNameExists" not in code_of(err):
            raise
        url = sqs.get_queue_url(QueueName=qname)["QueueUrl"]
        changeable = {k: v for k, v in attrs.items() if k != "FifoQueue"}
        if changeable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
        if i.get("tags"):
            sqs.tag_queue(QueueUrl=url, Tags=dict(i["tags"]))
    arn = r.arn("sqs", qname)
    return url, {"name": qname, "url": url, "arn": arn}


HANDLERS = {
    "aws:sqs/queue:Queue": _queue,
}
