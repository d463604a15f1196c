"""Courier's Messages API on relay's message log (pure: ports in, ``(status, body, headers)`` out).

``GET /messages`` answers ``{results, paging: {cursor, more}}`` in Courier's ``MessageDetails`` shape, and
(deprecated, for one release) relay's ``items`` / ``next`` beside them. A query reads one or more index
partitions of the message log — ``message_id`` one VIEW, ``trace_id`` the ``by_trace`` index, ``recipient``
``by_recipient``, else one ``by_status`` partition per status asked for (every status when none is) — and
merges them newest first. Filters that are no partition (``status`` beside a recipient, ``tag``,
``enqueued_after``, ``event``, ``notification``, ``provider``) are applied to what is read, within a read
budget per page: a page may hold fewer results than ``limit`` and still say ``more``.

The merge emits an item only when no partition can still hold a newer one (each partition is read newest
first, so what it has not returned is older than where it stopped), and the cursor keeps each partition's
own position after its last *emitted* item: nothing is skipped or repeated across pages.
"""
from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any, Mapping

from functions.api.events import ApiError
from functions.shared.statuses import MessageStatus

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.service import ApiPorts, Reply

__all__ = ["list_messages", "details", "bad_cursor", "RELAY_ITEM_FIELDS", "QUERY_FIELDS", "message_status_reply"]

RELAY_ITEM_FIELDS = ("messageId", "requestId", "runId", "recipient", "channel", "status", "reason", "provider",
                     "deliveryId", "ts", "updatedAt")
QUERY_FIELDS = ("recipient", "status", "message_id", "messageId", "tag", "tags", "trace_id", "traceId",
                "enqueued_after", "event", "notification", "provider", "list", "tenant_id", "archived", "cursor",
                "next", "limit")
_READS_PER_PAGE = 12  # index reads one page may spend before it answers what it has


def bad_cursor(field: str = "cursor") -> ApiError:
    """The 422 for a cursor this API did not make (or made for another query)."""
    return ApiError(422, "validation_error", f"query is invalid: {field}",
                    [{"field": field, "message": "not a pagination token from this API (or from another query)",
                      "type": "value_error"}])


def details(view: Mapping[str, Any], events: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Courier's ``MessageDetails`` of one message (relay's own fields beside Courier's).

    Timestamps are epoch ms; with the message's ``events`` they are exact, else from its VIEW.
    """
    status = str(view.get("status", MessageStatus.ENQUEUED))
    updated = int(view.get("updatedAt") or view.get("ts") or 0)
    at: dict[str, int] = {}
    for e in events or ():
        at.setdefault(str(e.get("status")), int(e.get("ts", 0)))
    out: dict[str, Any] = {
        "id": view.get("messageId"), "status": status,
        "enqueued": int(view.get("enqueuedAt") or at.get(MessageStatus.ENQUEUED) or view.get("ts") or 0),
        "recipient": view.get("recipient", ""), "event": view.get("event") or view.get("template") or "",
        "notification": view.get("template") or "",
        "requestId": view.get("requestId"), "channel": view.get("channel"),
    }
    sent = at.get(MessageStatus.SENT) or (updated if status == MessageStatus.SENT else None)
    delivered = at.get(MessageStatus.DELIVERED) or (updated if status == MessageStatus.DELIVERED else None)
    if sent:
        out["sent"] = sent
    if delivered:
        out["delivered"] = delivered
    for key in ("reason", "provider", "runId", "tags", "traceId"):
        if view.get(key):
            out[key] = view[key]
    detail = next((e.get("detail") for e in reversed(events or []) if e.get("detail")), None)
    if detail or status in (MessageStatus.UNDELIVERABLE, MessageStatus.UNROUTABLE):
        out["error"] = str(detail or view.get("reason") or status)
    if events is not None:
        final = next((e for e in reversed(events) if e.get("provider")), None)
        out["providers"] = [{"channel": {"key": view.get("channel")}, "provider": final.get("provider"),
                             "status": status, **({"sent": sent} if sent else {}),
                             **({"delivered": delivered} if delivered else {}),
                             "reference": {k: final[k] for k in ("deliveryId", "providerMessageId") if final.get(k)}}
                            ] if final else []
    return out


def message_status_reply(view: Mapping[str, Any]) -> dict[str, Any]:
    """relay's own ``items`` entry (deprecated beside ``results``)."""
    return {k: view[k] for k in RELAY_ITEM_FIELDS if k in view}


def _encode(state: list[list[Any]], fingerprint: str) -> str:
    raw = json.dumps({"v": 2, "q": fingerprint, "p": state}, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str, fingerprint: str, parts: list[tuple[str, str, str]], field: str) -> list[list[Any]]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise bad_cursor(field) from None
    if isinstance(doc, dict) and doc.get("v") == 2:
        state = doc.get("p")
        if doc.get("q") != fingerprint or not isinstance(state, list) or len(state) != len(parts) or not all(
                isinstance(s, list) and len(s) == 2 and (s[0] is None or isinstance(s[0], dict)) for s in state):
            raise bad_cursor(field)
        return state
    # relay's older `next`: exactly the index key of a one-partition query, in that partition
    if len(parts) == 1 and isinstance(doc, dict) and set(doc) == {"pk", "sk", parts[0][1], "updatedAt"} \
            and doc.get(parts[0][1]) == parts[0][2] and all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in doc.values()):
        return [[doc, False]]
    raise bad_cursor(field)


