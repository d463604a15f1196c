"""The only module with ``st.cache_*``: thin cached wrappers over :mod:`dashboard.ops` reads.

Arguments are plain strings/ints so they hash; TTLs are short because an on-call engineer must see
the truth, and every action clears the caches (:func:`clear`) before the page reruns.
"""
from __future__ import annotations

import getpass
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import streamlit as st

from dashboard import ops
from dashboard.audit import AuditLog
from dashboard.aws import Aws, clients, endpoint_url
from dashboard.letters import DeadLetter
from dashboard.mappings import MappingState
from dashboard.resend import resend_source
from dashboard.snapshot import StageSnapshot, take_snapshot
from dashboard.stages import stage_config
from dashboard.task_store import Task, TaskStore

__all__ = ["aws", "stages", "snapshot", "dead_letters", "dlq_count", "depth", "series", "mapping", "move_tasks",
           "audit_records", "log_search", "timeline", "actor_identity", "api_keys", "suppressions", "clear",
           "bulk_tasks", "task_rows", "mapping_states", "export_body", "resend_of", "named_templates"]


def aws(region: str = "us-east-1") -> Aws:
    """The boto3 clients (:func:`dashboard.aws.clients`: one set per endpoint and region)."""
    return clients(region)


@st.cache_data(ttl=30, show_spinner=False)
def _stages(endpoint: str) -> dict[str, dict[str, Any]]:
    return ops.discover_stages(aws().ssm)


def stages(refresh: bool = False) -> dict[str, dict[str, Any]]:
    """Published stages (``/relay/<stage>/outputs``) at the current endpoint; ``refresh`` re-reads SSM."""
    if refresh:
        _stages.clear()
    return _stages(endpoint_url())


@st.cache_data(ttl=10, show_spinner=False)
def snapshot(stage: str, outputs_json: str) -> StageSnapshot:
    outputs = json.loads(outputs_json)
    cfg, _ = stage_config(stage)
    a = aws(outputs.get("region", "us-east-1"))
    return take_snapshot(a.sqs, a.cloudwatch, outputs, cfg)


@st.cache_data(ttl=10, show_spinner=False)
def dead_letters(url: str, kind: str, limit: int, state_table: str = "") -> list[DeadLetter]:
    letters = ops.peek(aws().sqs, url, kind, limit)
    if kind == "job" and state_table:
        letters = ops.explain_job_failures(aws().dynamodb, state_table, letters)
    return letters


@st.cache_data(ttl=5, show_spinner=False)
def depth(url: str) -> ops.QueueDepth:
    return ops.queue_depth(aws().sqs, url)


def dlq_count(url: str) -> int:
    """Every message in the queue (visible, in flight, delayed)."""
    return depth(url).total


@st.cache_data(ttl=60, show_spinner=False)
def series(specs: tuple[tuple[Any, ...], ...], hours: float, period: int) -> dict[str, list[tuple[datetime, float]]]:
    """``specs`` are :class:`ops.MetricSpec` field tuples (plain values hash reliably)."""
    specs_ = [ops.MetricSpec(*s) for s in specs]
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return ops.metrics_batch(aws().cloudwatch, specs_, end - timedelta(hours=hours), end, period)


@st.cache_data(ttl=5, show_spinner=False)
def mapping(uuid: str) -> dict[str, Any]:
    return ops.event_source_mapping(aws().lambda_, uuid)


@st.cache_data(ttl=3, show_spinner=False)
def move_tasks(dlq_arn: str) -> list[dict[str, Any]]:
    return ops.redrive_tasks(aws().sqs, dlq_arn)


@st.cache_data(ttl=5, show_spinner=False)
def audit_records(table: str, stage: str, limit: int = 200) -> list[dict[str, Any]]:
    return AuditLog(aws().dynamodb, table, stage).list(limit)


@st.cache_data(ttl=10, show_spinner=False)
def api_keys(state_table: str) -> list[dict[str, Any]]:
    return ops.list_api_keys(aws().dynamodb, state_table)


@st.cache_data(ttl=10, show_spinner=False)
def named_templates(bucket: str, prefix: str) -> list[str]:
    """Names under ``templates/`` or ``automation-templates/`` (the listing ``relay templates list`` prints)."""
    from relay.templates_cli import list_named

    return list_named(aws().client("s3"), bucket, prefix)


@st.cache_data(ttl=10, show_spinner=False)
def suppressions(state_table: str, channel: str) -> list[dict[str, Any]]:
    return ops.list_suppressions(aws().dynamodb, state_table, channel)


@st.cache_data(ttl=10, show_spinner=False)
def log_search(table: str, by: str, value: str, limit: int) -> list[dict[str, Any]]:
    return ops.search_message_log(aws().dynamodb, table, by, value, limit)


@st.cache_data(ttl=10, show_spinner=False)
def timeline(message_table: str, message_id: str) -> list[dict[str, Any]]:
    return ops.message_timeline(aws().dynamodb, message_table, message_id)


@st.cache_data(ttl=1, show_spinner=False)
def bulk_tasks(table: str, stage: str, limit: int = 30) -> list[Task]:
    """The stage's newest bulk actions (short TTL: their progress is what the operator watches)."""
    return TaskStore(aws().dynamodb, table, stage).list(limit)


@st.cache_data(ttl=1, show_spinner=False)
def task_rows(table: str, stage: str, task_id: str) -> list[dict[str, Any]]:
    """A search's first matches as table rows."""
    return TaskStore(aws().dynamodb, table, stage).rows(task_id)


@st.cache_data(ttl=5, show_spinner=False)
def mapping_states(outputs_json: str) -> list[MappingState]:
    """The stage's event source mappings with their pause records."""
    return ops.mapping_states(aws().lambda_, aws().dynamodb, json.loads(outputs_json))


@st.cache_data(ttl=60, show_spinner=False)
def export_body(bucket: str, key: str) -> bytes:
    """A finished export (``exports/<taskId>.json`` in the request store)."""
    return aws().client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@st.cache_data(ttl=60, show_spinner=False)
def resend_of(bucket: str, request_id: str) -> str | None:
    """The message a request repeats, when it is a resend."""
    return resend_source(bucket, request_id)


@st.cache_data(ttl=3600, show_spinner=False)
def actor_identity(endpoint: str) -> str:
    """The caller's AWS identity ARN (the audit actor when no login is configured)."""
    try:
        return str(aws().client("sts").get_caller_identity()["Arn"])
    except Exception:  # noqa: BLE001 - no identity is not fatal for a read-only look
        return getpass.getuser()


def clear() -> None:
    """Forget every cached read (after an action, so the page shows its effect)."""
    st.cache_data.clear()
