"""A send's ``delay`` and ``expiry`` (Courier's shapes) as absolute times (pure).

The API turns both into absolute UTC times when it accepts a send (:func:`normalise_schedule`), so the
stored request says *when*, and a redelivered event or a replayed request computes nothing anew:
``delay`` becomes ``{"until": <iso>}`` and ``expiry`` (with ``timeout.message``) ``{"expires_at": <iso>}``.

``delay``: ``{"duration": <ms>}`` or ``{"until": <ISO 8601 | date>}`` (a time without a zone is UTC);
Courier's opening-hours windows and named time zones are refused: relay would deliver at another time.
``expiry``: ``{"expires_in": <ms | ISO 8601 duration like "P1DT4H">, "expires_at"?: <ISO | epoch>}``; the
earlier of the two wins. A message still undelivered at its expiry ends ``UNDELIVERABLE`` (``EXPIRED``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from functions.automations.delays import MAX_DELAY_SECONDS, DelayError, parse_duration, parse_until

__all__ = ["check_delay", "check_expiry", "normalise_schedule", "due_at", "expires_at", "iso"]

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z"})


def iso(when: datetime) -> str:
    """``2026-01-01T09:00:00.000Z``."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DelayError(f"{what}: milliseconds (a number) or a duration like 'PT5M'")
    if isinstance(value, str):
        return parse_duration(value) * 1000
    if value < 0 or value > MAX_DELAY_SECONDS * 1000:
        raise DelayError(f"{what}: {value} ms is outside 0 to 366 days")
    return float(value)


def check_delay(delay: Mapping[str, Any]) -> list[str]:
    """Every problem with a send's ``delay`` (empty when it is fine)."""
    errors = []
    for key in delay:
        if key not in ("duration", "until", "timezone"):
            errors.append(f"delay.{key}: not a field of delay (duration, until, timezone)")
    given = [k for k in ("duration", "until") if delay.get(k) is not None]
    if len(given) != 1:
        errors.append("delay: give exactly one of duration (ms) or until (an ISO 8601 time)")
    try:
        if delay.get("duration") is not None:
            _ms(delay["duration"], "delay.duration")
        if delay.get("until") is not None:
            parse_until(str(delay["until"]))
    except DelayError as exc:
        errors.append(str(exc) if str(exc).startswith("delay.") else f"delay.until: {exc}")
    tz = delay.get("timezone")
    if tz is not None and tz not in _UTC_NAMES:
        errors.append("delay.timezone: relay schedules in UTC only; give until with an offset instead "
                      "(ignoring the zone would deliver at another time)")
    return errors


def check_expiry(expiry: Mapping[str, Any]) -> list[str]:
    """Every problem with a send's ``expiry``."""
    errors = []
    for key in expiry:
        if key not in ("expires_in", "expires_at"):
            errors.append(f"expiry.{key}: not a field of expiry (expires_in, expires_at)")
    if expiry.get("expires_in") is None and expiry.get("expires_at") is None:
        errors.append("expiry: give expires_in (ms or an ISO 8601 duration) or expires_at")
    try:
        if expiry.get("expires_in") is not None:
            _ms(expiry["expires_in"], "expiry.expires_in")
        if expiry.get("expires_at") is not None:
            _absolute(expiry["expires_at"])
    except DelayError as exc:
        errors.append(str(exc) if str(exc).startswith("expiry.") else f"expiry.expires_at: {exc}")
    return errors


def _absolute(value: Any) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        seconds = number / 1000 if number > 1e11 else number  # epoch ms or epoch s
        return datetime.fromtimestamp(seconds, timezone.utc)
    return parse_until(str(value))


def normalise_schedule(message: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The message with ``delay`` as ``{"until"}`` and ``expiry`` as ``{"expires_at"}``, absolute from ``now``.

    ``timeout.message`` (Courier: the most a message may take) is an expiry too; the earliest wins.
    """
    out = dict(message)
    delay = message.get("delay")
    if isinstance(delay, Mapping):
        if delay.get("duration") is not None:
            until = now + timedelta(milliseconds=_ms(delay["duration"], "delay.duration"))
        else:
            until = parse_until(str(delay["until"]))
        out["delay"] = {"until": iso(until)}
    limits: list[datetime] = []
    expiry = message.get("expiry")
    if isinstance(expiry, Mapping):
        if expiry.get("expires_in") is not None:
            limits.append(now + timedelta(milliseconds=_ms(expiry["expires_in"], "expiry.expires_in")))
        if expiry.get("expires_at") is not None:
            limits.append(_absolute(expiry["expires_at"]))
    timeout = message.get("timeout")
    if isinstance(timeout, Mapping) and isinstance(timeout.get("message"), (int, float)):
        limits.append(now + timedelta(milliseconds=float(timeout["message"])))
    if limits:
        out["expiry"] = {"expires_at": iso(min(limits))}
    return out


def due_at(message: Mapping[str, Any]) -> datetime | None:
    """When a normalised message may be delivered (None: at once)."""
    delay = message.get("delay")
    if isinstance(delay, Mapping) and delay.get("until"):
        return parse_until(str(delay["until"]))
    return None


def expires_at(message: Mapping[str, Any]) -> datetime | None:
    """When a normalised message expires (None: never)."""
    expiry = message.get("expiry")
    if isinstance(expiry, Mapping) and expiry.get("expires_at"):
        return parse_until(str(expiry["expires_at"]))
    return None
