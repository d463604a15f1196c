"""Courier's automation runs list and run steps (pure: ports in, replies out).

``GET /automations/runs`` → ``{"runs": [...], "next_cursor"?}``, newest first. Runs are listed from the
request store's ``automations/run_<ulid>.json`` keys (every accepted invoke, even one the request worker
has not run yet), whose ULIDs sort by creation time: a page lists the newest keys before its cursor in a
time window that widens while it holds too few and narrows while one listing cannot hold it, then reads
the runs' items for their status. No index is kept for it, so nothing is written per run.
Filters: ``status`` (relay's or Courier's names, comma-separated), ``template_id``, ``start_date`` /
``end_date`` (ISO 8601); without ``start_date`` the list reaches back :data:`DEFAULT_DAYS` days.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from functions.api.events import ApiError
from functions.shared.ids import new_ulid
from functions.shared.statuses import RunStatus

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.service import ApiPorts, Reply

__all__ = ["list_runs", "run_steps", "DEFAULT_DAYS", "COURIER_RUN_STATUS"]

DEFAULT_DAYS = 90
_LISTS_PER_PAGE = 10
# Courier's run statuses → relay's
COURIER_RUN_STATUS = {"PROCESSING": (RunStatus.RUNNING,), "WAITING": (RunStatus.PENDING, RunStatus.RUNNING),
                      "PROCESSED": (RunStatus.COMPLETED,), "CANCELED": (RunStatus.CANCELED,),
                      "ERROR": (RunStatus.FAILED,), "NOT PROCESSED": (RunStatus.PENDING,)}
_RUN_ID = re.compile(r"^run_[0-9A-Za-z_\-]{1,64}$")


def _bound(ms: int) -> str:
    """The smallest run id created at ``ms`` (ULID time prefix, then zeros)."""
    return "run_" + new_ulid(ms)[:10] + "0" * 16


def _ms_of(run_id: str) -> int:
    value = 0
    for c in run_id[4:14]:
        value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(c)
    return value


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"query is invalid: {field}",
                    [{"field": field, "message": message, "type": "value_error"}])


def _date_ms(text: str, field: str) -> int:
    from functions.automations.delays import DelayError, parse_until

    try:
        return int(parse_until(text).timestamp() * 1000)
    except DelayError:
        raise _bad(field, "an ISO 8601 date or timestamp") from None


def _statuses(raw: str) -> set[str]:
    out: set[str] = set()
    for s in (p.strip().upper() for p in raw.split(",") if p.strip()):
        if s in RunStatus.__members__:
            out.add(s)
        elif s in COURIER_RUN_STATUS:
            out.update(COURIER_RUN_STATUS[s])
        else:
            raise _bad("status", f"run statuses: {', '.join(RunStatus.__members__)} (or Courier's "
                                 f"{', '.join(COURIER_RUN_STATUS)})")
    return out


def _newest_before(ports: "ApiPorts", before: str, floor: str, want: int) -> tuple[list[str], bool]:
    """Up to ``want`` newest run ids in ``[floor, before)``, newest first, and whether older ones remain.

    A listing that is not truncated holds every key of its window, so its newest are the newest of all;
    a truncated one moves the window's start forward (halfway in time, or past what it saw). When the
    budget of listings is spent, the window is walked forward to its end: exact, only slower.
    """
    store = ports.courier
    assert store is not None
    hi = _ms_of(before) if before < "run_~" else ports.now_s() * 1000 + 60_000
    span = 10 * 60_000
    start = max(floor, _bound(hi - span))
    found: list[str] | None = None
    for _ in range(_LISTS_PER_PAGE):
        keys, truncated = store.run_keys(_prev(start), before, 1000)
        if truncated:
            middle = _bound((_ms_of(start) + hi) // 2)
            start = middle if middle > keys[-1] else keys[-1]
            continue
        if len(keys) >= want or start <= floor:
            found = keys
            break
        span *= 4
        start = max(floor, _bound(hi - span))
    if found is None:
        found, after = [], _prev(start)
        for _ in range(1000):
            keys, truncated = store.run_keys(after, before, 1000)
            found = (found + keys)[-want - 1:]
            if not truncated or not keys:
                break
            after = keys[-1]
    page = list(reversed(found))[:want]
    if not page:
        return [], False
    if len(found) > want:
        return page, True
    older, _ = store.run_keys(_prev(floor), page[-1], 1)
    return page, bool(older)


def _prev(run_id: str) -> str:
    """A key just before ``run_id`` (S3's StartAfter is exclusive)."""
    return run_id[:-1] + chr(ord(run_id[-1]) - 1) if run_id and run_id[-1] > "0" else run_id[:-1]


def list_runs(query: Mapping[str, str], ports: "ApiPorts") -> "Reply":
    """``GET /automations/runs?cursor=&limit=&status=&template_id=&start_date=&end_date=``."""
    allowed = {"cursor", "limit", "status", "template_id", "start_date", "end_date"}
    extra = [k for k in query if k not in allowed]
    if extra:
        raise ApiError(422, "validation_error", f"query is invalid: {', '.join(extra)}",
                       [{"field": k, "message": f"not a query field ({', '.join(sorted(allowed))})",
                         "type": "extra_forbidden"} for k in extra])
    raw_limit = query.get("limit", "20")
    limit = min(50, max(1, int(raw_limit))) if re.fullmatch(r"[0-9]{1,4}", raw_limit) else 20  # Courier clamps
    statuses = _statuses(query["status"]) if query.get("status") else set()
    templates = {t.strip() for t in query.get("template_id", "").split(",") if t.strip()}
    now_ms = ports.now_s() * 1000
    floor = _bound(_date_ms(query["start_date"], "start_date") if query.get("start_date")
                   else now_ms - DEFAULT_DAYS * 86_400_000)
    before = "run_~"  # after every run id
    if query.get("end_date"):
        before = _bound(_date_ms(query["end_date"], "end_date") + 1)
    if query.get("cursor"):
        try:
            before = json.loads(base64.urlsafe_b64decode(query["cursor"] + "=" * (-len(query["cursor"]) % 4)))["before"]
            assert isinstance(before, str) and _RUN_ID.match(before)
        except Exception:
            raise _bad("cursor", "not a cursor from this API") from None
    ids, more = _newest_before(ports, before, floor, limit)
    assert ports.courier is not None
    items = ports.courier.run_items(ids)
    runs = []
    for run_id in ids:
        item = items.get(run_id, {})
        status = str(item.get("status") or RunStatus.PENDING)
        template = item.get("template")
        if (statuses and status not in statuses) or (templates and template not in templates):
            continue
        created = item.get("createdAt") or datetime.fromtimestamp(_ms_of(run_id) / 1000, timezone.utc).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        run = {"run_id": run_id, "status": status, "created_at": created,
               "source": [f"invoke/{template}" if template else "invoke/ad-hoc"]}
        if template:
            run["template_id"] = template
        runs.append(run)
    body: dict[str, Any] = {"runs": runs}
    if more and ids:
        body["next_cursor"] = base64.urlsafe_b64encode(json.dumps({"before": ids[-1]}).encode()).decode().rstrip("=")
    return 200, body, {}


def run_steps(run_id: str, ports: "ApiPorts") -> "Reply":
    """``GET /automations/runs/{id}/steps`` → ``{"steps": [...]}``: each executed step, in order."""
    if not _RUN_ID.match(run_id):
        raise ApiError(404, "not_found", f"no run {run_id[:80]!r}")
    run, steps = ports.reads.run(run_id)
    if run is None:
        if ports.store.has_invoke(run_id):
            return 200, {"steps": []}, {}
        raise ApiError(404, "not_found", f"no run {run_id!r}")
    program = run.get("steps")
    if isinstance(program, dict) and "$ref" in program:
        from functions.shared.payloads import resolve

        program = resolve(program)
    actions = {int(i.get("i", n)): str(i.get("action")) for n, i in enumerate(program or []) if isinstance(i, dict)}
    out = []
    for item in sorted(steps, key=lambda s: str(s.get("sk"))):
        index = int(str(item["sk"]).split("#", 1)[1])
        step = {"step_id": str(index), "action": actions.get(index, ""), "status": item.get("status"),
                "created_at": item.get("startedAt"),
                "updated_at": item.get("endedAt") or item.get("failedAt") or item.get("startedAt")}
        result = item.get("result") if isinstance(item.get("result"), dict) else {}
        if result.get("requestId"):
            step["message_id"] = result["requestId"]  # GET /messages/{id} answers for a request id
        out.append(step)
    return 200, {"steps": out}, {}
