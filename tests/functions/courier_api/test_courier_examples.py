"""Request bodies from Courier's public docs and SDK tests (tests/fixtures/courier_examples.json, each with its
source): accepted as written, except sends to lists and audiences and send-list, which get the clear 422 —
and the one body whose channel ``if`` relay refuses by design. Run with ``-s`` for the count."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.api import handler
from tests.functions.shared.relay_aws import http_event, relay_stage

EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "courier_examples.json").read_text())


@pytest.fixture(scope="module")
def stage():
    with relay_stage() as st:
        yield st


def _call(example: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = handler.lambda_handler(http_event(example["method"], example["path"], example["body"]), None)
    return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else {}


def test_every_example_names_its_source_and_covers_send_automations_and_profiles() -> None:
    assert all(e["source"] and e["expect"] in ("accepted", "refused", "lists") for e in EXAMPLES)
    kinds = {e["path"].split("/")[1] for e in EXAMPLES if e["expect"] == "accepted"}
    assert kinds == {"send", "automations", "profiles"} and len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_courier_example_answered_as_expected(stage, example: dict[str, Any]) -> None:
    status, body = _call(example)
    if example["expect"] == "accepted":
        assert status in (200, 202, 204), body
    elif example["expect"] == "lists":
        assert status == 422 and any(d["type"] == "unsupported" and "does not support" in d["message"]
                                     for d in body["error"]["details"]), body
    else:
        assert status == 422 and any(d["type"] == "unsupported" for d in body["error"]["details"]), body


def test_courier_examples_count(stage) -> None:
    accepted = [e for e in EXAMPLES if e["expect"] == "accepted" and _call(e)[0] in (200, 202, 204)]
    lists = [e for e in EXAMPLES if e["expect"] == "lists" and _call(e)[0] == 422]
    print(f"\nCourier examples: {len(accepted)} of {len(EXAMPLES)} accepted; {len(lists)} lists/audiences/send-list "
          f"refused with the clear 422; {len(EXAMPLES) - len(accepted) - len(lists)} refused by design")
    assert len(accepted) >= 10 and len(accepted) + len(lists) >= len(EXAMPLES) - 1
