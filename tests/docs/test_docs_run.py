"""The README and docs run as written: every shell block runs against a local stage (or says why it cannot),
and every answer it shows is the answer the stage gives."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.docs.doc_blocks import SHELLS, BashSession, blocks, chunks, matches, parse_shape, session_env

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("*/README.md")),
        *sorted(ROOT.glob("*/*/README.md"))]


def _shell_blocks(path: Path):
    return [b for b in blocks(path) if b.lang in SHELLS]


def test_every_shell_block_runs_or_says_why_not() -> None:
    missing = [b.where for p in DOCS for b in _shell_blocks(p) if not b.directive]
    assert missing == [], ("each shell block needs <!-- run --> or <!-- not run: why --> on the line before it: "
                           f"{missing}")
    assert any(b.directive == "run" for b in _shell_blocks(ROOT / "README.md")), "the README's examples run"


def test_every_answer_shown_is_a_valid_shape() -> None:
    for path in DOCS:
        for block in _shell_blocks(path):
            for _, shape in chunks(block.text):
                if shape is not None:
                    parse_shape(shape)  # raises on a malformed shape, naming it


@pytest.mark.parametrize(("value", "shape", "ok"), [
    ({"requestId": "req_01ABC"}, '{"requestId": "req_..."}', True),
    ({"requestId": "run_01ABC"}, '{"requestId": "req_..."}', False),
    ({"requestId": "req_1", "statusRank": 3}, '{"requestId": "req_..."}', False),  # undocumented field
    ({"a": 1}, '{"a", "b"?}', True),
    ({"b": 1}, '{"a", "b"?}', False),  # missing field
    ({"items": [{"id": "x", "reason": "r"}, {"id": "y"}]}, '{"items": [{"id", "reason"?}]}', True),
    ({"items": [{"id": "x", "extra": 1}]}, '{"items": [{"id", "reason"?}]}', False),
    ({"items": "no"}, '{"items": [...]}', False),
    ({"status": "COMPLETED"}, '{"status": "COMPLETED"}', True),
    ({"status": "PENDING"}, '{"status": "COMPLETED"}', False),
])
def test_shape_matching_is_exact_about_fields_and_values(value, shape, ok) -> None:
    assert (matches(value, parse_shape(shape)[1]) == []) is ok


@pytest.fixture(scope="module")
def stage() -> Iterator:
    from relay.local.stage import LocalStage, local_aws_env

    with LocalStage("local") as st:
        yield st, local_aws_env(st.endpoint_url)


def _run_document(path: Path, env: dict[str, str]) -> list[str]:
    """Run every run-block of ``path`` in one session; every difference from what the document shows."""
    failures: list[str] = []
    shell = BashSession(session_env(env), ROOT)
    try:
        for block in _shell_blocks(path):
            if block.directive != "run":
                continue
            for commands, shape in chunks(block.text):
                out = shell.run(commands)
                if shape is None:
                    continue
                status, expected = parse_shape(shape)
                body = out.strip()
                if status is not None:
                    body, _, code = body.rpartition("\n")
                    if code.strip() != str(status):
                        failures.append(f"{block.where}: status {code.strip()!r}, the document shows {status}")
                try:
                    value = json.loads(body)
                except ValueError:
                    failures.append(f"{block.where}: not JSON: {body[:300]!r}\n  after: {commands.strip()[:300]}")
                    continue
                failures += [f"{block.where}: {e}" for e in matches(value, expected)]
    finally:
        shell.close()
    return failures


def test_readme_examples_run_as_written_with_the_answers_shown(stage) -> None:
    _, env = stage
    failures = _run_document(ROOT / "README.md", env)
    assert failures == [], "\n".join(failures)


def test_docs_examples_run_as_written_with_the_answers_shown(stage) -> None:
    _, env = stage
    failures = [f for path in DOCS[1:] for f in _run_document(path, env)
                if any(b.directive == "run" for b in _shell_blocks(path))]
    assert failures == [], "\n".join(failures)
