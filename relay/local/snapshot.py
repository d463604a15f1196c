"""Keep what users care about across a restart of the local stage.

moto keeps everything in memory, and pickling its backends is fragile (locks, caches, temp files).
Instead the emulator writes a small, explicit snapshot when it stops and loads it when it starts:

* **SQS**: every queue (name and attributes) with every message — visible or in flight — keeping body,
  message attributes, receive count and the queue a dead-lettered message came from (so a redrive
  after the restart still sends each message home). DLQ contents survive; in-flight messages come back
  visible, as they would after their visibility timeout.
* **S3**: every bucket and object (body and metadata: content type, user metadata) — the request
  store and outbox.
* **DynamoDB**: every table (keys, attributes, GSIs) and item — runs, message log, audit.

What is *not* kept: functions, mappings, alarms, parameters… — ``relay up`` deploys those again from
the program, which converges on the restored queues, buckets and tables. Restored buckets carry no
notifications and restored tables no stream until the deploy adds them, so restoring never replays
old events through the pipelines.

Restoring fills only queues, buckets and tables that do not exist: a restart inside one process
(tests) finds moto's newer in-memory state and keeps it.

Layout: ``<state_dir>/snapshot.json`` plus ``<state_dir>/blobs/<sha256>`` for object bodies; written
to a temporary name and renamed, so a crash mid-save keeps the previous snapshot.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from relay.local.moto_sqs import ORIGIN_ATTR

__all__ = ["save", "restore", "SNAPSHOT_FILE", "SnapshotSummary"]

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "snapshot.json"
_VERSION = 2
# queue attributes CreateQueue accepts (the rest are computed by SQS)
_QUEUE_ATTRS = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                "VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "SqsManagedSseEnabled", "FifoQueue",
                "ContentBasedDeduplication", "Policy")

ClientFactory = Callable[[str], Any]
SnapshotSummary = dict[str, int]


# ---- save --------------------------------------------------------------------------------------
def save(state_dir: Path | str, client: ClientFactory) -> SnapshotSummary:
    """Write the snapshot of the running emulator (``client(service)`` → boto3 client to it)."""
    state_dir = Path(state_dir)
    tmp = state_dir.with_name(state_dir.name + ".saving")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "blobs").mkdir(parents=True)
    doc = {"version": _VERSION, "savedAt": time.time(), "queues": _save_queues(),
           "buckets": _save_buckets(tmp / "blobs"),
           "tables": _save_tables(client("dynamodb"), client("sts").get_caller_identity()["Account"])}
    (tmp / SNAPSHOT_FILE).write_text(json.dumps(doc))
    # the state dir is shared (the data plane keeps its carry-over file there): the snapshot replaces
    # only what it owns, snapshot.json and blobs/, and takes every other entry along
    if state_dir.exists():
        for entry in state_dir.iterdir():
            if entry.name not in (SNAPSHOT_FILE, "blobs"):
                os.replace(entry, tmp / entry.name)
    old = state_dir.with_name(state_dir.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if state_dir.exists():
        os.replace(state_dir, old)
    os.replace(tmp, state_dir)
    if old.exists():
        shutil.rmtree(old)
    summary = _summary(doc)
    log.info("saved local stage state to %s: %s", state_dir, summary)
    return summary


def _save_queues() -> list[dict]:
    # Read moto's backend directly: the API cannot see in-flight messages without disturbing them,
    # nor the origin of a dead-lettered message.
    from moto.sqs.models import sqs_backends

    out = []
    for account, regions in list(sqs_backends.items()):
        for region, backend in list(regions.items()):
            for queue in list(backend.queues.values()):
                attrs = {k: str(v) for k, v in queue.attributes.items()
                         if k in _QUEUE_ATTRS and v not in (None, "")}
                if isinstance(queue.redrive_policy, dict) and queue.redrive_policy:
                    attrs["RedrivePolicy"] = json.dumps(queue.redrive_policy)
                messages = [{
                    "body": m.body, "attributes": m.message_attributes or {},
                    "receiveCount": m.approximate_receive_count, "sentTimestamp": m.sent_timestamp,
                    "origin": getattr(m, ORIGIN_ATTR, None), "groupId": m.group_id,
                    "deduplicationId": m.deduplication_id,
                    "delayedUntil": m.delayed_until,  # epoch ms: a delayed message stays delayed (DelaySeconds)
                } for m in list(queue._messages)]
                out.append({"account": account, "region": region, "name": queue.name, "attributes": attrs,
                            "tags": dict(getattr(queue, "tags", {}) or {}), "messages": messages})
    return out


def _save_buckets(blobs: Path) -> list[dict]:
    # moto's backend directly: one GetObject per object over HTTP made a big request store slow to save
    from moto.s3.models import s3_backends

    out = []
    for account, partitions in list(s3_backends.items()):
        for partition, backend in list(partitions.items()):
            for bucket in list(backend.buckets.values()):
                objects = []
                for key in list(bucket.keys.values()):
                    body = getattr(key, "value", None)
                    if body is None:  # delete marker
                        continue
                    digest = hashlib.sha256(body).hexdigest()
                    path = blobs / digest
                    if not path.exists():
                        path.write_bytes(body)
                    objects.append({"key": key.name, "blob": digest, "metadata": dict(key.metadata)})
                out.append({"account": account, "partition": partition, "name": bucket.name,
                            "region": bucket.region_name, "objects": objects})
    return out


def _save_tables(ddb: Any, account: str) -> list[dict]:
    # moto's backend directly, under its item lock: a paged Scan restarts from the table's first item on
    # every page (quadratic), so 20,000 items took 23 s of a stop
    from moto.dynamodb.models import dynamodb_backends

    from relay.local.moto_thread_safety import DYNAMODB_LOCK

    # the stage's account and region (restore writes there too); tables elsewhere are not the stage's
    backend = dynamodb_backends[account][ddb.meta.region_name]
    out = []
    for name, table in list(backend.tables.items()):
        t = ddb.describe_table(TableName=name)["Table"]
        with DYNAMODB_LOCK:
            items = [{k: _wire(v) for k, v in item.attrs.items()} for item in table.all_items()]
        out.append({
            "name": name, "keySchema": t["KeySchema"], "attributes": t["AttributeDefinitions"],
            "billingMode": (t.get("BillingModeSummary") or {}).get("BillingMode", "PAY_PER_REQUEST"),
            "gsis": [{"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
                     for g in t.get("GlobalSecondaryIndexes", [])],
            "items": items,
        })
    return out


def _wire(value: Any) -> dict:
    """A moto attribute as DynamoDB wire JSON (binary as the base64 text moto keeps, which restore writes back)."""
    if value.type == "M":
        return {"M": {k: _wire(v) for k, v in value.value.items()}}
    if value.type == "L":
        return {"L": [_wire(v) for v in value.value]}
    if isinstance(value.value, (list, set, tuple)):
        return {value.type: [_text(v) for v in value.value]}
    return {value.type: _text(value.value)}


def _text(v: Any) -> Any:
    # moto keeps a binary as the base64 text it received, or (some paths) as bytes: both written as text
    return base64.b64encode(bytes(v)).decode() if isinstance(v, (bytes, bytearray)) else v


def _all_tables(ddb: Any) -> list[str]:
    names: list[str] = []
    for page in ddb.get_paginator("list_tables").paginate():
        names.extend(page.get("TableNames", []))
    return names


# ---- restore -----------------------------------------------------------------------------------
def restore(state_dir: Path | str, client: ClientFactory) -> SnapshotSummary | None:
    """Load ``<state_dir>/snapshot.json`` into the running emulator; ``None`` if there is none."""
    state_dir = Path(state_dir)
    path = state_dir / SNAPSHOT_FILE
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    if doc.get("version") != _VERSION:
        log.warning("ignoring local stage snapshot %s: version %s, expected %s", path, doc.get("version"), _VERSION)
        return None
    summary = _summary({"queues": _restore_queues(doc.get("queues", []), client("sqs")),
                        "buckets": _restore_buckets(doc.get("buckets", []), client("s3"), state_dir / "blobs"),
                        "tables": _restore_tables(doc.get("tables", []), client("dynamodb"),
                                                  client("sts").get_caller_identity()["Account"])})
    log.info("restored local stage state from %s: %s", state_dir, summary)
    return summary


def _restore_queues(queues: list[dict], sqs: Any) -> list[dict]:
    from moto.sqs.models import Message, sqs_backends

    # only into queues that do not exist yet: in the same process moto still holds the newer state
    missing = [q for q in queues if q["name"] not in sqs_backends[q["account"]][q["region"]].queues]
    # DLQs first: a queue's RedrivePolicy must name a queue that exists
    ordered = sorted(missing, key=lambda q: "RedrivePolicy" in q["attributes"])
    for q in ordered:
        sqs.create_queue(QueueName=q["name"], Attributes=q["attributes"], tags=q.get("tags") or {})
    for q in ordered:
        queue = sqs_backends[q["account"]][q["region"]].queues[q["name"]]
        for m in q["messages"]:
            # built directly: moto's SendMessage costs O(queue depth), which makes a big restore quadratic
            message = Message(str(uuid.uuid4()), m["body"])
            message.message_attributes = m["attributes"] or {}
            message.group_id = m.get("groupId")
            message.deduplication_id = m.get("deduplicationId")
            message.mark_sent()
            if m.get("delayedUntil"):
                message.delayed_until = m["delayedUntil"]
            message.approximate_receive_count = int(m.get("receiveCount") or 0)
            if m.get("sentTimestamp"):
                message.sent_timestamp = m["sentTimestamp"]
            if m.get("origin"):
                setattr(message, ORIGIN_ATTR, m["origin"])
            queue._messages.append(message)
    return ordered


def _restore_buckets(buckets: list[dict], s3: Any, blobs: Path) -> list[dict]:
    from moto.s3.models import s3_backends

    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    done = []
    for b in buckets:
        if b["name"] in existing:
            continue
        done.append(b)
        kw: dict[str, Any] = {}
        region = b.get("region") or s3.meta.region_name
        if region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=b["name"], **kw)
        backend = s3_backends[b["account"]][b["partition"]]
        for o in b["objects"]:
            # the bucket has no notification yet, so this fires no event
            key = backend.put_object(b["name"], o["key"], (blobs / o["blob"]).read_bytes())
            key.set_metadata(dict(o.get("metadata") or {}))
    return done


def _restore_tables(tables: list[dict], ddb: Any, account: str) -> list[dict]:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[account][ddb.meta.region_name]
    existing = set(_all_tables(ddb))
    done = []
    for t in tables:
        if t["name"] in existing:
            continue
        done.append(t)
        kw: dict[str, Any] = {"TableName": t["name"], "KeySchema": t["keySchema"],
                              "AttributeDefinitions": t["attributes"], "BillingMode": "PAY_PER_REQUEST"}
        if t.get("gsis"):
            kw["GlobalSecondaryIndexes"] = t["gsis"]
        ddb.create_table(**kw)
        # items straight into moto's backend (HTTP batches made a big restore take seconds); the table
        # has no stream yet, so this writes no stream records
        for item in t["items"]:
            backend.put_item(t["name"], _wire_binary(item))
    return done


def _wire_binary(value: Any) -> Any:
    """Snapshot JSON → DynamoDB wire JSON (binary values as base64 strings, as moto receives them)."""
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return value["$b64"]
        return {k: _wire_binary(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_binary(v) for v in value]
    return value


def _summary(doc: dict) -> SnapshotSummary:
    return {"queues": len(doc.get("queues", [])),
            "messages": sum(len(q["messages"]) for q in doc.get("queues", [])),
            "objects": sum(len(b["objects"]) for b in doc.get("buckets", [])),
            "items": sum(len(t["items"]) for t in doc.get("tables", []))}
