"""What each step does (pure decisions; side effects only through the ports in :class:`StepContext`).

A step returns a :class:`StepOutcome`: the result to record, where to go next, the run's new data or
profile, or a wait (delay hops). Side effects that must not repeat on a redelivered job are keyed
deterministically: a send's request id and an invoke's run id derive from ``(runId, step)``, so a
crash between the side effect and the step's completion marker re-writes the same S3 object and the
downstream workers' own idempotency (message id claim, conditional run create) absorbs it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from functions.automations.delays import next_hop_seconds, parse_duration, parse_until
from functions.automations.expressions import evaluate, parse_condition
from functions.automations.merge import merge_data, merge_profile
from functions.automations.ports import HttpFetcher, RequestHandoff, RunRecord, RunStore, StepRecord
from functions.shared.payloads import reserved_ref_paths
from functions.shared.statuses import RUNNABLE_RUN_STATUSES, RunStatus

__all__ = ["StepContext", "StepOutcome", "StepFailed", "execute_step", "derived_id", "build_send_message"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ADDRESS_FIELDS = ("email", "phone_number", "webhook_url")


class StepFailed(RuntimeError):
    """A step cannot complete (bad response, refused address, invalid message); the job is retried."""


@dataclass
class StepContext:
    """What a step may touch."""

    runs: RunStore
    requests: RequestHandoff
    http: HttpFetcher
    now: datetime
    validate_message: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda m: m)
    # seconds this invocation may still spend (Lambda's remaining time minus a margin); None = unbounded
    time_left: Callable[[], float | None] = field(default=lambda: None)

    @property
    def now_iso(self) -> str:
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StepOutcome:
    """The result of one step execution."""

    result: dict[str, Any]
    next: int | None
    data: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    wait_until: datetime | None = None  # set: not done yet, re-enqueue this step as a hop

    @property
    def waiting(self) -> bool:
        return self.wait_until is not None


def derived_id(prefix: str, run_id: str, step: int, kind: str) -> str:
    """A deterministic ``<prefix>_<26 chars>`` id for the side effect of ``(run, step)``.

    The first 10 characters reuse the run id's time part, so derived ids still sort by run creation;
    the other 16 come from sha256 of ``runId|step|kind``.
    """
    time_part = run_id.split("_", 1)[-1][:10].ljust(10, "0")
    digest = int.from_bytes(hashlib.sha256(f"{run_id}|{step}|{kind}".encode()).digest()[:10], "big")
    tail = "".join(_CROCKFORD[(digest >> (5 * i)) & 31] for i in reversed(range(16)))
    return f"{prefix}_{time_part}{tail}"


def build_send_message(spec: Mapping[str, Any], run: RunRecord) -> dict[str, Any]:
    """The POST /send ``message`` for a send step: the step's own message, or one built from the run.

    A step's ``message`` is kept as written, over the run's data; without ``to`` it goes to the run's
    recipient. A built message goes to ``recipient`` (the step's, else the run's), uses the step's
    template or the run's, and the run's data with the step's data over it. The run's recipient is
    addressed with the run profile's address fields.
    """
    if spec.get("message") is not None:
        message = dict(spec["message"])
        message["data"] = {**run.data, **(message.get("data") or {})}
        if not message.get("to"):
            message["to"] = [_recipient(run.recipient, run)]
        return message
    message: dict[str, Any] = {"to": _recipient(spec.get("recipient") or run.recipient, run, spec.get("profile")),
                               "template": spec.get("template") or run.template,
                               "data": {**run.data, **(spec.get("data") or {})}}
    if spec.get("channels"):
        message["channels"] = list(spec["channels"])
    return message


def _recipient(user_id: str, run: RunRecord, profile: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"user_id", <address fields>}``: the run's profile addresses only the run's own recipient; a send
    step's own ``profile`` (Courier) addresses its recipient, over the run's."""
    to: dict[str, Any] = {"user_id": user_id}
    if user_id == run.recipient:
        to.update({k: run.profile[k] for k in _ADDRESS_FIELDS if run.profile.get(k)})
    to.update({k: profile[k] for k in _ADDRESS_FIELDS if (profile or {}).get(k)})
    return to


def execute_step(instr: Mapping[str, Any], run: RunRecord, step: StepRecord, ctx: StepContext,
                 hop_until: datetime | None = None) -> StepOutcome:
    """Run one compiled instruction.

    Raises
    ------
    StepFailed
        For anything that should be retried and, if it persists, end in the job DLQ.
    """
    action = instr["action"]
    handler = _ACTIONS.get(action)
    if handler is None:
        raise StepFailed(f"step {instr['i']}: unknown action {action!r}")
    return handler(instr, run, step, ctx, hop_until)


def _send(instr, run, step, ctx, hop_until) -> StepOutcome:
    request_id = derived_id("req", run.run_id, instr["i"], "send")
    try:
        message = ctx.validate_message(build_send_message(instr["spec"], run))
    except ValueError as exc:
        raise StepFailed(f"step {instr['i']} (send): invalid message: {exc}") from None
    ctx.requests.put_send_request(request_id, message, {"runId": run.run_id, "step": instr["i"]})
    return StepOutcome(result={"requestId": request_id}, next=instr["next"])


def _delay(instr, run, step, ctx, hop_until) -> StepOutcome:
    spec = instr["spec"]
    if hop_until is not None:
        until = hop_until
    elif spec.get("until"):
        until = parse_until(spec["until"])
    else:
        # from the first attempt's start, so a redelivered job does not stretch the delay
        started = _parse_iso(step.started_at) or ctx.now
        until = started + timedelta(seconds=parse_duration(spec["duration"]))
    if next_hop_seconds(until, ctx.now) > 0:
        return StepOutcome(result={"until": _iso(until)}, next=instr["next"], wait_until=until)
    return StepOutcome(result={"until": _iso(until)}, next=instr["next"])


