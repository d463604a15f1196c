"""The ENQUEUED event is the delivery claim, written once; the final events settle the message (fakes, Hypothesis)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from functions.send_worker.core import process_request
from functions.send_worker.ports import Outcome
from functions.shared.errors import RetryableError
from functions.shared.ids import message_id, ulid_ms
from tests.functions.send_worker.fakes import Clock, FakeClaims, FakeEvents, RecordingProvider, make_ports

REQUEST_ID = "req_01KB9Z8Q1W0000000000000000"  # a ULID: its time keys the ENQUEUED event
REQ = {"requestId": REQUEST_ID, "receivedAt": "2026-12-01T00:00:00Z",
       "message": {"to": {"email": "a@x.io"}, "content": {"body": "hi"}}, "source": {}}
MID = message_id(REQUEST_ID, "a@x.io", "email")


def _ports(provider=None, events=None, clock=None, claims=None):  # type: ignore[no-untyped-def]
    """Ports whose claims write into ``events`` (the claim is an event), dying where ``events`` says."""
    events = events if events is not None else FakeEvents()
    claims = claims if claims is not None else FakeClaims(events)
    claims.events = events if not isinstance(events, DyingEvents) else events.shared
    return make_ports(provider or RecordingProvider(), claims=claims, events=events, now_ms=clock or Clock())


class Died(BaseException):
    """The invocation died here (Lambda's timeout, the stage stopping): nothing after it ran."""


class DyingEvents(FakeEvents):
    """Dies at the n-th write request of one invocation (1: the final events; the claim is the ENQUEUED write)."""

    def __init__(self, shared: FakeEvents, die_at: int) -> None:
        super().__init__()
        self.shared, self.items, self.die_at, self.seen = shared, shared.items, die_at, 0

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


def test_a_send_writes_its_claim_as_its_enqueued_event_and_its_final_events_in_one_request():
    events = FakeEvents()
    claims = FakeClaims(events)
    settled = process_request(REQ, _ports(events=events, claims=claims))
    assert settled[0].outcome.status == "DELIVERED"
    assert claims.writes == 1 and events.requests == 1 and events.puts == 2  # the claim, then SENT + DELIVERED
    assert events.statuses(MID) == ["ENQUEUED", "SENT", "DELIVERED"]
    enqueued = claims.holder(MID)
    assert enqueued["sk"] == f"EVT#{ulid_ms(REQUEST_ID):013d}#00#ENQUEUED" and enqueued["claimedBy"] == "dlv_0001"


def test_a_replay_inside_the_lease_returns_the_recorded_outcome_without_delivering():
    provider, events, clock = RecordingProvider(), FakeEvents(), Clock()
    first = process_request(REQ, _ports(provider, events, clock))
    again = process_request(REQ, _ports(provider, events, clock))
    assert len(provider.deliveries) == 1
    assert [p.outcome for p in again] == [p.outcome for p in first]


def test_a_takeover_after_a_settled_attempt_died_does_not_deliver_again():
    provider, events, clock = RecordingProvider(), FakeEvents(), Clock()
    first = process_request(REQ, _ports(provider, events, clock))
    before = {k: dict(v) for k, v in events.items.items()}
    clock.now += 3_600_000  # the lease ran out long ago
    again = process_request(REQ, _ports(provider, events, clock))
    assert len(provider.deliveries) == 1 and again[0].outcome == first[0].outcome
    assert events.items == before, "a replay of a settled message writes nothing, not even the lease"


def test_a_takeover_after_an_attempt_died_before_settling_delivers_once():
    provider, shared, clock = RecordingProvider(), FakeEvents(), Clock()
    dead = RecordingProvider(transient=set())
    dead.deliver = lambda delivery: (_ for _ in ()).throw(Died("killed before the provider answered"))  # type: ignore
    with pytest.raises(Died):
        process_request(REQ, _ports(dead, shared, clock))
    assert FakeClaims(shared).holder(MID) is None, "a death in delivery gives the claim up (the release runs first)"
    settled = process_request(REQ, _ports(provider, shared, clock))
    assert settled[0].outcome.status == "DELIVERED" and len(provider.deliveries) == 1


def test_a_live_claim_of_a_dead_invocation_waits_for_its_lease():
    provider, events, clock = RecordingProvider(), FakeEvents(), Clock()
    FakeClaims(events).acquire({"pk": f"MSG#{MID}", "sk": f"EVT#{ulid_ms(REQUEST_ID):013d}#00#ENQUEUED",
                                "status": "ENQUEUED", "ts": clock.now}, "dlv_dead", now_ms=clock.now, lease_ms=60_000)
    with pytest.raises(RetryableError, match="claimed by another invocation until"):
        process_request(REQ, _ports(provider, events, clock))
    clock.now += 61_000
    assert process_request(REQ, _ports(provider, events, clock))[0].outcome.status == "DELIVERED"
    assert len(provider.deliveries) == 1


def test_a_claim_settled_by_an_earlier_version_is_replayed_from_the_state_table():
    provider, events = RecordingProvider(), FakeEvents()
    claims = FakeClaims(events)
    outcome = Outcome("DELIVERED", None, "outbox", "dlv_old", ((10, 0, "ENQUEUED"), (11, 1, "SENT"), (11, 2, "DELIVERED")))
    claims.settle_as_before(MID, outcome)
    settled = process_request(REQ, _ports(provider, events, claims=claims))
    assert provider.deliveries == [] and settled[0].outcome == outcome
    assert "SENT" in events.statuses(MID) and "DELIVERED" in events.statuses(MID), "its events re-written, as before"


def test_an_earlier_versions_live_claim_waits_and_its_dead_one_is_taken_over():
    provider, events, clock = RecordingProvider(), FakeEvents(), Clock()
    claims = FakeClaims(events)
    claims.claim_as_before(MID, lease_until_ms=clock.now + 30_000)
    with pytest.raises(RetryableError, match="claimed by an earlier version"):
        process_request(REQ, _ports(provider, events, clock, claims))
    assert claims.holder(MID) is None, "no new claim while the old one lives"
    clock.now += 31_000
    assert process_request(REQ, _ports(provider, events, clock, claims))[0].outcome.status == "DELIVERED"
    assert len(provider.deliveries) == 1


def test_the_providers_feedback_alone_proves_the_message_was_sent():
    # GIVEN an attempt that died after SES took the message, before its SENT landed; SES's feedback did land
    provider, events, clock = RecordingProvider(), FakeEvents(), Clock()
    base = {"pk": f"MSG#{MID}", "messageId": MID, "channel": "email", "recipient": "a@x.io"}
    FakeClaims(events).acquire({**base, "sk": f"EVT#{ulid_ms(REQUEST_ID):013d}#00#ENQUEUED", "status": "ENQUEUED",
                                "ts": 100}, "dlv_dead", now_ms=100, lease_ms=10)
    events.put({**base, "sk": "EVT#0000000000150#02#DELIVERED", "status": "DELIVERED", "ts": 150, "provider": "ses",
                "deliveryId": "dlv_dead", "feedbackId": "Delivery:ses-1:a@x.io", "providerMessageId": "ses-1"})
    clock.now += 3_600_000
    # WHEN the retry takes the claim over THEN it does not send again
    settled = process_request(REQ, _ports(provider, events, clock))
    assert provider.deliveries == []
    assert (settled[0].outcome.status, settled[0].outcome.delivery_id) == ("SENT", "dlv_dead")


def test_a_death_while_writing_the_final_events_is_the_one_window_for_a_second_delivery():
    # the same window as before this change (between the provider's answer and the settling write): documented
    provider, shared, clock = RecordingProvider(), FakeEvents(), Clock()
    with pytest.raises(Died):
        process_request(REQ, _ports(provider, DyingEvents(shared, 1), clock))
    clock.now += 3_600_000
    process_request(REQ, _ports(provider, shared, clock))
    assert len(provider.deliveries) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 200_000)), min_size=1, max_size=6))
def test_invocations_that_die_or_replay_at_any_time_outside_the_settling_write_deliver_exactly_once(attempts):
    # GIVEN invocations of one stored request, each either killed while the provider works (True) or running
    # through (False), separated by any time (inside or past the 60 s lease)
    provider, shared, clock = RecordingProvider(), FakeEvents(), Clock()
    killed = RecordingProvider()
    killed.deliver = lambda delivery: (_ for _ in ()).throw(Died("killed"))  # type: ignore[assignment]
    outcomes = []
    for dies, wait_ms in attempts + [(False, 120_000)]:  # and finally one that runs past every lease
        clock.now += wait_ms
        try:
            outcomes += [p.outcome for p in process_request(REQ, _ports(killed if dies else provider, shared, clock))]
        except (Died, RetryableError):
            pass  # Lambda retries the event
    # THEN one delivery, and every invocation that settled reports the same outcome
    assert len(provider.deliveries) == 1
    assert outcomes and all(o == outcomes[0] for o in outcomes)
    assert shared.statuses(MID) == ["ENQUEUED", "SENT", "DELIVERED"]
