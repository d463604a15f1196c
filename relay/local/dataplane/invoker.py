"""In-process invocation of a handler with Lambda's contract: context, environment, timeout, concurrency.

Each invocation runs in its own thread so the function timeout (counted from the handler's start: the
Init phase has its own limit) is enforced: past it, the invocation is an error (``Task timed out after
N.NN seconds``) as in Lambda. Python cannot kill a thread, but the sandbox is killed (:mod:`.sandbox`):
the handler's next AWS call raises, so it changes nothing any more, and its slot is freed at the timeout.
:meth:`Invoker.kill_all` does the same to every running invocation when the local stage stops.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from relay.local.dataplane.faults import Faults, faults_from_environment
from relay.local.dataplane.metrics import MetricsRecorder
from relay.local.dataplane.registry import FunctionSpec
from relay.local.dataplane.sandbox import Sandbox, SandboxKilled, run_in
from relay.local.dataplane.sandbox import install as install_sandbox_hooks
from relay.local.dataplane.recursion import install as install_recursion_hooks

__all__ = ["FunctionError", "LambdaContext", "InvokeResult", "Invoker", "EnvironmentBinder", "EnvironmentConflictError",
           "HandlerImportError", "load_handler", "import_scoped_environment", "REPO_ROOT", "PER_FUNCTION_VARIABLES"]

REPO_ROOT = Path(__file__).resolve().parents[3]
# Lambda's Init phase (runtime start and the handler module's import) has a 10 s limit of its own
INIT_LIMIT_S = 10.0

# Variables that name the function itself: they differ per function by design (Powertools' service name,
# the runtime's AWS_LAMBDA_* values), so they are not shared through os.environ. They are set only while
# the function's handler module is imported, which is when Powertools' Logger/Tracer/Metrics read them.
# Limitation: two functions sharing one handler module would share the first import's values.
PER_FUNCTION_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME",
                                    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                    "AWS_LAMBDA_LOG_GROUP_NAME"})
_import_lock = threading.Lock()


class EnvironmentConflictError(ValueError):
    """Two functions (or a function and the data plane) want different values for one variable.

    Handlers share one process and so one ``os.environ``: relay's functions of one stage share their
    values by design, and a conflict would make one of them read the other's setting.
    """


class FunctionError(RuntimeError):
    """An invoke ended in a function error, as Lambda answers it (``X-Amz-Function-Error: Unhandled`` with
    ``{"errorMessage", "errorType"}``): raised by :meth:`DataPlane.invoke` and by the emulator's ``Invoke``
    API handler (:mod:`relay.local.triggers`)."""

    def __init__(self, error_message: str, error_type: str = "Exception", function_name: str = "",
                 result: "InvokeResult | None" = None) -> None:
        super().__init__(f"{function_name}: {error_type}: {error_message}" if function_name else error_message)
        self.error_message = error_message
        self.error_type = error_type
        self.result = result


class HandlerImportError(ImportError):
    """The ``Handler`` setting does not name an importable ``module.function``."""


@dataclass
class LambdaContext:
    """The context object Lambda passes as the handler's second argument."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function timeout (0 once it has passed)."""
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


