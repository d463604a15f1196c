"""One local emulator (moto server with relay's trigger takeover) per test session, on a free port."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.dashboard.stage_fixture import Stage, build_stage

LOCAL_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from relay.local.emulator import Emulator

    emu = Emulator(port=0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture()
def aws_env(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (and so the console under AppTest) at the emulator."""
    for k, v in LOCAL_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return emulator.endpoint_url


@pytest.fixture()
def stage(emulator: Any, aws_env: str) -> Stage:
    """A fresh hand-built stage (unique name) in the emulator."""
    return build_stage(emulator.client)
