"""The delivery claim is written once; the final events settle the message (fakes of the ports, Hypothesis)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from functions.send_worker.core import process_request
from functions.send_worker.ports import Outcome
from functions.shared.errors import RetryableError
from functions.shared.ids import message_id
from tests.functions.send_worker.fakes import Clock, FakeClaims, FakeEvents, RecordingProvider, make_ports

REQ = {"requestId": "req_01CLAIM", "receivedAt": "2026-12-01T00:00:00Z",
       "message": {"to": {"email": "a@x.io"}, "content": {"body": "hi"}}, "source": {}}
MID = message_id("req_01CLAIM", "a@x.io", "email")


class Died(BaseException):
    """The invocation died here (Lambda's timeout, the stage stopping): nothing after it ran."""


class DyingEvents(FakeEvents):
    """Dies at the n-th request (1: the ENQUEUED put, 2: the final events) of one invocation."""

    def __init__(self, shared: FakeEvents, die_at: int) -> None:
        super().__init__()
        self.items, self.die_at, self.seen = shared.items, die_at, 0

    def _maybe_die(self) -> None:
        self.seen += 1
        if self.seen == self.die_at:
            raise Died(f"request {self.seen}")

    def put(self, item):  # type: ignore[no-untyped-def]
        self._maybe_die()
        super().put(item)

    def put_all(self, items):  # type: ignore[no-untyped-def]
        self._maybe_die()
        super().put_all(items)


def test_a_send_writes_its_claim_once_and_its_final_events_in_one_request():
    claims, events = FakeClaims(), FakeEvents()
    settled = process_request(REQ, make_ports(claims=claims, events=events))
    assert settled[0].outcome.status == "DELIVERED"
    assert claims.writes == 1 and claims.items[MID]["status"] == "CLAIMED"
    assert events.requests == 2 and events.puts == 3  # ENQUEUED, then SENT + DELIVERED together


def test_a_replay_inside_the_lease_returns_the_recorded_outcome_without_delivering():
    provider, claims, events, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    first = process_request(REQ, make_ports(provider, claims=claims, events=events, now_ms=clock))
    again = process_request(REQ, make_ports(provider, claims=claims, events=events, now_ms=clock))
    assert len(provider.deliveries) == 1
    assert [p.outcome for p in again] == [p.outcome for p in first]


def test_a_takeover_after_a_settled_attempt_died_does_not_deliver_again():
    provider, claims, events, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    first = process_request(REQ, make_ports(provider, claims=claims, events=events, now_ms=clock))
    clock.now += 3_600_000  # the lease ran out long ago
    again = process_request(REQ, make_ports(provider, claims=claims, events=events, now_ms=clock))
    assert len(provider.deliveries) == 1 and again[0].outcome == first[0].outcome


def test_a_takeover_after_an_attempt_died_before_delivering_delivers_once():
    provider, claims, shared, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    with pytest.raises(Died):
        process_request(REQ, make_ports(provider, claims=claims, events=DyingEvents(shared, 1), now_ms=clock))
    with pytest.raises(RetryableError, match="claimed by another invocation"):  # still inside the dead one's lease
        process_request(REQ, make_ports(provider, claims=claims, events=shared, now_ms=clock))
    clock.now += 3_600_000
    settled = process_request(REQ, make_ports(provider, claims=claims, events=shared, now_ms=clock))
    assert settled[0].outcome.status == "DELIVERED" and len(provider.deliveries) == 1


def test_a_claim_settled_by_an_earlier_version_is_replayed_from_the_claim():
    provider, claims, events = RecordingProvider(), FakeClaims(), FakeEvents()
    outcome = Outcome("DELIVERED", None, "outbox", "dlv_old", ((10, 0, "ENQUEUED"), (11, 1, "SENT"), (11, 2, "DELIVERED")))
    claims.settle_as_before(MID, outcome)
    settled = process_request(REQ, make_ports(provider, claims=claims, events=events))
    assert provider.deliveries == [] and settled[0].outcome == outcome
    assert events.statuses(MID) == ["ENQUEUED", "SENT", "DELIVERED"], "its events are re-written, as before"


def test_the_providers_feedback_alone_proves_the_message_was_sent():
    # GIVEN an attempt that died after SES took the message, before its SENT landed; SES's feedback did land
    provider, claims, events, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    claims.acquire(MID, "dlv_dead", now_ms=clock.now, lease_ms=10)
    base = {"pk": f"MSG#{MID}", "messageId": MID, "channel": "email", "recipient": "a@x.io"}
    events.put({**base, "sk": "EVT#0000000000100#00#ENQUEUED", "status": "ENQUEUED", "ts": 100})
    events.put({**base, "sk": "EVT#0000000000150#02#DELIVERED", "status": "DELIVERED", "ts": 150, "provider": "ses",
                "deliveryId": "dlv_dead", "feedbackId": "Delivery:ses-1:a@x.io", "providerMessageId": "ses-1"})
    clock.now += 3_600_000
    # WHEN the retry takes the claim over THEN it does not send again
    settled = process_request(REQ, make_ports(provider, claims=claims, events=events, now_ms=clock))
    assert provider.deliveries == []
    assert (settled[0].outcome.status, settled[0].outcome.delivery_id) == ("SENT", "dlv_dead")


def test_a_death_while_writing_the_final_events_is_the_one_window_for_a_second_delivery():
    # the same window as before this change (between the provider's answer and the settling write): documented
    provider, claims, shared, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    with pytest.raises(Died):
        process_request(REQ, make_ports(provider, claims=claims, events=DyingEvents(shared, 2), now_ms=clock))
    clock.now += 3_600_000
    process_request(REQ, make_ports(provider, claims=claims, events=shared, now_ms=clock))
    assert len(provider.deliveries) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, 200_000)), min_size=1, max_size=6))
def test_invocations_that_die_before_delivering_or_replay_at_any_time_deliver_exactly_once(attempts):
    # GIVEN invocations of one stored request, each either dying at its ENQUEUED write (1) or running through
    # (0), separated by any time (inside or past the 60 s lease)
    provider, claims, shared, clock = RecordingProvider(), FakeClaims(), FakeEvents(), Clock()
    outcomes = []
    for die_at, wait_ms in attempts + [(0, 120_000)]:  # and finally one that runs past every lease
        clock.now += wait_ms
        events = DyingEvents(shared, die_at) if die_at else shared
        try:
            outcomes += [p.outcome for p in process_request(REQ, make_ports(provider, claims=claims, events=events,
                                                                            now_ms=clock))]
        except (Died, RetryableError):
            pass  # Lambda retries the event
    # THEN one delivery, and every invocation that settled reports the same outcome
    assert len(provider.deliveries) == 1
    assert outcomes and all(o == outcomes[0] for o in outcomes)
    assert shared.statuses(MID)[-2:] == ["SENT", "DELIVERED"]
