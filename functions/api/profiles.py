"""Courier's Profiles API on relay's profile records (``PROFILE#<user_id>/PROFILE`` in the state table: the
same records the automations' ``update-profile`` step writes and the send worker reads addresses from).

``POST`` merges (the body's keys win), ``PUT`` replaces, ``PATCH`` applies JSON-Patch operations
(``add``, ``replace``, ``remove`` on ``/key`` or ``/key/nested``), ``DELETE`` removes the record.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from functions.api.events import ApiError

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.service import ApiPorts, Reply

__all__ = ["get_profile", "write_profile", "patch_profile", "delete_profile", "check_user_id"]

_USER_ID = re.compile(r"^[^\x00-\x1f]{1,200}$")


def check_user_id(user_id: str) -> str:
    """A user id from the path (1–200 printable characters), else 404."""
    if not _USER_ID.match(user_id):
        raise ApiError(404, "not_found", f"no profile {user_id[:80]!r}")
    return user_id


def _now(ports: "ApiPorts") -> str:
    return datetime.fromtimestamp(ports.now_s(), timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def get_profile(user_id: str, ports: "ApiPorts") -> "Reply":
    """``GET /profiles/{user_id}`` → ``{"profile": {...}}``; 404 when there is none."""
    assert ports.courier is not None
    profile = ports.courier.get_profile(check_user_id(user_id))
    if profile is None:
        raise ApiError(404, "not_found", f"no profile {user_id[:80]!r}")
    return 200, {"profile": profile}, {}


def write_profile(user_id: str, profile: dict[str, Any], ports: "ApiPorts", *, merge: bool) -> "Reply":
    """``POST`` (merge) / ``PUT`` (replace) ``/profiles/{user_id}`` → ``{"status": "SUCCESS"}``."""
    assert ports.courier is not None
    check_user_id(user_id)
    current = ports.courier.get_profile(user_id) if merge else None
    ports.courier.put_profile(user_id, {**(current or {}), **profile}, _now(ports))
    return 200, {"status": "SUCCESS"}, {}


def _apply(doc: dict[str, Any], op: dict[str, Any], index: int) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op["path"]).split("/")[1:]]
    if not parts or not str(op["path"]).startswith("/"):
        raise ApiError(422, "validation_error", f"patch.{index}.path must point into the profile, like /email",
                       [{"field": f"patch.{index}.path", "message": "a JSON pointer like /email", "type": "value_error"}])
    target = doc
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            if op["op"] == "remove":
                return
            nxt = target[part] = {}
        target = nxt
    if op["op"] == "remove":
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = op.get("value")


def patch_profile(user_id: str, ops: list[dict[str, Any]], ports: "ApiPorts") -> "Reply":
    """``PATCH /profiles/{user_id}`` with ``{"patch": [{"op", "path", "value"}]}`` → 204."""
    assert ports.courier is not None
    check_user_id(user_id)
    profile = dict(ports.courier.get_profile(user_id) or {})
    for i, op in enumerate(ops):
        _apply(profile, op, i)
    ports.courier.put_profile(user_id, profile, _now(ports))
    return 204, None, {}


def delete_profile(user_id: str, ports: "ApiPorts") -> "Reply":
    """``DELETE /profiles/{user_id}`` → 204 (a missing profile too: the end state is the same)."""
    assert ports.courier is not None
    ports.courier.delete_profile(check_user_id(user_id))
    return 204, None, {}