@dataclass
class InvokeResult:
    """What one invocation returned, or how it failed."""

    request_id: str
    payload: Any = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float = 0.0
    timed_out: bool = False
    stack_trace: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_type is None

    @property
    def error_payload(self) -> dict[str, Any]:
        """The ``{"errorMessage", "errorType"}`` body Lambda returns for a function error."""
        return {"errorMessage": self.error_message or "", "errorType": self.error_type or ""}


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``package.module.function`` (Lambda's ``Handler`` setting) from the repository root."""
    module_name, _, attr = handler.rpartition(".")
    if not module_name or not attr:
        raise HandlerImportError(f"Bad handler '{handler}': expected 'module.function'")
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerImportError(f"Unable to import module '{module_name}': {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise HandlerImportError(f"Handler '{attr}' missing on module '{module_name}'")
    return fn


def import_scoped_environment(spec: FunctionSpec) -> dict[str, str]:
    """The per-function variables of ``spec`` (its own plus the runtime's ``AWS_LAMBDA_*``)."""
    scoped = {k: v for k, v in spec.environment if k in PER_FUNCTION_VARIABLES}
    scoped.setdefault("AWS_LAMBDA_FUNCTION_NAME", spec.name)
    scoped.setdefault("AWS_LAMBDA_FUNCTION_VERSION", spec.version)
    scoped.setdefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(spec.memory_mb))
    scoped.setdefault("AWS_LAMBDA_LOG_GROUP_NAME", spec.log_group_name)
    return scoped


class EnvironmentBinder:
    """Applies function environments to ``os.environ`` once, refusing conflicts; restores on release."""

    def __init__(self, base: Mapping[str, str]) -> None:
        self._base = dict(base)
        self._bound: dict[str, tuple[str, str]] = {}  # name → (value, owner)
        self._saved: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def bind(self, functions: Iterable[FunctionSpec]) -> None:
        """Check every function's variables against each other and what is bound, then apply them."""
        with self._lock:
            wanted = dict(self._bound)
            for name, value in self._base.items():
                wanted.setdefault(name, (value, "the data plane"))
            for spec in functions:
                for name, value in spec.environment:
                    if name in PER_FUNCTION_VARIABLES:
                        continue  # set at import time only (see PER_FUNCTION_VARIABLES)
                    have = wanted.get(name)
                    if have is not None and have[0] != value:
                        raise EnvironmentConflictError(
                            f"environment variable {name} of function {spec.name} is {value!r} but "
                            f"{have[1]} sets {have[0]!r}: functions of one stage run in one process and "
                            "must share the values of the variables they share")
                    wanted.setdefault(name, (value, f"function {spec.name}"))
            for name, (value, _owner) in wanted.items():
                if name not in self._saved:
                    self._saved[name] = os.environ.get(name)
                os.environ[name] = value
            self._bound = wanted

    def release(self) -> None:
        """Put ``os.environ`` back as it was before the first :meth:`bind`."""
        with self._lock:
            for name, old in self._saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
            self._saved.clear()
            self._bound.clear()


class _Slots:
    """Reserved concurrency of one function (``None`` = unreserved) and its in-flight count."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0
        self.cond = threading.Condition()

    def acquire(self) -> int:
        with self.cond:
            while self.limit is not None and self.in_flight >= max(self.limit, 1):
                # Lambda would throttle; SQS pollers and async invoke retry a throttle, so waiting is
                # the local equivalent that loses nothing
                self.cond.wait(0.5)
            self.in_flight += 1
            return self.in_flight

    def release(self) -> None:
        with self.cond:
            self.in_flight -= 1
            self.cond.notify_all()


class Invoker:
    """Runs handlers in-process (synchronous invoke, the building block of every trigger)."""

    def __init__(self, recorder: MetricsRecorder | None = None,
                 loader: Callable[[str], Callable[[Any, Any], Any]] = load_handler,
                 faults: Faults | None = None) -> None:
        self._recorder = recorder
        self._loader = loader
        # chaos runs only (RELAY_CHAOS, see faults.py): None in normal operation, so nothing is wrapped
        self.faults = faults if faults is not None else faults_from_environment()
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._slots: dict[str, _Slots] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._sandboxes: set[Sandbox] = set()  # of every handler thread still alive (timed-out ones too)
        self._closed = ""  # why new invocations are refused (the stage is stopping), or "" when open
        install_sandbox_hooks()
        install_recursion_hooks()

    @property
    def recorder(self) -> MetricsRecorder | None:
        """Where invocation metrics go (triggers record what they decide without invoking, too)."""
        return self._recorder

    # ---- configuration ------------------------------------------------------------------------
    def configure(self, functions: Iterable[FunctionSpec]) -> None:
        """Adopt the reserved concurrency of each function (a change applies to new invocations)."""
        with self._lock:
            for spec in functions:
                slots = self._slots.get(spec.arn)
                if slots is None:
                    self._slots[spec.arn] = _Slots(spec.reserved_concurrency)
                else:
                    with slots.cond:
                        slots.limit = spec.reserved_concurrency
                        slots.cond.notify_all()

    def in_flight(self, spec: FunctionSpec | None = None) -> int:
        """Invocations running now (of one function, or of all)."""
        if spec is None:
            return self._in_flight
        slots = self._slots.get(spec.arn)
        return slots.in_flight if slots else 0

    # ---- invoke -------------------------------------------------------------------------------
    def invoke(self, spec: FunctionSpec, event: Any, *, chain: int = 0) -> InvokeResult:
        """Invoke ``spec``'s handler with ``event``; never raises for a function error or timeout.

        ``chain``: the invocations before this one in its chain of requests (the SQS poller passes the
        count its messages carry; see :mod:`.recursion`).
        """
        with self._lock:
            if self._closed:
                # the stage is stopping: nothing runs; the trigger keeps the event (SQS redelivers it,
                # the async queue and the stream carry it over)
                return InvokeResult(request_id=str(uuid.uuid4()), error_type="Local.Stopping",
                                    error_message=f"not invoked: {self._closed}")
            slots = self._slots.setdefault(spec.arn, _Slots(spec.reserved_concurrency))
        concurrent = slots.acquire()
        with self._lock:
            self._in_flight += 1
        request_id = str(uuid.uuid4())
        try:
            if self._recorder:
                self._recorder.record(spec.name, "Invocations", 1)
                self._recorder.record(spec.name, "ConcurrentExecutions", concurrent)
            result = self._run_with_timeout(spec, event, request_id, chain)
            if self._recorder:
                self._recorder.record(spec.name, "Duration", result.duration_ms)
                # Lambda publishes Errors for every invocation (0 when it succeeded), so an alarm on it
                # and a console chart see a flat line, not missing data, while all is well
                self._recorder.record(spec.name, "Errors", 0 if result.ok else 1)
            return result
        finally:
            slots.release()
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def kill_all(self, reason: str, timeout: float = 2.0) -> int:
        """Refuse new invocations and kill every running one; wait (bounded) for their calls in flight.

        Returns how many sandboxes were killed. Afterwards no handler of this invoker changes anything
        in the emulator, so what is there is a consistent cut to snapshot and carry over.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = reason
            sandboxes = list(self._sandboxes)
        for sb in sandboxes:
            sb.kill(reason)
        for sb in sandboxes:
            sb.wait_calls_done(max(0.0, deadline - time.monotonic()))
        return len(sandboxes)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no invocation runs (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        fn = self._handlers.get(spec.handler)
        if fn is None:
            with _import_lock:
                fn = self._handlers.get(spec.handler)
                if fn is None:
                    scoped = import_scoped_environment(spec)
                    saved = {k: os.environ.get(k) for k in scoped}
                    os.environ.update(scoped)
                    try:
                        fn = self._handlers[spec.handler] = self._loader(spec.handler)
                    finally:
                        for k, old in saved.items():
                            if old is None:
                                os.environ.pop(k, None)
                            else:
                                os.environ[k] = old
        return fn

    def _run_with_timeout(self, spec: FunctionSpec, event: Any, request_id: str, chain: int = 0) -> InvokeResult:
        result = InvokeResult(request_id=request_id)
        start = time.monotonic()
        # set again when the handler starts: the Init phase (its import) is not part of the timeout
        deadline = start + INIT_LIMIT_S + spec.timeout_s
        context = LambdaContext(
            function_name=spec.name, function_version=spec.version, invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb, aws_request_id=request_id,
            log_group_name=spec.log_group_name,
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[{spec.version}]{uuid.uuid4().hex}",
            deadline_monotonic=deadline,
        )
        box: dict[str, Any] = {}
        sandbox = Sandbox(f"{spec.name} {request_id}", chain=chain)
        with self._lock:
            self._sandboxes.add(sandbox)
            if self._closed:  # closed while this invocation waited for a concurrency slot
                sandbox.kill(self._closed)

        initialised = threading.Event()

        def call() -> Any:
            fn = self._handler(spec)
            if self.faults is not None:
                fn = self.faults.wrap(spec.name, fn)
            context.deadline_monotonic = min(context.deadline_monotonic, time.monotonic() + spec.timeout_s)
            initialised.set()
            return fn(event, context)

        def run() -> None:
            try:
                box["payload"] = run_in(sandbox, call)
            except BaseException as exc:  # noqa: BLE001 - every handler failure is a function error
                box["error"] = exc
                box["trace"] = traceback.format_exception(exc)
            finally:
                initialised.set()  # an Init that raised ends the wait for it too
                with self._lock:
                    self._sandboxes.discard(sandbox)

        worker = threading.Thread(target=run, name=f"invoke-{spec.name}", daemon=True)
        worker.start()
        # an Init past its limit: Lambda retries it within the invocation, under the function timeout
        if not initialised.wait(INIT_LIMIT_S):
            context.deadline_monotonic = time.monotonic() + spec.timeout_s
        deadline = context.deadline_monotonic
        worker.join(max(0.0, deadline - time.monotonic()))
        # Lambda's Duration is the handler's time; Init Duration is reported apart
        result.duration_ms = max(0.0, time.monotonic() - (deadline - spec.timeout_s)) * 1000
        if worker.is_alive():
            # the thread keeps running (it cannot be killed), but Lambda has killed its sandbox: its next
            # AWS call raises, so a timed-out invocation changes nothing after its timeout
            sandbox.kill("timed out")
            result.timed_out = True
            result.error_type = "Sandbox.Timedout"
            result.error_message = (f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} "
                                    f"Task timed out after {spec.timeout_s:.2f} seconds")
            return result
        if "error" in box:
            exc = box["error"]
            # Lambda's name for a handler that cannot be loaded
            result.error_type = ("Runtime.ImportModuleError" if isinstance(exc, HandlerImportError)
                                 else "Local.Stopping" if isinstance(exc, SandboxKilled) else type(exc).__name__)
            result.error_message = str(exc)
            result.stack_trace = box.get("trace", [])
            return result
        result.payload = box.get("payload")
        return result