def _values(query: Mapping[str, str], *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        out += [v.strip() for v in str(query.get(name) or "").split(",") if v.strip()]
    return list(dict.fromkeys(out))


def _parse(query: Mapping[str, str]) -> dict[str, Any]:
    details_: list[dict[str, str]] = []
    unknown = [k for k in query if k not in QUERY_FIELDS]
    details_ += [{"field": k, "message": f"not a query field of GET /messages ({', '.join(QUERY_FIELDS)})",
                  "type": "extra_forbidden"} for k in unknown]
    q: dict[str, Any] = {"recipient": query.get("recipient") or None, "statuses": _values(query, "status"),
                         "message_id": query.get("message_id") or query.get("messageId") or None,
                         "tags": _values(query, "tag", "tags"), "trace_id": query.get("trace_id") or query.get("traceId") or None,
                         "event": query.get("event") or None, "notification": query.get("notification") or None,
                         "providers": _values(query, "provider"), "none": bool(query.get("list") or query.get("tenant_id")),
                         "after": None, "limit": 50, "cursor": query.get("cursor") or query.get("next") or None,
                         "cursor_field": "cursor" if query.get("cursor") else "next"}
    for value, field in ((q["recipient"], "recipient"), (q["message_id"], "message_id"), (q["trace_id"], "trace_id")):
        if value is not None and len(value) > 320:
            details_.append({"field": field, "message": "at most 320 characters", "type": "string_too_long"})
    bad = [s for s in q["statuses"] if s not in MessageStatus.__members__]
    if bad:
        details_.append({"field": "status", "message": f"one or more of {', '.join(MessageStatus.__members__)}",
                         "type": "enum"})
    if query.get("enqueued_after"):
        q["after"] = _epoch_ms(query["enqueued_after"])
        if q["after"] is None:
            details_.append({"field": "enqueued_after", "message": "an ISO 8601 time or epoch milliseconds",
                             "type": "value_error"})
    if "limit" in query:
        raw = query["limit"]
        # ASCII digits only: str.isdigit() also accepts '¹', which int() refuses
        if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= 100:
            details_.append({"field": "limit", "message": "an integer from 1 to 100", "type": "int_range"})
        else:
            q["limit"] = int(raw)
    q["details"] = details_
    return q


def _refuse(details_: list[dict[str, str]]) -> None:
    if details_:
        raise ApiError(422, "validation_error",
                       "query is invalid: " + ", ".join(dict.fromkeys(d["field"] for d in details_)), details_)


def _epoch_ms(text: str) -> int | None:
    if re.fullmatch(r"[0-9]{1,16}", text):
        n = int(text)
        return n if n > 10**11 else n * 1000
    from functions.automations.delays import DelayError, parse_until

    try:
        return int(parse_until(text).timestamp() * 1000)
    except DelayError:
        return None


def _partitions(q: dict[str, Any]) -> list[tuple[str, str, str]]:
    if q["trace_id"]:
        return [("by_trace", "traceId", q["trace_id"])]
    if q["recipient"]:
        return [("by_recipient", "recipient", q["recipient"])]
    return [("by_status", "status", s) for s in (q["statuses"] or list(MessageStatus.__members__))]


def _matches(view: Mapping[str, Any], q: dict[str, Any]) -> bool:
    if q["statuses"] and view.get("status") not in q["statuses"]:
        return False
    if q["recipient"] and view.get("recipient") != q["recipient"]:
        return False
    if q["tags"] and not set(q["tags"]) & set(view.get("tags") or []):
        return False
    if q["after"] is not None and int(view.get("enqueuedAt") or view.get("ts") or 0) <= q["after"]:
        return False
    if q["event"] and q["event"] not in (view.get("event"), view.get("template")):
        return False
    if q["notification"] and view.get("template") != q["notification"]:
        return False
    return not (q["providers"] and view.get("provider") not in q["providers"])


def _order(view: Mapping[str, Any]) -> tuple[int, str]:
    return int(view.get("updatedAt") or 0), str(view.get("pk", ""))


def _index_key(view: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {"pk": view["pk"], "sk": view["sk"], key: view[key], "updatedAt": view["updatedAt"]}


def list_messages(query: Mapping[str, str], ports: "ApiPorts") -> "Reply":
    """``GET /messages`` → ``{"results", "paging": {"cursor", "more"}, "items", "next"?}``, newest first."""
    q = _parse(query)
    parts = _partitions(q)
    fingerprint = _short_hash(parts, q)
    state: list[list[Any]] = [[None, False] for _ in parts]
    if q["cursor"] and not q["message_id"]:
        try:
            state = _decode(q["cursor"], fingerprint, parts, q["cursor_field"])
        except ApiError as exc:
            q["details"] += exc.details or []
    _refuse(q["details"])
    store = ports.courier
    assert store is not None
    if q["none"]:  # relay never sends to lists or tenants: no message can match
        return 200, {"results": [], "paging": {"cursor": None, "more": False}, "items": []}, {}
    if q["message_id"]:
        view = store.view(q["message_id"])
        found = [view] if view and _matches(view, q) and (not q["trace_id"] or view.get("traceId") == q["trace_id"]) else []
        return 200, {"results": [details(v) for v in found], "paging": {"cursor": None, "more": False},
                     "items": [message_status_reply(v) for v in found]}, {}
    buffers: list[list[dict[str, Any]]] = [[] for _ in parts]
    frontier: list[dict[str, Any] | None] = [s[0] for s in state]  # where each partition's reading stopped
    done = [bool(s[1]) for s in state]
    reads = 0
    limit = q["limit"]
    for i, (index, key, value) in enumerate(parts):
        while not done[i] and len(buffers[i]) < limit and reads < _READS_PER_PAGE * len(parts):
            items, last = store.query_views(index, key, value, limit=limit, start=frontier[i], after_ms=q["after"])
            reads += 1
            buffers[i] += [v for v in items if v.get("sk") == "VIEW" and _matches(v, q)]
            frontier[i] = last
            done[i] = last is None
    # safe to emit: at least as new as every unfinished partition's stopping point
    floor = max((int(f["updatedAt"]) for f, d in zip(frontier, done) if not d and f), default=None)
    merged = sorted(((v, i) for i, buf in enumerate(buffers) for v in buf), key=lambda t: _order(t[0]), reverse=True)
    page = [(v, i) for v, i in merged if floor is None or int(v.get("updatedAt") or 0) >= floor][:limit]
    new_state: list[list[Any]] = []
    for i, (index, key, value) in enumerate(parts):
        mine = [v for v, j in page if j == i]
        if mine:
            rest = len(mine) < len(buffers[i]) or not done[i]
            new_state.append([_index_key(mine[-1], key), not rest])
        elif len(buffers[i]) == 0:
            new_state.append([frontier[i], done[i]])
        else:
            new_state.append(list(state[i]))  # read but not emitted: read again next page
    more = not all(s[1] for s in new_state)
    cursor = _encode(new_state, fingerprint) if more else None
    body: dict[str, Any] = {"results": [details(v) for v, _ in page], "paging": {"cursor": cursor, "more": more},
                            "items": [message_status_reply(v) for v, _ in page]}
    if cursor:
        body["next"] = cursor
    return 200, body, {}


def _short_hash(parts: list[tuple[str, str, str]], q: dict[str, Any]) -> str:
    import hashlib

    shape = json.dumps([parts, q["after"], q["tags"], q["statuses"], q["event"], q["notification"], q["providers"]],
                       separators=(",", ":"), default=str)
    return hashlib.sha256(shape.encode()).hexdigest()[:12]
