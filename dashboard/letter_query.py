"""What a dead-letter search matches (pure: no boto3, no streamlit).

A :class:`LetterQuery` is the operator's question over a whole DLQ — "every letter of run X", "every
letter whose error mentions HTTP 500", "every async record for key send/req_1.json older than an
hour" — and :meth:`LetterQuery.matches` answers it for one decoded :class:`~dashboard.letters.DeadLetter`.
Every given criterion must hold; an empty query matches everything. The search runner
(:mod:`dashboard.bulk`) applies it to every message it scans; the query is stored with the search so
the saved selection says what it selected.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Mapping

from dashboard.letters import DeadLetter

__all__ = ["LetterQuery", "json_path_get", "JsonPathError"]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class JsonPathError(ValueError):
    """A JSON path the search cannot read (``a.b[0].c`` is the accepted form)."""


def _path_parts(path: str) -> list[str | int]:
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        m = _STEP.match(text, pos)
        if not m:
            raise JsonPathError(f"cannot read JSON path {path!r} at {text[pos:]!r}: use a.b[0].c")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts:
        raise JsonPathError(f"empty JSON path {path!r}")
    return parts


def json_path_get(doc: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of ``path`` (``a.b[0].c``, optionally starting with ``$.``) in ``doc``.

    Raises
    ------
    JsonPathError
        The path itself is malformed (the query is refused before any scan starts).
    """
    value = doc
    for part in _path_parts(path):
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return False, None
            value = value[part]
        else:
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
    return True, value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class LetterQuery:
    """Criteria over one DLQ's letters; every non-empty one must hold.

    Attributes
    ----------
    message_id
        The SQS message id, or a prefix of it.
    run_id
        A run id: a job letter's ``runId``; in a stream/async record, the id anywhere in its body.
    step
        A job letter's step index.
    function
        Part of the failed function's name (stream and async records).
    error
        Part of the error (case-insensitive): a job's recorded step error, a record's ``errorType: errorMessage``.
    text
        Part of the raw body (case-insensitive).
    json_path, json_value
        A path in the decoded body (``requestPayload.Records[0].s3.object.key``); with a value, the value
        there must equal it (as text), without one the path must exist.
    min_age_s, max_age_s
        Seconds since SQS first accepted the letter.
    min_receives, max_receives
        ``ApproximateReceiveCount`` bounds (every scan and peek receives once more).
    """

    message_id: str = ""
    run_id: str = ""
    step: int | None = None
    function: str = ""
    error: str = ""
    text: str = ""
    json_path: str = ""
    json_value: str = ""
    min_age_s: float | None = None
    max_age_s: float | None = None
    min_receives: int | None = None
    max_receives: int | None = None

    def __post_init__(self) -> None:
        if self.json_path:
            _path_parts(self.json_path)  # refuse a malformed path before a scan starts

    @property
    def needs_step_errors(self) -> bool:
        """A job letter's error lives on its STEP item: the search reads it only when asked for."""
        return bool(self.error)

    def matches(self, letter: DeadLetter, now: datetime | None = None) -> bool:
        """Whether ``letter`` meets every given criterion."""
        if self.message_id and not letter.message_id.startswith(self.message_id.strip()):
            return False
        if self.run_id:
            rid = self.run_id.strip()
            if letter.kind == "job" and letter.run_id != rid:
                return False
            if letter.kind != "job" and rid not in letter.body:
                return False
        if self.step is not None and letter.step != self.step:
            return False
        if self.function and self.function.strip() not in (letter.function_arn or "").rsplit(":", 1)[-1]:
            return False
        if self.error and self.error.strip().lower() not in letter.reason.lower():
            return False
        if self.text and self.text.strip().lower() not in letter.body.lower():
            return False
        if self.json_path:
            found, value = json_path_get(letter.decoded, self.json_path)
            if not found or (self.json_value and _as_text(value) != self.json_value):
                return False
        age = letter.age_seconds(now)
        if (self.min_age_s is not None and age < self.min_age_s) or (self.max_age_s is not None and age > self.max_age_s):
            return False
        receives = letter.receive_count
        if (self.min_receives is not None and receives < self.min_receives) or \
                (self.max_receives is not None and receives > self.max_receives):
            return False
        return True

    def describe(self) -> str:
        """``run_id=run_1, error~"HTTP 500"`` — what the saved selection was searched with."""
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value in ("", None):
                continue
            parts.append(f'{f.name}="{value}"' if isinstance(value, str) else f"{f.name}={value}")
        return ", ".join(parts) or "every letter"

    def to_dict(self) -> dict[str, Any]:
        """The non-empty criteria (stored with the search)."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LetterQuery":
        """The query :meth:`to_dict` stored (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
