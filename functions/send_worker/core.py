"""The send worker's domain core: expand, route, render, deliver once, record events.

Pure: it talks only to the ports in :mod:`functions.send_worker.ports` and to providers, and takes
its clock and id source as arguments, so the tests drive it with fakes.

Routing:

* ``all`` — one message per recipient × channel; a channel the recipient cannot be reached on is
  UNROUTABLE with the reason.
* ``single`` — channels in order; channels the recipient has no address for are skipped; the first
  delivered (or canceled) message ends the list; a permanent provider failure (UNDELIVERABLE) or a
  render failure (UNROUTABLE) fails over to the next channel. No addressable channel at all → one
  UNROUTABLE message on the first channel.

At most once per message id: before anything is delivered, the message's ENQUEUED event is written by one
conditional write that is also the delivery claim — at a key its request fixes (:func:`enqueued_sk`), with a
lease — and the delivery's final events, written together in one request once the provider has answered,
settle it: the claim is not written again. A replayed S3 event that finds the claim held (or takes over one
whose lease ran out) reads the message's events and, if they record an outcome, returns it instead of
delivering again. Claims kept by earlier versions in the state table (``DELIVERY#<id>/CLAIM``) are honoured:
a settled one is replayed, a live one waits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from functions.providers.base import Delivery
from functions.send_worker.content import render_context, render_for_channel
from functions.send_worker.ports import (ClaimStore, DelayedSends, EventLog, Outcome, ProviderRegistry, RunState,
                                         SuppressionList, TemplateStore)
from functions.send_worker.render import RenderError
from functions.shared.channels import ADDRESS_FIELD, DEFAULT_CHANNELS, address_for, recipient_key
from functions.shared.errors import BadContent, RetryableError
from functions.send_worker.events import enqueued_sk, event_item
from functions.shared.ids import message_id as make_message_id
from functions.shared.message_meta import message_meta
from functions.shared.schedule import due_at, expires_at, iso
from functions.shared.statuses import DeliveryReason
from functions.shared.statuses import MessageStatus as S

__all__ = ["SendPorts", "MessagePlan", "RecipientPlan", "expand", "event_item", "enqueued_sk", "process_request",
           "BadRequest", "DEFAULT_LEASE_MS", "LEASE_MARGIN_MS", "lease_for"]

DEFAULT_LEASE_MS = 60_000  # longer than the function timeout: a crashed delivery is retried after it
LEASE_MARGIN_MS = 5_000


class BadRequest(BadContent, ValueError):
    """The stored request is not a send request at all (logged, never retried: retrying cannot help)."""


def lease_for(remaining_ms: int | None) -> int:
    """How long a delivery claim must hold: the invocation's time left plus a margin.

    A claim only has to outlive the invocation that took it: once Lambda has killed it (timeout,
    crash), the next attempt may take the message over. Without a Lambda context (tests, tools) the
    default lease applies.
    """
    return DEFAULT_LEASE_MS if remaining_ms is None else int(remaining_ms) + LEASE_MARGIN_MS


@dataclass
class SendPorts:
    """Everything the core needs from the outside world."""

    claims: ClaimStore
    events: EventLog
    runs: RunState
    templates: TemplateStore
    providers: ProviderRegistry
    now_ms: Callable[[], int]
    new_delivery_id: Callable[[], str]
    lease_ms: int = DEFAULT_LEASE_MS
    retention_days: int = 30
    # checked before a provider that honours it (Provider.checks_suppression); None: no list
    suppressions: SuppressionList | None = None
    # epoch ms by which providers stop retrying themselves (the invocation's budget); None: no deadline
    deadline_ms: int | None = None
    # where a delayed send waits (the job queue's delay hops); None: delays are not honoured (tests, tools)
    delayed: DelayedSends | None = None


@dataclass(frozen=True)
class RecipientPlan:
    """One recipient and the channels to try, with the routing method."""

    recipient: dict[str, Any]
    key: str
    method: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class MessagePlan:
    """The settled outcome of one message, as reported by :func:`process_request`."""

    message_id: str
    recipient: str
    channel: str
    outcome: Outcome


def expand(message: dict[str, Any]) -> list[RecipientPlan]:
    """Recipients × channels per routing method (pure; duplicates of one recipient collapse).

    Raises
    ------
    BadRequest
        When ``message`` has no recipients.
    """
    to = message.get("to")
    recipients = [to] if isinstance(to, dict) else to
    if not isinstance(recipients, list) or not recipients:
        raise BadRequest("message.to has no recipients")
    routing = message.get("routing") if isinstance(message.get("routing"), dict) else {}
    method = routing.get("method", "all")
    channels = routing.get("channels") or message.get("channels") or list(DEFAULT_CHANNELS)
    if isinstance(channels, dict):  # Courier's per-channel settings: its channels, every one of them
        channels = list(channels) or list(DEFAULT_CHANNELS)
    if isinstance(channels, str):
        channels = [channels]
    if not isinstance(channels, list) or not all(isinstance(c, str) and c for c in channels):
        raise BadRequest("message channels must be a list of channel names")
    plans: list[RecipientPlan] = []
    seen: set[str] = set()
    for r in recipients:
        if not isinstance(r, dict):
            raise BadRequest("message.to holds a recipient that is not an object")
        key = recipient_key(r)
        if not key or key in seen:
            continue
        seen.add(key)
        plans.append(RecipientPlan(r, key, "single" if method == "single" else "all", tuple(dict.fromkeys(channels))))
    return plans


@dataclass
class _Request:
    request_id: str
    run_id: str | None
    message: dict[str, Any]
    ports: SendPorts
    _canceled: bool | None = None
    _template: Any = field(default=None)
    _template_loaded: bool = False
    _missing: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.meta = message_meta(self.message)

    def canceled(self) -> bool:
        if self._canceled is None:
            # only a delayed send can be canceled by id (POST /messages/{id}/cancel): no read for the others
            by_id = isinstance(self.message.get("delay"), dict) and self.ports.runs.request_canceled(self.request_id)
            self._canceled = bool(by_id) or (self.run_id is not None and self.ports.runs.is_canceled(self.run_id))
        return self._canceled

    def cancel_reason(self) -> str:
        return f"run {self.run_id} was canceled" if self.run_id else f"request {self.request_id} was canceled"

    def template(self) -> tuple[dict[str, Any] | None, str]:
        """Inline content or the named template, or None and the reason it is missing."""
        if not self._template_loaded:
            content = self.message.get("content")
            name = self.message.get("template")
            if isinstance(content, dict):
                self._template, self._missing = content, ""
            elif isinstance(name, str) and name:
                self._template, self._missing = self.ports.templates.get(name), f"template {name!r} not found"
            else:
                self._template, self._missing = None, "message has neither content nor a template name"
            self._template_loaded = True
        return self._template, self._missing


def process_request(doc: dict[str, Any], ports: SendPorts) -> list[MessagePlan]:
    """Process one stored send request (``send/<requestId>.json``).

    Returns
    -------
    list[MessagePlan]
        Every message settled by this call (or replayed from its claim).

    Raises
    ------
    BadRequest
        When the document is not a send request (the handler logs it; never retried).
    RetryableError
        When a provider fails transiently or another invocation holds a live claim.
    """
    request_id = doc.get("requestId")
    message = doc.get("message")
    if not isinstance(request_id, str) or not request_id or not isinstance(message, dict):
        raise BadRequest("document has no requestId or no message")
    source = doc.get("source") if isinstance(doc.get("source"), dict) else {}
    run_id = source.get("runId") if isinstance(source.get("runId"), str) else None
    req = _Request(request_id, run_id, message, ports)
    due = due_at(message)
    if due is not None and not doc.get("released") and ports.delayed is not None \
            and int(due.timestamp() * 1000) > ports.now_ms():
        ports.delayed.schedule(request_id, due)  # the job queue's hops bring it back, released, when due
        return []
    settled: list[MessagePlan] = []
    for plan in expand(message):
        profile = _profile_if_needed(plan, ports)
        if plan.method == "all":
            for channel in plan.channels:
                settled.append(_one(req, plan, channel, profile))
            continue
        candidates = [c for c in plan.channels if address_for(c, plan.recipient, profile)]
        if not candidates:
            settled.append(_one(req, plan, plan.channels[0], profile,
                                forced_reason=f"no addressable channel among {', '.join(plan.channels)}"))
            continue
        for channel in candidates:
            result = _one(req, plan, channel, profile)
            settled.append(result)
            if result.outcome.status in (S.DELIVERED, S.SENT, S.CANCELED):
                break
    return settled


def _profile_if_needed(plan: RecipientPlan, ports: SendPorts) -> dict[str, Any] | None:
    user_id = plan.recipient.get("user_id")
    if not user_id:
        return None
    missing = any(not plan.recipient.get(ADDRESS_FIELD.get(c, "")) for c in plan.channels)
    return ports.runs.profile(str(user_id)) if missing else None


def _one(req: _Request, plan: RecipientPlan, channel: str, profile: dict[str, Any] | None,
         forced_reason: str | None = None) -> MessagePlan:
    ports = req.ports
    mid = make_message_id(req.request_id, plan.key, channel)
    did = ports.new_delivery_id()
    t0 = ports.now_ms()
    before = _claimed_by_an_earlier_version(req, plan, channel, mid, t0)
    if before is not None:
        return before
    # reads before the claim: the time from the ENQUEUED write to the final events is what lets one message's
    # events fall into two stream batches (two VIEW writes instead of one)
    req.canceled()
    enqueued = {**_event(req, plan, channel, mid, S.ENQUEUED, t0, 0), "sk": enqueued_sk(req.request_id)}
    claim = ports.claims.acquire(enqueued, did, now_ms=t0, lease_ms=ports.lease_ms)
    if not claim.acquired:
        # an earlier attempt claimed it: if it settled, its final events say so (read before any write, so a
        # replay changes nothing); if not, its claim is taken over once its lease ran out
        events = ports.events.events(mid)
        recorded = Outcome.from_events(events)
        if recorded is not None:
            return MessagePlan(mid, plan.key, channel, recorded)
        claim = ports.claims.take_over(enqueued, did, now_ms=t0, lease_ms=ports.lease_ms)
        if not claim.acquired:
            lease = next((e.get("leaseUntil") for e in events if e.get("sk") == enqueued["sk"]), None)
            raise RetryableError(f"message {mid} is claimed by another invocation until {lease}")
    # the outcome's ENQUEUED is the event as stored: a takeover keeps the first claim's time
    enqueued_ts = claim.enqueued_ts if claim.enqueued_ts is not None else t0
    try:
        outcome = _decide_and_deliver(req, plan, channel, profile, mid, did, enqueued_ts, forced_reason)
    except BaseException:
        ports.claims.release(enqueued, did)  # transient (or a bug): let the retry claim it at once
        raise
    # the final events settle the message (one request: a replay finds all of them or none)
    _write_events(req, plan, channel, mid, outcome, skip_first=True)
    return MessagePlan(mid, plan.key, channel, outcome)


def _claimed_by_an_earlier_version(req: _Request, plan: RecipientPlan, channel: str, mid: str,
                                   now_ms: int) -> MessagePlan | None:
    """The outcome of a message an earlier version settled (its claim in the state table), or None.

    Raises
    ------
    RetryableError
        When that earlier claim's lease is still live (an invocation of the earlier version is delivering).
    """
    legacy = req.ports.claims.legacy(mid)
    if legacy is None:
        return None
    if legacy.outcome is not None:  # its events follow the claim in that version: re-write them
        _write_events(req, plan, channel, mid, legacy.outcome)
        return MessagePlan(mid, plan.key, channel, legacy.outcome)
    if legacy.lease_until_ms is not None and legacy.lease_until_ms >= now_ms:
        raise RetryableError(f"message {mid} is claimed by an earlier version until {legacy.lease_until_ms}")
    return None  # its holder died before settling: the claim below takes over, as its lease allowed


def _decide_and_deliver(req: _Request, plan: RecipientPlan, channel: str, profile: dict[str, Any] | None,
                        mid: str, did: str, t0: int, forced_reason: str | None) -> Outcome:
    ports = req.ports
    enq = (t0, 0, S.ENQUEUED)

    def settled(status: S, reason: str | None, provider: str | None = None, delivery_id: str | None = None,
                extra: tuple[tuple[int, int, S], ...] = (), detail: str | None = None,
                provider_message_id: str | None = None) -> Outcome:
        final = extra or ((ports.now_ms(), 1, status),)
        return Outcome(status, reason, provider, delivery_id, (enq, *final), detail=detail,
                       provider_message_id=provider_message_id)

    if req.canceled():
        return settled(S.CANCELED, req.cancel_reason())
    expiry = expires_at(req.message)
    if expiry is not None and ports.now_ms() > int(expiry.timestamp() * 1000):
        return settled(S.UNDELIVERABLE, DeliveryReason.EXPIRED, detail=f"the message expired at {iso(expiry)}")
    if forced_reason:
        return settled(S.UNROUTABLE, forced_reason)
    if channel not in ADDRESS_FIELD:
        return settled(S.UNROUTABLE, f"unknown channel {channel!r}")
    address = address_for(channel, plan.recipient, profile)
    if not address:
        return settled(S.UNROUTABLE, f"recipient {plan.key} has no {ADDRESS_FIELD.get(channel, channel)} "
                                     f"for channel {channel}")
    provider = ports.providers.for_channel(channel)
    if provider.checks_suppression and ports.suppressions is not None:
        entry = ports.suppressions.find(channel, address)
        if entry is not None:  # a hard bounce or a complaint: never call the provider for it again
            return settled(S.UNDELIVERABLE, DeliveryReason.SUPPRESSED, provider.name, did, detail=(
                f"{entry.address} is on the suppression list since {entry.created_at or 'unknown'}: "
                f"{entry.reason} of message {entry.message_id or 'unknown'}"))
    template, missing = req.template()
    if template is None:
        return settled(S.UNROUTABLE, missing)
    context = render_context(req.message, plan.recipient, profile)
    try:
        rendered = render_for_channel(template, channel, req.message, context)
    except RenderError as exc:
        return settled(S.UNROUTABLE, str(exc))
    # a provider with receipts (ses) reports on events timestamped after the call began: SENT carries
    # that instant, so a receipt that arrives before SENT is written still sorts after it
    t_call = ports.now_ms()
    result = provider.deliver(Delivery(
        message_id=mid, delivery_id=did, request_id=req.request_id, channel=channel, address=address,
        title=rendered.title, body=rendered.body, recipient=plan.recipient,
        data={k: v for k, v in context.items() if k not in ("recipient", "profile")}, deadline_ms=ports.deadline_ms,
        html=rendered.html,
    ))
    if not result.delivered:
        return settled(S.UNDELIVERABLE, result.reason, result.provider, did, detail=result.detail)
    if result.accepted_only:  # SENT; DELIVERED or UNDELIVERABLE follows from the provider's feedback
        return settled(S.SENT, None, result.provider, did, extra=((t_call, 1, S.SENT),),
                       provider_message_id=result.provider_message_id)
    t1 = ports.now_ms()
    return settled(S.DELIVERED, None, result.provider, did,
                   extra=((t1, 1, S.SENT), (t1, 2, S.DELIVERED)), provider_message_id=result.provider_message_id)


def _put(req: _Request, plan: RecipientPlan, channel: str, mid: str, status: S, ts: int, seq: int,
         outcome: Outcome | None = None) -> None:
    req.ports.events.put(_event(req, plan, channel, mid, status, ts, seq, outcome))


def _event(req: _Request, plan: RecipientPlan, channel: str, mid: str, status: S, ts: int, seq: int,
           outcome: Outcome | None = None) -> dict[str, Any]:
    is_final = outcome is not None and status == outcome.status
    item = event_item(
        message_id=mid, request_id=req.request_id, run_id=req.run_id, recipient=plan.key, channel=channel,
        status=status, ts=ts, seq=seq, retention_days=req.ports.retention_days,
        reason=outcome.reason if is_final else None,
        provider=outcome.provider if outcome is not None and status in (S.SENT, S.DELIVERED, S.UNDELIVERABLE) else None,
        delivery_id=outcome.delivery_id if outcome is not None and status != S.ENQUEUED else None,
    )
    item.update(req.meta)
    item["enqueuedAt"] = outcome.events[0][0] if outcome is not None and outcome.events else ts
    if outcome is not None and is_final and outcome.detail:
        item["detail"] = outcome.detail
    if outcome is not None and outcome.provider_message_id and status in (S.SENT, S.DELIVERED):
        item["providerMessageId"] = outcome.provider_message_id
    return item


def _write_events(req: _Request, plan: RecipientPlan, channel: str, mid: str, outcome: Outcome,
                  skip_first: bool = False) -> None:
    items = [_event(req, plan, channel, mid, status, ts, seq, outcome)
             for i, (ts, seq, status) in enumerate(outcome.events) if not (skip_first and i == 0)]
    req.ports.events.put_all(items)
