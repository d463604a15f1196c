"""Build each stage once per test session under Pulumi's mocks (set BEFORE the program is imported)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.infra.infra_stacks import STAGES, BuiltStack, build_stage, stage_config


@pytest.fixture(scope="session")
def stacks() -> dict[str, BuiltStack]:
    """dev, prod and local, each built once from its Pulumi.<stage>.yaml (prod with its alarm recipient)."""
    return {stage: build_stage(stage_config(stage)) for stage in STAGES}


@pytest.fixture(params=STAGES)
def stack(request, stacks) -> Iterator[BuiltStack]:
    yield stacks[request.param]
