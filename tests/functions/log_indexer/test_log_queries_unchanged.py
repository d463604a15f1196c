"""The API's and the console's message queries answer the same messages as before the indexer changed (Hypothesis).

The same traffic is indexed twice: by the writer as it was (a timeline copy and a conditional VIEW per record,
one after another: ``bench.indexer.sequential_index``) into one message-log table, and by today's indexer
(coalesced, concurrent, no copy) in arbitrary batches into another. Every query the API and the console make
must then return the same messages, and a message's timeline (now read from the messages table) the same events.
"""
from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from moto import mock_aws

from bench.indexer import sequential_index
from dashboard.message_log import SEARCH_INDEXES, message_timeline, search_message_log
from functions.log_indexer.adapters import DynamoLogStore
from functions.log_indexer.handler import index_records
from functions.shared.dynamo_values import plain_to_item
from tests.functions.automations.moto_stage import _table

# what the send worker and the feedback function write for one message, in order
LIVES = (("ENQUEUED",), ("ENQUEUED", "SENT"), ("ENQUEUED", "SENT", "DELIVERED"), ("ENQUEUED", "UNDELIVERABLE"),
         ("ENQUEUED", "UNROUTABLE"), ("ENQUEUED", "CANCELED"), ("ENQUEUED", "SENT", "UNDELIVERABLE"))
RECIPIENTS, REQUESTS, RUNS = ("u-1", "u-2", "ada@example.com"), ("req_A", "req_B"), ("run_A", None)


@pytest.fixture(scope="module")
def aws_env():
    patch = pytest.MonkeyPatch()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        patch.setenv(k, v)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")
    patch.undo()


_traffic = st.lists(st.tuples(st.sampled_from(LIVES), st.sampled_from(RECIPIENTS), st.sampled_from(REQUESTS),
                              st.sampled_from(RUNS), st.integers(0, 40)), min_size=1, max_size=10)


def _events(traffic: list[tuple]) -> list[dict[str, Any]]:
    """Message event items in the order the stream would carry them (each message's own events in order)."""
    per_message = []
    for n, (life, recipient, request, run, start) in enumerate(traffic):
        mid = f"msg_{n:04d}"
        items = []
        for seq, status in enumerate(life):
            ts = 1_800_000_000_000 + start * 7 + seq * 3
            item = {"pk": f"MSG#{mid}", "sk": f"EVT#{ts:013d}#{seq:02d}#{status}", "messageId": mid,
                    "requestId": request, "recipient": recipient, "channel": "email", "status": status, "ts": ts,
                    "expiresAt": ts // 1000 + 86_400}
            if run:
                item["runId"] = run
            if status != "ENQUEUED":
                item.update(provider="outbox", deliveryId=f"dlv_{n}")
            if status == "UNDELIVERABLE":
                item["reason"] = "BOUNCED"
            items.append(item)
        per_message.append(items)
    # interleave messages the way concurrent send workers do, keeping each message's order
    out, cursors = [], [0] * len(per_message)
    while any(c < len(p) for c, p in zip(cursors, per_message)):
        for i, p in enumerate(per_message):
            if cursors[i] < len(p):
                out.append(p[cursors[i]])
                cursors[i] += 1
    return out


def _api_queries(log_table: str) -> dict[str, Any]:
    from functions.api.adapters import DynamoStatusReader
    from functions.shared.aws import reset_clients

    reset_clients()
    reader = DynamoStatusReader(log_table, "unused-state")
    answers: dict[str, Any] = {}
    for r in RECIPIENTS:
        for s in (None, "DELIVERED", "ENQUEUED"):
            items, _ = reader.messages(recipient=r, status=s, limit=100, start=None)
            answers[f"recipient={r},status={s}"] = _canonical(items)
    for s in ("ENQUEUED", "SENT", "DELIVERED", "UNDELIVERABLE", "UNROUTABLE", "CANCELED"):
        items, _ = reader.messages(recipient=None, status=s, limit=100, start=None)
        answers[f"status={s}"] = _canonical(items)
    for req in REQUESTS:
        answers[f"request={req}"] = _canonical(reader.request_messages(req))
    return answers


def _console_queries(ddb: Any, log_table: str) -> dict[str, Any]:
    values = {"recipient": RECIPIENTS, "status": ("ENQUEUED", "SENT", "DELIVERED", "UNDELIVERABLE"),
              "run": ("run_A",), "request": REQUESTS}
    return {f"{by}={v}": _canonical(search_message_log(ddb, log_table, by, v, 1000))
            for by in SEARCH_INDEXES for v in values[by]}


def _canonical(items: list[dict[str, Any]]) -> list[tuple]:
    # GSIs order by updatedAt; ties have no defined order, so compare sorted, whole items
    return sorted((str(i.get("updatedAt")), str(i.get("messageId")), repr(sorted(i.items()))) for i in items)


# each example is ~200 calls into moto (two indexers, then every query twice): a few seconds
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_traffic, st.integers(1, 7), st.randoms(use_true_random=False))
def test_api_and_console_queries_return_the_same_messages_as_before(aws_env, traffic, batch, rnd):
    ddb = aws_env
    tag = uuid.uuid4().hex[:8]  # not from rnd: a replayed example must not find its tables already there
    messages, before, after = (f"{n}-{tag}" for n in ("messages", "log-before", "log-after"))
    _table(ddb, messages)
    for t in (before, after):
        _table(ddb, t, gsis=("recipient", "status", "runId", "requestId"))
    events = _events(traffic)
    for item in events:
        ddb.put_item(TableName=messages, Item=plain_to_item(item))
    records = [(f"{i:021d}", item) for i, item in enumerate(events)]

    # GIVEN the same traffic indexed by the writer as it was, and by today's indexer in arbitrary batches
    assert sequential_index(records, ddb, before) == []
    store = DynamoLogStore(after)
    store._client = ddb  # noqa: SLF001 - moto's in-process mock, not a fresh session
    cuts = sorted(rnd.sample(range(1, len(records)), k=min(len(records) - 1, len(records) // batch)))
    for lo, hi in zip([0, *cuts], [*cuts, len(records)]):
        assert index_records(records[lo:hi], store, writers=4) == []

    # THEN every API and console query returns the same messages, and every timeline the same events
    assert _api_queries(after) == _api_queries(before)
    assert _console_queries(ddb, after) == _console_queries(ddb, before)
    for n in range(len(traffic)):
        old = message_timeline(ddb, before, f"msg_{n:04d}")  # the copy the old writer kept in the log table
        assert old and message_timeline(ddb, messages, f"msg_{n:04d}") == old
