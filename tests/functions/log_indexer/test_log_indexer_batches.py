"""Log indexer batches: one VIEW write per message, failures per record, convergence under replay (Hypothesis)."""
from __future__ import annotations

import threading
from typing import Any, Mapping

import boto3
import pytest
from hypothesis import given, settings, strategies as st
from moto import mock_aws

from functions.log_indexer.adapters import DynamoLogStore
from functions.log_indexer.core import newer, plan_batch, view_item, view_order
from functions.log_indexer.handler import index_records

_STATUSES = ["ENQUEUED", "SENT", "DELIVERED", "UNDELIVERABLE", "UNROUTABLE", "CANCELED"]


class MemoryLogStore:
    """The conditional write's semantics in memory (newest by ts, status rank, event sk), counting calls."""

    def __init__(self, fail_pks: set[str] | None = None) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.fail_pks = fail_pks or set()
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def put_view_if_newer(self, view: Mapping[str, Any]) -> bool:
        with self._lock:
            self.calls += 1
            self.threads.add(threading.current_thread().name)
            if view["pk"] in self.fail_pks:
                raise RuntimeError("ProvisionedThroughputExceededException")
            if not newer(view, self.views.get(view["pk"])):
                return False
            self.views[view["pk"]] = dict(view)
            return True


def _image(mid: str, ts: int, seq: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"pk": f"MSG#{mid}", "sk": f"EVT#{ts:013d}#{seq:02d}#{status}", "messageId": mid, "status": status,
            "ts": ts, "recipient": "u-1", "requestId": "req_1", "channel": "email", **extra}


def _records(images: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{i:021d}", image) for i, image in enumerate(images)]


def test_a_batch_writes_one_view_per_message_the_newest():
    # GIVEN a send-shaped batch: three messages with ENQUEUED, SENT, DELIVERED each
    images = [_image(f"m{m}", 1_000 + 10 * m + e, e, s) for m in range(3) for e, s in
              enumerate(["ENQUEUED", "SENT", "DELIVERED"])]
    store = MemoryLogStore()
    # WHEN it is indexed
    failed = index_records(_records(images), store)
    # THEN three writes, each the message's DELIVERED
    assert failed == [] and store.calls == 3
    assert {v["status"] for v in store.views.values()} == {"DELIVERED"}


def test_writes_run_on_the_invocations_named_workers():
    images = [_image(f"m{m}", 1_000 + m, 0, "ENQUEUED") for m in range(40)]
    store = MemoryLogStore()
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("failed", index_records(_records(images), store, writers=8)),
                         name="invoke-relay-test-log-indexer")
    t.start()
    t.join()
    assert box["failed"] == [] and store.calls == 40
    assert len(store.threads) > 1 and all(n.startswith("invoke-relay-test-log-indexer") for n in store.threads)


def test_a_failed_write_reports_every_record_folded_into_it():
    images = [_image("ok", 1_000, 0, "ENQUEUED"), _image("bad", 1_001, 0, "ENQUEUED"),
              _image("ok", 1_002, 1, "SENT"), _image("bad", 1_003, 1, "SENT")]
    store = MemoryLogStore(fail_pks={"MSG#bad"})
    failed = index_records(_records(images), store)
    assert failed == [f"{1:021d}", f"{3:021d}"]
    assert store.views["MSG#ok"]["status"] == "SENT"


def test_a_malformed_event_fails_alone_and_the_rest_of_its_message_is_indexed():
    images = [_image("m", 1_000, 0, "ENQUEUED"), {"pk": "MSG#m", "sk": "EVT#0000000002000#01#SENT", "messageId": "m"},
              {"pk": "OTHER#x", "sk": "META"}]
    plan = plan_batch(_records(images) + [("removed", None)])
    assert [rid for rid, _ in plan.malformed] == [f"{1:021d}"] and plan.ignored == 2
    store = MemoryLogStore()
    assert index_records(_records(images), store) == [f"{1:021d}"]
    assert store.views["MSG#m"]["status"] == "ENQUEUED"


def _fold(images: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The VIEWs one record at a time would leave: the reference the batches must converge on."""
    out: dict[str, dict[str, Any]] = {}
    for image in images:
        candidate = view_item(image)
        if newer(candidate, out.get(candidate["pk"])):
            out[candidate["pk"]] = candidate
    return out


_events = st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.integers(0, 5), st.integers(0, 3),
                             st.sampled_from(_STATUSES)), min_size=1, max_size=14)


@settings(max_examples=150, deadline=None)
@given(_events, st.randoms(use_true_random=False), st.integers(1, 6))
def test_replayed_duplicated_and_reordered_batches_converge_on_the_same_views(events, rnd, batch_size):
    # GIVEN a message stream, delivered in batches as Lambda may: split anywhere, batches retried after a
    # partial failure (a replay of records already indexed), records duplicated and arriving out of order
    images = [_image(m, 1_000 + ts, seq, s) for m, ts, seq, s in events]
    delivery = list(images) + rnd.sample(images, k=rnd.randint(0, len(images)))
    rnd.shuffle(delivery)
    batches = [delivery[i:i + batch_size] for i in range(0, len(delivery), batch_size)]
    batches += [rnd.choice(batches) for _ in range(rnd.randint(0, 3))]  # whole-batch retries
    store = MemoryLogStore()
    # WHEN every batch is indexed
    for batch in batches:
        assert index_records(_records(batch), store, writers=3) == []
    # THEN the VIEWs are those of indexing every event once, in order
    assert store.views == _fold(images)


@settings(max_examples=100, deadline=None)
@given(_events)
def test_coalescing_writes_at_most_one_view_per_message(events):
    images = [_image(m, 1_000 + ts, seq, s) for m, ts, seq, s in events]
    plan = plan_batch(_records(images))
    assert len(plan.views) == len({i["pk"] for i in images})
    for view in plan.views:
        mine = [view_item(i) for i in images if i["pk"] == view["pk"]]
        assert view_order(view) == max(view_order(v) for v in mine)


@pytest.fixture
def dynamo_log(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from functions.shared.aws import reset_clients

    with mock_aws():
        reset_clients()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="log", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}])
        yield ddb
    reset_clients()


def test_the_real_conditional_write_converges_like_the_reference(dynamo_log):
    # the DynamoDB condition, not the in-memory one: older, equal and newer candidates in shuffled batches
    images = [_image("m1", 1_000, 0, "ENQUEUED"), _image("m1", 1_050, 1, "SENT"), _image("m1", 1_050, 2, "DELIVERED"),
              _image("m2", 2_000, 0, "ENQUEUED"), _image("m2", 2_000, 1, "UNDELIVERABLE", reason="BOUNCED"),
              _image("m3", 3_000, 1, "SENT"), _image("m3", 3_000, 3, "SENT")]
    store = DynamoLogStore("log", max_connections=16)
    for batch in ([images[2], images[5]], [images[0], images[1], images[4]], images, [images[3], images[6]]):
        assert index_records(_records(batch), store) == []
    from functions.shared.dynamo_values import item_to_plain

    stored = {i["pk"]: i for i in map(item_to_plain, dynamo_log.scan(TableName="log")["Items"])}
    expected = _fold(images)
    assert {pk: (v["status"], v["eventSk"]) for pk, v in stored.items()} == \
        {pk: (v["status"], v["eventSk"]) for pk, v in expected.items()}
    assert stored["MSG#m2"]["reason"] == "BOUNCED"