def _fetch_data(instr, run, step, ctx, hop_until) -> StepOutcome:
    from functions.shared.address_policy import AddressRefused
    from functions.shared.guarded_http import FetchError

    spec = instr["spec"]
    hook = spec["webhook"]
    timeout = spec.get("timeout_ms", 5000) / 1000
    left = ctx.time_left()
    if left is not None:
        # never outlive the function: a clean, recorded failure beats a Lambda timeout mid-step
        if left < 0.1:
            raise StepFailed(f"step {instr['i']} (fetch-data): no time left in this invocation to fetch")
        timeout = min(timeout, left)
    body = hook.get("body")
    if isinstance(body, str):  # Courier sends a body as a string: JSON text goes as that JSON
        try:
            body = json.loads(body)
        except ValueError:
            pass
    url = hook["url"]
    if hook.get("params"):
        from urllib.parse import urlencode

        url += ("&" if "?" in url else "?") + urlencode(hook["params"])
    headers = dict(hook.get("headers") or {})
    if spec.get("idempotency_key"):
        headers.setdefault("Idempotency-Key", spec["idempotency_key"])
    try:
        resp = ctx.http.fetch(hook.get("method", "GET"), url, json_body=body,
                              headers=headers or None, timeout=timeout,
                              max_bytes=spec.get("max_bytes", 262_144))
    except AddressRefused as exc:
        raise StepFailed(f"step {instr['i']} (fetch-data): refused by the address guard: {exc}") from None
    except FetchError as exc:
        raise StepFailed(f"step {instr['i']} (fetch-data): {exc}") from None
    if not 200 <= resp.status < 300:
        raise StepFailed(f"step {instr['i']} (fetch-data): {hook['url']} answered HTTP {resp.status}")
    strategy = spec.get("merge_strategy", "overwrite")
    fetched: Any = None
    if strategy != "none":
        try:
            fetched = json.loads(resp.body or b"null")
        except ValueError:
            raise StepFailed(f"step {instr['i']} (fetch-data): response is not JSON") from None
        refs = reserved_ref_paths(fetched, "response")
        if refs:  # merged into the run's data, a reference would make the next reader fetch what it names
            raise StepFailed(f"step {instr['i']} (fetch-data): {', '.join(refs)}: '$ref' is reserved for "
                             "payloads the platform stores")
    try:
        data = merge_data(run.data, fetched, strategy)
    except ValueError as exc:
        raise StepFailed(f"step {instr['i']} (fetch-data): {exc}") from None
    return StepOutcome(result={"status": resp.status, "bytes": len(resp.body), "merge_strategy": strategy},
                       next=instr["next"], data=data)


def _if(instr, run, step, ctx, hop_until) -> StepOutcome:
    condition = parse_condition(instr["spec"]["condition"])
    taken = evaluate(condition, {"data": run.data, "profile": run.profile, "recipient": run.recipient})
    nxt = instr["next"] if taken else instr.get("else")
    return StepOutcome(result={"branch": "then" if taken else "else", "next": nxt}, next=nxt)


def _cancel(instr, run, step, ctx, hop_until) -> StepOutcome:
    token = instr["spec"]["cancelation_token"]
    run_ids = ctx.runs.cancel_token(token, ctx.now_iso)
    canceled = [rid for rid in run_ids
                if ctx.runs.set_run_status(rid, RunStatus.CANCELED, only_from=RUNNABLE_RUN_STATUSES, now=ctx.now_iso)]
    return StepOutcome(result={"token": token, "canceled": canceled}, next=instr["next"])


def _update_profile(instr, run, step, ctx, hop_until) -> StepOutcome:
    spec = instr["spec"]
    user_id = spec.get("recipient_id") or run.recipient
    current = ctx.runs.get_profile(user_id)
    new = merge_profile(current, spec["profile"], spec.get("merge", "merge"))
    ctx.runs.put_profile(user_id, new, ctx.now_iso)
    run_profile = merge_profile(run.profile, spec["profile"], spec.get("merge", "merge")) \
        if user_id == run.recipient else None
    return StepOutcome(result={"user_id": user_id}, next=instr["next"], profile=run_profile)


def _invoke(instr, run, step, ctx, hop_until) -> StepOutcome:
    spec = instr["spec"]
    child = derived_id("run", run.run_id, instr["i"], "invoke")
    automation = spec.get("automation")
    template = spec.get("template") or run.template
    if automation is None:  # Courier's invoke step names a stored automation template
        automation = ctx.requests.automation_template(spec["template"])
        if automation is None:
            raise StepFailed(f"step {instr['i']} (invoke): no automation template {spec['template']!r} "
                             "(relay automations put)")
        template = run.template
    body: dict[str, Any] = {
        "automation": automation,
        "data": spec["data"] if spec.get("data") is not None else run.data,
        "profile": spec["profile"] if spec.get("profile") is not None else run.profile,
    }
    if spec.get("recipient") or run.recipient:  # a run addressed per step has none to hand down
        body["recipient"] = spec.get("recipient") or run.recipient
    if template:
        body["template"] = template
    ctx.requests.put_automation_request(child, body)
    return StepOutcome(result={"runId": child}, next=instr["next"])


_ACTIONS: dict[str, Callable[..., StepOutcome]] = {
    "send": _send, "delay": _delay, "fetch-data": _fetch_data, "if": _if, "cancel": _cancel,
    "update-profile": _update_profile, "invoke": _invoke,
}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
