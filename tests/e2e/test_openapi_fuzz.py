"""schemathesis over docs/openapi.json against the local stage: no 5xx, and every answer is what the document
says (status code, content type, body schema). Generated requests carry the stage's key; a few hundred in all,
bounded per operation, all to loopback."""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.e2e.harness import LocalStage, start_stage

pytestmark = pytest.mark.heavy(seconds=95)

SCHEMA = schemathesis.openapi.from_path(str(Path(__file__).resolve().parents[2] / "docs" / "openapi.json"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
FUZZED: list[int] = []


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> LocalStage:
    st = start_stage({}, state_dir=tmp_path_factory.mktemp("relay-fuzz"))
    yield st
    print(f"\nschemathesis: {len(FUZZED)} requests, statuses {sorted(set(FUZZED))}")
    code = st.stop()
    assert code == 0, f"relay up must exit 0 after SIGINT, got {code}: {''.join(st.lines[-20:])}"


@SCHEMA.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_answers_match_the_document_and_never_5xx(case, stage: LocalStage) -> None:
    response = case.call_and_validate(base_url=stage.api, headers=stage.auth, checks=CHECKS, timeout=30)
    FUZZED.append(response.status_code)
    assert response.status_code < 500
