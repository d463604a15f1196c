"""Retries that fit a provider: back off on throttling and transient errors, within the worker's budget.

A provider call that fails transiently (SES ``TooManyRequestsException``, SNS ``Throttling``, a 5xx,
a refused connection, an SMTP 4xx) is tried again after a capped exponential backoff with full
jitter (AWS's recommendation for throttled clients), as long as the next attempt can still finish
before the delivery's deadline. When attempts or time run out it raises
:class:`~functions.shared.errors.RetryableError`: the send worker releases its claim and Lambda's
async retry (then the async DLQ) takes over, as for any other transient failure. Permanent errors
are not retried here; the provider maps them to a result with the provider's reason.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from functions.shared.errors import RetryableError

__all__ = ["Backoff", "call_with_backoff", "DEFAULT_BACKOFF"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How a provider retries: ``max_attempts`` calls, delays ``base_s * 2**n`` capped at ``cap_s``.

    ``reserve_s`` is kept free before the deadline for the attempt itself (a call that starts must
    have time to finish).
    """

    max_attempts: int = 4
    base_s: float = 0.1
    cap_s: float = 2.0
    reserve_s: float = 1.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in ``[0, min(cap, base * 2**attempt)]`` (attempt counts from 0)."""
        return rng() * min(self.cap_s, self.base_s * (2 ** attempt))


DEFAULT_BACKOFF = Backoff()


def call_with_backoff(call: Callable[[], T], *, transient: Callable[[BaseException], bool],
                      describe: Callable[[BaseException], str], deadline_ms: int | None,
                      backoff: Backoff = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep,
                      clock_ms: Callable[[], float] = lambda: time.time() * 1000,
                      rng: Callable[[], float] = random.random) -> T:
    """``call()``, retried on errors ``transient`` accepts, until attempts or the deadline run out.

    Parameters
    ----------
    call
        One attempt; its exceptions are classified by ``transient``.
    transient
        True for an error worth another attempt (throttling, 5xx, connection errors).
    describe
        The words for the :class:`RetryableError` raised at the end (they name the provider).
    deadline_ms
        Epoch ms by which the last attempt must have finished (None: only ``max_attempts`` bounds it).

    Raises
    ------
    RetryableError
        When the last attempt failed transiently (chained to the provider's error).
    BaseException
        Whatever ``call`` raised that ``transient`` does not accept, unchanged.
    """
    attempt = 0
    while True:
        try:
            return call()
        except BaseException as exc:  # noqa: BLE001 - classified below; anything else is re-raised as is
            if not transient(exc):
                raise
            attempt += 1
            wait = backoff.delay(attempt - 1, rng)
            out_of_time = (deadline_ms is not None
                           and clock_ms() + (wait + backoff.reserve_s) * 1000 > deadline_ms)
            if attempt >= backoff.max_attempts or out_of_time:
                why = ", the invocation's time budget is spent" if out_of_time else ""
                raise RetryableError(f"{describe(exc)} (gave up after {attempt} attempt(s){why}; "
                                     "Lambda retries the invocation)") from exc
            sleep(wait)
