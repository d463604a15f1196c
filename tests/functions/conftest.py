"""The handlers' moto stage, shared by the files that drive a handler on it (one per file, emptied per test)."""
from __future__ import annotations

import pytest

from tests.functions.shared.relay_aws import relay_stage


@pytest.fixture(scope="module")
def module_stage():
    with relay_stage() as st:
        yield st


@pytest.fixture
def stage(module_stage):
    module_stage.clear()
    return module_stage
