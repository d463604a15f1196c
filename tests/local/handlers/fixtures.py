"""Fixtures shared by ``tests/local/test_dataplane*.py``: an emulator per test and resource helpers."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any, Callable, Iterator

import pytest

from relay.local.dataplane import DataPlane
from relay.local.emulator import Emulator
from tests.local.handlers import recorder

HANDLER = "tests.local.handlers.recorder.handler"
# one shared value for every test function (functions of one stage share their variables)
TEST_ENV = {"RELAY_TEST_SETTING": "shared-value"}


class Aws:
    """boto3 clients on the emulator plus helpers that create uniquely named resources."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.endpoint_url = emulator.endpoint_url
        self._clients: dict[str, Any] = {}
        self._role: str | None = None
        self.tag = uuid.uuid4().hex[:8]

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    def name(self, base: str) -> str:
        return f"{base}-{self.tag}"

    def role(self) -> str:
        if self._role is None:
            self._role = self("iam").create_role(RoleName=self.name("role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        return self._role

    def function(self, base: str, timeout: int = 3, memory: int = 256, env: dict | None = None,
                 handler: str = HANDLER) -> dict:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("placeholder.py", "")
        return self("lambda").create_function(
            FunctionName=self.name(base), Runtime="python3.13", Role=self.role(), Handler=handler,
            Code={"ZipFile": buf.getvalue()}, Timeout=timeout, MemorySize=memory,
            Environment={"Variables": {**TEST_ENV, **(env or {})}})

    def queue(self, base: str, visibility: int = 30, dlq_arn: str | None = None, max_receive: int = 5) -> tuple[str, str]:
        attrs = {"VisibilityTimeout": str(visibility)}
        if dlq_arn:
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
        url = self("sqs").create_queue(QueueName=self.name(base), Attributes=attrs)["QueueUrl"]
        arn = self("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def stream_table(self, base: str) -> tuple[str, str]:
        name = self.name(base)
        desc = self("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        return name, desc["TableDescription"]["LatestStreamArn"]

    def drain(self, url: str, want: int, timeout: float = 10.0) -> list[dict]:
        """Receive (and delete) until ``want`` messages arrived or ``timeout`` passed."""
        got: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            resp = self("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                               AttributeNames=["All"])
            for m in resp.get("Messages", []):
                got.append(m)
                self("sqs").delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test with a clear message if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {getattr(predicate, '__name__', predicate)}")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0)
    emu.start()
    try:
        yield emu
    finally:
        emu.reset()
        emu.stop()


@pytest.fixture
def aws(emulator: Emulator) -> Iterator[Aws]:
    # one server per module (start/stop cost ~1 s); a reset per test so every data plane sees only its
    # own test's functions and mappings
    recorder.reset()
    emulator.reset()
    try:
        yield Aws(emulator)
    finally:
        recorder.reset()


@pytest.fixture
def plane_factory(aws: Aws) -> Iterator[Callable[..., DataPlane]]:
    planes: list[DataPlane] = []

    def make(**kwargs: Any) -> DataPlane:
        opts = {"poll_interval": 0.2, "stream_poll_interval": 0.05, "metrics_interval": 0.3,
                "async_retry_delays": (0.0, 0.05), "sqs_pollers": 2, "stop_timeout": 5.0}
        opts.update(kwargs)
        plane = DataPlane(aws.endpoint_url, **opts)
        aws.emulator.on_s3_notification(plane.on_s3_notification)
        planes.append(plane)
        return plane

    yield make
    for plane in planes:
        plane.stop()
