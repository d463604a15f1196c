"""Kill semantics for in-process handlers: once Lambda kills a sandbox, its code makes no more AWS calls.

Lambda kills an execution environment when an invocation times out, and the local stage kills every
running invocation when it stops. Python cannot kill a thread, so the local data plane kills what the
thread can *do*: every AWS call a handler makes passes a botocore ``before-send`` hook, and a call from
a killed sandbox raises :class:`SandboxKilled` (a ``BaseException``, so a handler's ``except Exception``
cannot swallow it) before anything is sent.

This is what makes a stop of the local stage a consistent cut. Without it, a handler still running at
the stop bound (or a timed-out one) could store an S3 object after the data plane had collected the
async events for the carry-over and before the emulator took its snapshot: the object survives the
restart, the event that should process it does not, and the work is lost for good. With it, everything
a killed invocation did before the kill is in the snapshot, everything after it never happened, and the
invocation itself is redone from its carried-over event or its redelivered SQS message, as in AWS.

Calls *in progress* when a sandbox is killed are counted (``before-send`` … ``response-received``) so the
data plane can wait until they have landed — an S3 PUT's notification reaches the data plane inside
that PUT — before it collects what to carry over.

The sandbox is a :class:`contextvars.ContextVar`, not a thread-local: a handler that runs work on threads
of its own stays inside its sandbox when each task runs in a copy of the submitting context
(``contextvars.copy_context().run``, what :mod:`functions.shared.concurrency`'s executor does), so a
killed invocation's worker threads are refused too. Code that starts bare threads can still use
:func:`run_in` with the sandbox it read from :func:`current`.
"""
from __future__ import annotations

import contextvars
import threading
import time
from typing import Any, Callable, TypeVar

from relay.local.patches import botocore_hook, once

__all__ = ["Sandbox", "SandboxKilled", "install", "current", "run_in"]

T = TypeVar("T")
# a ContextVar, so tasks run in a copied context (a handler's own worker threads) see their invocation's sandbox
_current: contextvars.ContextVar["Sandbox | None"] = contextvars.ContextVar("relay_local_sandbox", default=None)


class SandboxKilled(BaseException):
    """The invocation's sandbox was killed (timeout, or the local stage stopping): no more AWS calls."""


class Sandbox:
    """One invocation's execution environment: killed once, counting its AWS calls in progress.

    ``chain`` is how many invocations came before this one in its chain of requests (see
    :mod:`.recursion`): what it sends to SQS carries ``chain + 1``.
    """

    def __init__(self, label: str, chain: int = 0) -> None:
        self.label = label
        self.chain = chain
        self.killed = False
        self.reason = ""
        self._calls = 0
        self._cond = threading.Condition()

    def kill(self, reason: str) -> None:
        with self._cond:
            if not self.killed:
                self.killed, self.reason = True, reason

    @property
    def calls_in_progress(self) -> int:
        return self._calls

    def wait_calls_done(self, timeout: float) -> bool:
        """Wait until no AWS call of this sandbox is in flight (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._calls > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # called by the botocore hooks below, on the invocation's thread or a task it handed on
    def _call_starts(self) -> None:
        with self._cond:
            if self.killed:
                raise SandboxKilled(f"sandbox of {self.label} was killed ({self.reason}): AWS call refused")
            self._calls += 1

    def _call_ends(self) -> None:
        with self._cond:
            if self._calls > 0:
                self._calls -= 1
                self._cond.notify_all()


def current() -> Sandbox | None:
    """The sandbox of the invocation running in this context (its thread, or a task it handed on), if any."""
    return _current.get()


def run_in(sandbox: Sandbox | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on this thread inside ``sandbox`` (for threads an invocation starts itself)."""
    token = _current.set(sandbox)
    try:
        return fn(*args, **kwargs)
    finally:
        _current.reset(token)


def _before_send(**_: Any) -> None:
    sandbox = current()
    if sandbox is not None:
        sandbox._call_starts()  # noqa: SLF001 - the hook is the sandbox's own entry point
    return None  # None lets botocore send the request as usual


def _response_received(**_: Any) -> None:
    sandbox = current()
    if sandbox is not None:
        sandbox._call_ends()  # noqa: SLF001


@once
def install() -> None:
    """Register the hooks for every botocore session created from now on (idempotent)."""
    # first: a killed sandbox is refused before the modelled latency is slept
    botocore_hook("before-send", _before_send, first=True)
    botocore_hook("response-received", _response_received)
