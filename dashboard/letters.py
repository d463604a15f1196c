"""Pure decoding and filtering of dead letters (no boto3, no streamlit).

A dead letter is what SQS hands back from a DLQ. Three shapes exist (docs/CONTRACTS.md): the job DLQ
keeps the original job message; the async DLQ holds Lambda's on-failure record with the S3 event in
``requestPayload``; the stream DLQ holds Lambda's record with ``DDBStreamBatchInfo``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

__all__ = ["DeadLetter", "decode", "filter_letters", "to_export_json", "KINDS"]

KINDS = ("job", "stream", "async")


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message as the console shows it."""

    message_id: str
    kind: str
    body: str
    receive_count: int
    sent_at: datetime
    decoded: Any = None
    reason: str = ""
    run_id: str | None = None
    step: int | None = None
    function_arn: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, Any] = field(default_factory=dict)

    def age_seconds(self, now: datetime | None = None) -> float:
        """Seconds since SQS first accepted the message (its ``SentTimestamp``)."""
        now = now or datetime.now(timezone.utc)
        return max(0.0, (now - self.sent_at).total_seconds())

    def as_row(self, now: datetime | None = None) -> dict[str, Any]:
        """A flat row for a table (and for JSON export)."""
        return {
            "message_id": self.message_id,
            "run_id": self.run_id or "",
            "step": self.step,
            "reason": self.reason,
            "function": (self.function_arn or "").rsplit(":", 1)[-1],
            "receive_count": self.receive_count,
            "age_s": round(self.age_seconds(now), 1),
            "sent_at": self.sent_at.isoformat(),
            "kind": self.kind,
            "body": self.body,
        }


def decode(kind: str, sqs_message: Mapping[str, Any]) -> DeadLetter:
    """Build a :class:`DeadLetter` from one ``ReceiveMessage`` entry.

    Parameters
    ----------
    kind
        ``job``, ``stream`` or ``async`` — which DLQ the message came from.
    sqs_message
        One element of ``ReceiveMessage``'s ``Messages`` (with ``AttributeNames=["All"]``).

    Returns
    -------
    DeadLetter
        Bodies that are not JSON are kept verbatim with reason ``body is not JSON``: a DLQ is exactly
        where malformed input ends up, so the console must never fail on one.
    """
    attrs = dict(sqs_message.get("Attributes") or {})
    body = sqs_message.get("Body") or ""
    sent_ms = int(attrs.get("SentTimestamp") or 0)
    sent_at = datetime.fromtimestamp(sent_ms / 1000, tz=timezone.utc)
    try:
        decoded: Any = json.loads(body)
    except (ValueError, TypeError):
        decoded = None
    reason, run_id, step, fn = "", None, None, None
    if decoded is None:
        reason = "body is not JSON"
    elif kind == "job" and isinstance(decoded, dict):
        run_id = decoded.get("runId") if isinstance(decoded.get("runId"), str) else None
        step = decoded.get("step") if isinstance(decoded.get("step"), int) else None
        reason = "job dead-lettered after maxReceiveCount failed receives"
        if run_id is None:
            reason = "job message names no runId"
    elif isinstance(decoded, dict) and "requestContext" in decoded:
        ctx = decoded.get("requestContext") or {}
        fn = ctx.get("functionArn")
        resp = decoded.get("responsePayload") or {}
        err = ""
        if isinstance(resp, dict) and resp.get("errorType"):
            err = f"{resp.get('errorType')}: {resp.get('errorMessage', '')}"
        reason = ", ".join(x for x in (ctx.get("condition"), err) if x)
        if kind == "stream":
            info = decoded.get("DDBStreamBatchInfo") or {}
            if info:
                reason += f" ({info.get('batchSize', '?')} records from {info.get('shardId', '?')})"
    return DeadLetter(
        message_id=str(sqs_message.get("MessageId")),
        kind=kind,
        body=body,
        receive_count=int(attrs.get("ApproximateReceiveCount") or 0),
        sent_at=sent_at,
        decoded=decoded,
        reason=reason,
        run_id=run_id,
        step=step,
        function_arn=fn,
        attributes=attrs,
        message_attributes=dict(sqs_message.get("MessageAttributes") or {}),
    )


def filter_letters(
    letters: Iterable[DeadLetter],
    text: str = "",
    attribute: str = "",
    attribute_value: str = "",
    min_age_s: float = 0.0,
    max_age_s: float | None = None,
    now: datetime | None = None,
) -> list[DeadLetter]:
    """Keep the letters matching every given criterion.

    ``text`` is a case-insensitive substring of the body or reason; ``attribute`` names an SQS
    system attribute or message attribute whose value must contain ``attribute_value``; ages are
    in seconds since the message was sent.
    """
    needle = text.strip().lower()
    out = []
    for letter in letters:
        if needle and needle not in letter.body.lower() and needle not in letter.reason.lower():
            continue
        if attribute:
            raw = letter.attributes.get(attribute)
            if raw is None and attribute in letter.message_attributes:
                ma = letter.message_attributes[attribute]
                raw = ma.get("StringValue") if isinstance(ma, Mapping) else ma
            if raw is None or attribute_value.lower() not in str(raw).lower():
                continue
        age = letter.age_seconds(now)
        if age < min_age_s or (max_age_s is not None and age > max_age_s):
            continue
        out.append(letter)
    return out


def to_export_json(letters: Iterable[DeadLetter]) -> str:
    """The shown messages as a JSON array (what the export button downloads)."""
    rows = []
    for letter in letters:
        row = letter.as_row()
        row["decoded"] = letter.decoded
        row["attributes"] = dict(letter.attributes)
        rows.append(row)
    return json.dumps(rows, indent=2, default=str)
