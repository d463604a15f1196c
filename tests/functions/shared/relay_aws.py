"""Test helper: a relay stage's storage on moto (real boto3 clients), shared by the handler tests."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

import boto3

STAGE = "test"
BUCKET = f"relay-{STAGE}-requests"
MESSAGES = f"relay-{STAGE}-messages"
LOG = f"relay-{STAGE}-message-log"
STATE = f"relay-{STAGE}-state"
# API keys every relay_stage() holds (the API wants one on every route): http_event() sends TEST_API_KEY
TEST_API_KEY = "relay_test-key-with-every-scope-0000000000000000"
READ_API_KEY = "relay_test-key-read-only-00000000000000000000000"
SEND_API_KEY = "relay_test-key-send-only-00000000000000000000000"
TEST_KEYS = (("test-all", TEST_API_KEY, "send,read"), ("test-read", READ_API_KEY, "read"),
             ("test-send", SEND_API_KEY, "send"))


@dataclass
class Stage:
    """Handles on the emulated stage."""

    s3: Any
    ddb: Any
    bucket: str = BUCKET
    messages: str = MESSAGES
    log: str = LOG
    state: str = STATE

    def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def items(self, table: str) -> list[dict]:
        return boto3.resource("dynamodb").Table(table).scan()["Items"]

    def clear(self) -> None:
        """Empty the bucket and the tables (cheaper than a new mock per test), and forget wired ports."""
        keys = self.keys("")
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
        for name in (self.messages, self.log, self.state):
            table = boto3.resource("dynamodb").Table(name)
            with table.batch_writer() as batch:
                for item in table.scan(ProjectionExpression="pk, sk")["Items"]:
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        seed_api_keys(self.ddb)
        _reset_handlers()


def seed_api_keys(ddb: Any, table: str = STATE) -> None:
    """Store :data:`TEST_KEYS` through the real create verb, with their fixed secrets."""
    from unittest import mock

    from functions.api import keys

    for name, secret, scopes in TEST_KEYS:
        with mock.patch.object(keys, "new_key", lambda s=secret: s):
            keys.create_key(ddb, table, name, scopes)


def _kv(name: str, kind: str = "S") -> dict:
    return {"AttributeName": name, "AttributeType": kind}


def create_tables(ddb: Any) -> None:
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    for name in (MESSAGES, STATE):
        ddb.create_table(TableName=name, KeySchema=key, AttributeDefinitions=[_kv("pk"), _kv("sk")],
                         BillingMode="PAY_PER_REQUEST")
    gsis = [{"IndexName": f"by_{a}", "KeySchema": [{"AttributeName": b, "KeyType": "HASH"},
                                                    {"AttributeName": "updatedAt", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}
            for a, b in (("recipient", "recipient"), ("status", "status"), ("run", "runId"), ("request", "requestId"),
                         ("trace", "traceId"))]
    ddb.create_table(TableName=LOG, KeySchema=key, BillingMode="PAY_PER_REQUEST", GlobalSecondaryIndexes=gsis,
                     AttributeDefinitions=[_kv("pk"), _kv("sk"), _kv("recipient"), _kv("status"), _kv("runId"),
                                           _kv("requestId"), _kv("traceId"), _kv("updatedAt", "N")])


@contextlib.contextmanager
def relay_stage(extra_env: dict[str, str] | None = None) -> Iterator[Stage]:
    """moto in-process with the stage's bucket and tables, and the functions' environment set."""
    from moto import mock_aws

    from functions.shared import aws
    from functions.shared.settings import reset_settings

    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": STAGE, "REQUEST_BUCKET": BUCKET, "MESSAGE_TABLE": MESSAGES, "LOG_TABLE": LOG,
        "STATE_TABLE": STATE, "JOB_QUEUE_URL": "", "PROVIDERS": "", "FETCH_ALLOW": "",
        "API_MAX_BODY_BYTES": "262144", "MESSAGE_RETENTION_DAYS": "30", **(extra_env or {}),
    }
    saved = {k: os.environ.get(k) for k in [*env, "AWS_ENDPOINT_URL"]}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    reset_settings()
    aws.reset_clients()
    _reset_handlers()
    try:
        with mock_aws():
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            ddb = boto3.client("dynamodb")
            create_tables(ddb)
            seed_api_keys(ddb)
            yield Stage(s3=s3, ddb=ddb)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        aws.reset_clients()
        _reset_handlers()


def _reset_handlers() -> None:
    import sys

    for name in ("functions.send_worker.handler", "functions.api.handler"):
        mod = sys.modules.get(name)
        if mod is not None:
            mod.reset_ports()


def s3_put_event(bucket: str, key: str) -> dict:
    """An S3 ObjectCreated:Put event as AWS delivers it (the key URL-encoded)."""
    from urllib.parse import quote_plus

    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T08:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "send",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": "0", "sequencer": "0"}},
    }]}


def http_event(method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
               query: dict[str, str] | None = None, base64_body: bool = False, raw: bool = False) -> dict:
    """An HTTP API payload v2 event (what a Function URL / HTTP API hands to Lambda).

    It carries ``Authorization: Bearer TEST_API_KEY`` unless ``headers`` sets ``authorization`` (None: none).
    """
    import base64
    import json as _json
    from urllib.parse import urlencode

    hdrs = {"content-type": "application/json", "host": "example.lambda-url.us-east-1.on.aws",
            "user-agent": "pytest", "authorization": f"Bearer {TEST_API_KEY}"}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    if body is None:
        text = None
    elif raw:
        text = body if isinstance(body, str) else body.decode("utf-8", "surrogateescape")
    else:
        text = _json.dumps(body)
    if base64_body and text is not None:
        data = body if (raw and isinstance(body, bytes)) else text.encode("utf-8", "surrogatepass")
        text = base64.b64encode(data).decode()
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path,
        "rawQueryString": urlencode(query or {}), "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012", "apiId": "example", "domainName": "example.lambda-url.us-east-1.on.aws",
            "domainPrefix": "example", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                                "sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "requestId": "req-ctx", "routeKey": "$default", "stage": "$default",
            "time": "27/Nov/2026:08:00:00 +0000", "timeEpoch": 1800000000000,
        },
        "isBase64Encoded": bool(base64_body and text is not None),
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if text is not None:
        event["body"] = text
    return event
