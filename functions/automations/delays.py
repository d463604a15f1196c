"""Delay parsing: ``"5 minutes"``, ``"2h"``, ``"1h 30m"``, ISO 8601 ``"PT5M"`` / ``"P1DT2H"``, or an ``until`` time.

Pure functions; the job worker turns a delay into SQS hops of at most :data:`MAX_HOP_SECONDS`.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["DelayError", "parse_duration", "parse_until", "next_hop_seconds", "remaining_seconds", "MAX_DELAY_SECONDS",
           "MAX_HOP_SECONDS"]

MAX_HOP_SECONDS = 900  # SQS DelaySeconds limit
MAX_DELAY_SECONDS = 366 * 86_400

_UNITS = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86_400, "day": 86_400, "days": 86_400,
    "w": 604_800, "week": 604_800, "weeks": 604_800,
}
_HUMAN_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*(?:,|\band\b)?", re.IGNORECASE)
_ISO = re.compile(
    r"P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)


class DelayError(ValueError):
    """A duration or timestamp that cannot be parsed or is out of range; the message says why."""


def parse_duration(text: str) -> float:
    """Parse a delay duration into seconds.

    Parameters
    ----------
    text
        ``"5 minutes"``, ``"2h"``, ``"1 hour and 30 minutes"``, ``"90s"``, ``"PT5M"``, ``"P1DT2H30M"``.

    Returns
    -------
    float
        Seconds, between 0 and :data:`MAX_DELAY_SECONDS`.

    Raises
    ------
    DelayError
        Unknown unit, bad syntax, ISO years/months (ambiguous length), or out of range.
    """
    if not isinstance(text, str) or not text.strip():
        raise DelayError("duration must be a non-empty string like '5 minutes', '2h' or 'PT5M'")
    s = text.strip()
    if len(s) > 100:
        raise DelayError("duration is longer than 100 characters")
    if s[:1] in ("P", "p"):
        seconds = _parse_iso(s)
    else:
        seconds = _parse_human(s)
    if seconds > MAX_DELAY_SECONDS:
        raise DelayError(f"duration {text!r} is longer than the maximum of 366 days")
    return seconds


def _parse_iso(s: str) -> float:
    if re.search(r"[YM]", s.upper().split("T")[0]):
        raise DelayError(f"ISO 8601 duration {s!r}: years and months have no fixed length; use weeks or days")
    m = _ISO.fullmatch(s)
    if not m or s.upper() in ("P", "PT") or s.upper().endswith("T"):
        raise DelayError(f"{s!r} is not an ISO 8601 duration like 'PT5M' or 'P1DT2H'")
    factors = {"w": 604_800, "d": 86_400, "h": 3600, "m": 60, "s": 1}
    return sum(float(m.group(k)) * f for k, f in factors.items() if m.group(k))


def _parse_human(s: str) -> float:
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _HUMAN_PART.match(s, pos)
        if not m or m.end() == pos:
            raise DelayError(f"duration {s!r} is not like '5 minutes', '2h' or '1h 30m'")
        unit = m.group(2).lower()
        if unit not in _UNITS:
            raise DelayError(f"duration {s!r}: unknown unit {m.group(2)!r} (use s, m, h, d or w, or the words)")
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    return total


_SHORT_OFFSET = re.compile(r"([+-])(\d):(\d\d)$")


def parse_until(text: str) -> datetime:
    """Parse an ``until`` timestamp into an aware UTC datetime.

    ISO 8601 in its extended or basic form (``2026-01-01T09:00:00Z``, ``20240408T080910.123``), a date
    alone (midnight), an offset of one hour digit as Courier's docs write it (``+7:00``). A time without
    a zone is UTC, as in Courier's API.

    Raises
    ------
    DelayError
        Unparseable (an opening-hours window such as ``Mo-Fr 09:00-17:00`` included).
    """
    if not isinstance(text, str) or not text.strip():
        raise DelayError("until must be an ISO 8601 timestamp like '2026-01-01T09:00:00Z'")
    cleaned = _SHORT_OFFSET.sub(r"\g<1>0\g<2>:\g<3>", text.strip().replace("z", "Z"))
    try:
        when = datetime.fromisoformat(cleaned)
    except ValueError:
        raise DelayError(f"until {text!r} is not an ISO 8601 timestamp like '2026-01-01T09:00:00Z' "
                         "(relay does not schedule by opening hours)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def remaining_seconds(until: datetime, now: datetime) -> float:
    """Seconds from ``now`` until ``until`` (negative once it has passed)."""
    return (until - now) / timedelta(seconds=1)


def next_hop_seconds(until: datetime, now: datetime) -> int:
    """Seconds to wait on the next SQS hop towards ``until`` (0 = due now), never above 900."""
    remaining = remaining_seconds(until, now)
    if remaining <= 0:
        return 0
    # round up so a hop never lands just before the deadline and costs an extra zero-length hop
    return min(MAX_HOP_SECONDS, int(-(-remaining // 1)))
