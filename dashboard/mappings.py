"""The stage's event source mappings: read them, pause and resume them, and the log indexer's parallelization
factor (no streamlit).

Pausing is ``UpdateEventSourceMapping Enabled=false``: Lambda stops polling, so the job queue keeps its
jobs and the stream keeps its records (24 h) until the mapping is resumed — what on-call wants while a
downstream is down and every attempt would only fill a DLQ. Who paused it and why is kept in the stage
(``PAUSE#<stage>`` items of the audit table) so every console shows it, and the overview keeps saying so
while it lasts.

Validation an operator can get wrong happens before any AWS call and raises a :mod:`dashboard.errors`
exception with a stable code and a readable message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from dashboard.errors import InvalidFactor, NotAStreamSource

__all__ = ["check_factor", "event_source_mapping", "set_parallelization_factor", "MAPPINGS", "MappingState",
           "set_mapping_enabled", "record_pause", "mapping_states"]

# which mapping, by the output naming its UUID, and how the console calls it
MAPPINGS = {"job": ("job_worker_esm_uuid", "job queue → job worker"),
            "stream": ("log_indexer_esm_uuid", "message stream → log indexer")}


def check_factor(factor: int) -> int:
    """Raise :class:`InvalidFactor` unless 1 <= factor <= 10."""
    if not isinstance(factor, int) or isinstance(factor, bool) or not 1 <= factor <= 10:
        raise InvalidFactor(f"parallelization factor {factor!r} is out of range: a stream mapping takes 1 to 10 "
                            "concurrent batches per shard. The mapping was not changed.")
    return factor


def event_source_mapping(lam: Any, uuid: str) -> dict[str, Any]:
    """The mapping's current settings and state."""
    m = lam.get_event_source_mapping(UUID=uuid)
    m.pop("ResponseMetadata", None)
    return m


def set_parallelization_factor(lam: Any, uuid: str, factor: int) -> tuple[int, int]:
    """Update the stream mapping's ParallelizationFactor; returns ``(before, after)`` as AWS reports them."""
    check_factor(factor)
    current = event_source_mapping(lam, uuid)
    source = str(current.get("EventSourceArn", ""))
    if ":dynamodb:" not in source and ":kinesis:" not in source:
        raise NotAStreamSource(f"mapping {uuid} reads {source or 'an unknown source'}: ParallelizationFactor "
                               "applies to DynamoDB and Kinesis stream sources only. Nothing was changed.")
    before = int(current.get("ParallelizationFactor", 1))
    after = lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=factor)
    return before, int(after.get("ParallelizationFactor", factor))


@dataclass(frozen=True)
class MappingState:
    """One mapping as the overview shows it; ``paused_*`` come from the stage's pause record."""

    key: str
    label: str
    uuid: str
    state: str
    paused_by: str = ""
    reason: str = ""
    paused_at: str = ""

    @property
    def paused(self) -> bool:
        """Lambda is not polling it (``Disabled``, or on its way there)."""
        return self.state in ("Disabled", "Disabling")

    def paused_for(self, now: datetime | None = None) -> str:
        """`` for 40 s`` / `` for 12 min`` / `` for 3.5 h`` — or empty without a pause record."""
        s = self.paused_for_s(now)
        if s is None:
            return ""
        return f" for {s:.0f} s" if s < 120 else (f" for {s / 60:.0f} min" if s < 7200 else f" for {s / 3600:.1f} h")

    def paused_for_s(self, now: datetime | None = None) -> float | None:
        """Seconds since it was paused (None without a pause record)."""
        if not self.paused_at:
            return None
        now = now or datetime.now(timezone.utc)
        return max(0.0, (now - datetime.fromisoformat(self.paused_at)).total_seconds())


def set_mapping_enabled(lam: Any, uuid: str, enabled: bool) -> tuple[str, str]:
    """Pause (``enabled=False``) or resume a mapping; returns its ``State`` before and after the update."""
    before = str(event_source_mapping(lam, uuid).get("State", "?"))
    after = lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
    return before, str(after.get("State", "?"))


def _pause_key(stage: str, uuid: str) -> dict[str, Any]:
    return {"pk": {"S": f"PAUSE#{stage}"}, "sk": {"S": uuid}}


def record_pause(ddb: Any, audit_table: str, stage: str, uuid: str, *, paused: bool, by: str = "",
                 reason: str = "") -> None:
    """Keep (``paused``) or clear who paused mapping ``uuid`` and why."""
    if not paused:
        ddb.delete_item(TableName=audit_table, Key=_pause_key(stage, uuid))
        return
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ddb.put_item(TableName=audit_table, Item={**_pause_key(stage, uuid), "by": {"S": by}, "reason": {"S": reason},
                                              "at": {"S": at}})


def mapping_states(lam: Any, ddb: Any, outputs: Mapping[str, Any]) -> list[MappingState]:
    """The stage's mappings (job queue, stream) with their state and, when paused, who, why and since when."""
    stage, table = str(outputs.get("stage", "")), str(outputs.get("audit_table", ""))
    pauses: dict[str, dict[str, str]] = {}
    if table:
        resp = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": f"PAUSE#{stage}"}})
        pauses = {i["sk"]["S"]: {k: v.get("S", "") for k, v in i.items()} for i in resp.get("Items", [])}
    out = []
    for key, (output, label) in MAPPINGS.items():
        uuid = str(outputs.get(output, ""))
        if not uuid:
            continue
        state = str(event_source_mapping(lam, uuid).get("State", "?"))
        p = pauses.get(uuid, {}) if state in ("Disabled", "Disabling") else {}
        out.append(MappingState(key, label, uuid, state, p.get("by", ""), p.get("reason", ""), p.get("at", "")))
    return out
