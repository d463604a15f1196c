"""Edit before redrive: check an edited dead letter against its contract, and the diff the audit keeps.

* a **job** letter must be a job message the job worker accepts — checked by the automations core's own
  parser (:func:`functions.automations.core.parse_job`), not a copy of its rules;
* an **async** record must still be a Lambda on-failure record of one of the stage's S3-triggered
  functions, and its ``requestPayload`` an S3 event the worker takes — checked by the workers' own
  record policy (:class:`functions.shared.request_events.RequestEventProcessor`), so a record it would
  skip as "not ours" is refused here before anything is sent.

The stream DLQ holds pointers into the stream, not payloads: there is nothing to edit there.
"""
from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["EditCheck", "check_edit", "pretty", "diff", "EDITABLE"]

EDITABLE = ("job", "async")
_quiet = logging.getLogger("dashboard.letter_edit.check")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False  # the policy logs "ignored" records; in a check that is the answer, not news


@dataclass(frozen=True)
class EditCheck:
    """The verdict on an edited body: ``ok``, or every reason it is refused."""

    ok: bool
    errors: list[str] = field(default_factory=list)
    doc: Any = None


def pretty(body: str) -> str:
    """The body as the editor shows it (indented JSON; a body that is not JSON as it is)."""
    try:
        return json.dumps(json.loads(body), indent=2, sort_keys=True)
    except (TypeError, ValueError):
        return body


def diff(before: str, after: str) -> str:
    """A unified diff of the two bodies, pretty-printed first (what the audit record keeps)."""
    lines = difflib.unified_diff(pretty(before).splitlines(), pretty(after).splitlines(), "original", "edited",
                                 lineterm="")
    return "\n".join(lines)


def _prefixes(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The S3-triggered functions and the request-store prefix each takes (docs/CONTRACTS.md)."""
    return {str(outputs.get("send_worker_function", "")): "send/",
            str(outputs.get("request_worker_function", "")): "automations/"}


def _function_name(arn: str) -> str:
    tail = arn.split(":function:", 1)[-1]
    return tail.split(":", 1)[0]


def check_edit(kind: str, body: str, outputs: Mapping[str, Any]) -> EditCheck:
    """Whether ``body`` may be sent in place of a ``kind`` dead letter of the stage with ``outputs``."""
    if kind not in EDITABLE:
        return EditCheck(False, [f"{kind} dead letters cannot be edited (a stream record points into the stream)"])
    if kind == "job":
        from functions.automations.core import BadJob, parse_job

        try:
            parse_job(body)
        except BadJob as err:
            return EditCheck(False, [f"not a job message: {err}"])
        return EditCheck(True, doc=json.loads(body))
    try:
        doc = json.loads(body)
    except ValueError as err:
        return EditCheck(False, [f"not JSON: {err}"])
    if not isinstance(doc, dict):
        return EditCheck(False, ["an async record is a JSON object"])
    errors = []
    arn = (doc.get("requestContext") or {}).get("functionArn") if isinstance(doc.get("requestContext"), dict) else None
    prefix = _prefixes(outputs).get(_function_name(arn)) if isinstance(arn, str) else None
    if prefix is None:
        errors.append("requestContext.functionArn must name one of the stage's S3-triggered functions "
                      f"({', '.join(n for n in _prefixes(outputs) if n)})")
    payload = doc.get("requestPayload")
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list) or not payload["Records"]:
        errors.append("requestPayload must be an S3 event with at least one record")
    elif prefix is not None:
        from functions.shared.request_events import RequestEventProcessor

        try:
            results = RequestEventProcessor(prefix, _quiet).process(
                payload, lambda stored: {"key": stored.key, "outcome": "taken"})
        except Exception as err:  # noqa: BLE001 - a malformed record: the worker would fail on it too
            results = [{"key": "", "outcome": f"unreadable ({type(err).__name__})"}]
        errors += [f"requestPayload record {i} ({r.get('key') or 'no key'}) is not an ObjectCreated event for a "
                   f"{prefix}*.json object: the worker would ignore it" for i, r in enumerate(results)
                   if r.get("outcome") != "taken"]
    return EditCheck(not errors, errors, doc)
