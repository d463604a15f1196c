"""Take moto's SNS → Lambda delivery over, so the local data plane runs the subscribed function.

moto 5.2 delivers a message published to a topic with a ``lambda`` subscription by calling the
function synchronously inside the ``Publish`` request (``LambdaBackend.send_sns_message``), with a
canned event (``MessageId`` and ``TopicArn`` made up) and — without Docker — without running
anything. As :mod:`relay.local.triggers` does for S3, we replace that branch of
``moto.sns.models.Subscription.publish``: the message is turned into the event AWS sends (``Records[0].Sns``
with the real message id, topic, subscription, subject, attributes and time) and handed to the
registered callbacks, which queue it as an asynchronous invoke — SNS invokes Lambda asynchronously,
so the function's retries and on-failure destination apply.

As in AWS, the function's resource policy must let ``sns.amazonaws.com`` invoke it from that topic
(an ``aws.lambda_.Permission``); without it the message is dropped and logged, as SNS would fail the
delivery. Other protocols (SQS, HTTP, email, SMS) keep moto's behaviour.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Callable

__all__ = ["SnsNotificationCallback", "install", "is_installed", "add_sns_listener", "remove_sns_listener",
           "lambda_event", "invoke_allowed"]

log = logging.getLogger(__name__)

SnsNotificationCallback = Callable[[str, dict], None]
"""``callback(function_arn, event)`` — called in the moto request thread; keep it quick (enqueue)."""

_lock = threading.Lock()
_installed = False
_listeners: list[SnsNotificationCallback] = []


def lambda_event(*, topic_arn: str, subscription_arn: str, message_id: str, message: str,
                 subject: str | None = None, message_attributes: dict[str, Any] | None = None,
                 timestamp: datetime | None = None) -> dict[str, Any]:
    """The event SNS hands a subscribed Lambda function (one record per invoke)."""
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    attributes = {name: {"Type": value.get("Type") or value.get("DataType", "String"),
                         "Value": value.get("Value", value.get("StringValue"))}
                  for name, value in (message_attributes or {}).items() if isinstance(value, dict)}
    at = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn, "Subject": subject,
            "Message": message, "Timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "MessageAttributes": attributes,
        },
    }]}


def invoke_allowed(policy: dict[str, Any] | None, topic_arn: str) -> bool:
    """Whether a function's resource policy lets SNS invoke it for ``topic_arn``."""
    for st in (policy or {}).get("Statement", []):
        principal = st.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        actions = st.get("Action") if isinstance(st.get("Action"), list) else [st.get("Action")]
        if st.get("Effect") != "Allow" or service not in ("sns.amazonaws.com", "*"):
            continue
        if not ({"lambda:InvokeFunction", "lambda:*", "*"} & set(actions)):
            continue
        cond = st.get("Condition") or {}
        source = (cond.get("ArnLike") or cond.get("ArnEquals") or {}).get("AWS:SourceArn")
        if source in (None, topic_arn):
            return True
    return False


def _function_policy(account: str, function_arn: str) -> dict[str, Any] | None:
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    qualifier = parts[7] if len(parts) == 8 else None
    try:
        raw = get_backend(account, parts[3]).get_policy(parts[6], qualifier)
    except Exception:  # noqa: BLE001 - no function or no policy: SNS may not invoke it
        return None
    doc = json.loads(raw) if isinstance(raw, str) else raw
    policy = doc.get("Policy", doc) if isinstance(doc, dict) else None
    return json.loads(policy) if isinstance(policy, str) else policy


def _deliver(subscription: Any, message: str, message_id: str, subject: str | None,
             message_attributes: dict[str, Any] | None, message_structure: str | None) -> None:
    matcher = getattr(subscription, "_filter_policy_matcher", None)
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = subscription._parse_message_structure(message, "lambda")
    function_arn, topic_arn = subscription.endpoint, subscription.topic.arn
    if not invoke_allowed(_function_policy(subscription.account_id, function_arn), topic_arn):
        log.warning("SNS %s → %s dropped: the function's policy does not let sns.amazonaws.com invoke it "
                    "from this topic (as AWS would refuse the delivery)", topic_arn, function_arn)
        return
    with _lock:
        listeners = list(_listeners)
    if not listeners:
        log.debug("SNS message for %s dropped: no listener registered", function_arn)
        return
    event = lambda_event(topic_arn=topic_arn, subscription_arn=subscription.arn, message_id=message_id,
                         message=message, subject=subject, message_attributes=message_attributes)
    for cb in listeners:
        try:
            cb(function_arn, copy.deepcopy(event))
        except Exception:  # noqa: BLE001 - SNS must not fail a Publish because a listener did
            log.exception("SNS notification listener failed for %s", function_arn)


def install() -> None:
    """Apply the takeover once per process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sns.models import Subscription

        original = Subscription.publish

        def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                    message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                    deduplication_id: str | None = None, message_structure: str | None = None) -> None:
            if self.protocol != "lambda":
                return original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                                group_id=group_id, deduplication_id=deduplication_id,
                                message_structure=message_structure)
            _deliver(self, message, message_id, subject, message_attributes, message_structure)
            return None

        Subscription.publish = publish  # type: ignore[method-assign]
        _installed = True


def is_installed() -> bool:
    """True once :func:`install` has run in this process."""
    return _installed


def add_sns_listener(callback: SnsNotificationCallback) -> None:
    """Register ``callback(function_arn, event)`` for SNS messages to Lambda subscriptions."""
    with _lock:
        _listeners.append(callback)


def remove_sns_listener(callback: SnsNotificationCallback) -> None:
    """Unregister a callback added with :func:`add_sns_listener` (no error if it is not there)."""
    with _lock:
        try:
            _listeners.remove(callback)
        except ValueError:
            pass
