"""Count what one notification costs in AWS calls: every boto3 call in the process, filed by origin.

:class:`CallCounter` wraps ``botocore.client.BaseClient._make_api_call`` (every boto3 client in the
process goes through it, whatever session made it) and files each call under its *origin*, found by
walking the caller's stack: ``provider`` when a delivery provider (``functions.providers.``) makes it —
the provider's own cost (the outbox's S3 object, SES's call), reported apart and priced out of relay's —
``handler`` when another module under ``functions.`` is on it (relay's Lambda code, billed),
``dataplane`` when ``relay.local.dataplane`` is (what Lambda itself does in AWS: event source mapping
polls, async invokes, metrics), ``other`` for the test driver. Each call is priced in billing units by
:mod:`relay.capacity.units`, and handler and provider calls are also filed under the function that made
them, read from the invocation thread's name (``invoke-relay-<stage>-<function>``, worker threads
included), so durations in AWS can be estimated per function (:mod:`relay.capacity.aws_durations`).
"""
from __future__ import annotations

import collections
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from relay.capacity import units

__all__ = ["CallCounter", "Tally", "origin_of", "function_of_thread", "FUNCTION_NAMES", "PROVIDER_PREFIXES"]

FUNCTION_NAMES = ("api", "send_worker", "request_worker", "job_worker", "log_indexer")
PROVIDER_PREFIXES = ("functions.providers.",)
# the invoker names an invocation's thread invoke-<physical name>; its worker threads add _<n>
_INVOCATION_THREAD = re.compile(r"^invoke-relay-.+?-(api|send-worker|request-worker|job-worker|log-indexer|"
                                r"ses-feedback)(?:_\d+)?$")


def function_of_thread(name: str) -> str | None:
    """``invoke-relay-local-send-worker_3`` → ``send_worker``; None for a thread that is no invocation's."""
    m = _INVOCATION_THREAD.match(name)
    return m.group(1).replace("-", "_") if m else None


def origin_of(frame: Any, handler_prefixes: Sequence[str] = ("functions.",),
              plane_prefixes: Sequence[str] = ("relay.local.dataplane",),
              provider_prefixes: Sequence[str] = PROVIDER_PREFIXES) -> str:
    """``provider`` / ``handler`` / ``dataplane`` / ``other``: who, up the stack from ``frame``, made this call."""
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(tuple(provider_prefixes)):
            return "provider"
        if name.startswith(tuple(handler_prefixes)):
            return "handler"
        if name.startswith(tuple(plane_prefixes)):
            return "dataplane"
        frame = frame.f_back
    return "other"


@dataclass
class Tally:
    """Calls and billing units of one origin."""

    calls: collections.Counter = field(default_factory=collections.Counter)
    s3_put_tier: float = 0.0
    s3_get_tier: float = 0.0
    sqs_requests: float = 0.0
    sqs_messages_received: float = 0.0
    sqs_messages_sent: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    stream_records_read: float = 0.0
    cloudwatch_put_metric_data: float = 0.0
    wru_by_table: collections.Counter = field(default_factory=collections.Counter)
    # "<function>|<service>:<operation>" → calls (the function read from the invocation thread's name)
    calls_by_function: collections.Counter = field(default_factory=collections.Counter)

    _COUNTERS = ("calls", "wru_by_table", "calls_by_function")

    def copy(self) -> "Tally":
        t = Tally(**{k: v for k, v in self.__dict__.items() if k not in self._COUNTERS})
        for name in self._COUNTERS:
            setattr(t, name, collections.Counter(getattr(self, name)))
        return t

    def minus(self, earlier: "Tally") -> "Tally":
        t = Tally(**{k: v - getattr(earlier, k) for k, v in self.__dict__.items() if k not in self._COUNTERS})
        for name in self._COUNTERS:
            mine, theirs = getattr(self, name), getattr(earlier, name)
            setattr(t, name, collections.Counter({k: v - theirs.get(k, 0) for k, v in mine.items() if v - theirs.get(k, 0)}))
        return t

    def function_calls(self) -> dict[str, dict[str, float]]:
        """``{function: {"service:Operation": calls}}`` from :attr:`calls_by_function`."""
        out: dict[str, dict[str, float]] = {}
        for key, n in self.calls_by_function.items():
            function, _, call = key.partition("|")
            out.setdefault(function, {})[call] = float(n)
        return out


class CallCounter:
    """Counts every AWS API call made in this process while installed (a context manager).

    Parameters
    ----------
    handler_prefixes, plane_prefixes, provider_prefixes
        Module name prefixes that mark a call as a handler's, the data plane's or a delivery provider's.
    """

    def __init__(self, handler_prefixes: Sequence[str] = ("functions.",),
                 plane_prefixes: Sequence[str] = ("relay.local.dataplane",),
                 provider_prefixes: Sequence[str] = PROVIDER_PREFIXES) -> None:
        self.handler_prefixes = tuple(handler_prefixes)
        self.plane_prefixes = tuple(plane_prefixes)
        self.provider_prefixes = tuple(provider_prefixes)
        self._lock = threading.Lock()
        self._tallies: dict[str, Tally] = collections.defaultdict(Tally)
        self._gsis: dict[str, list[list[str]]] = {}
        self._internal = threading.local()
        self._original: Callable[..., Any] | None = None
        self.last_call: dict[str, float] = {}

    # ---- install ------------------------------------------------------------------------------
    def install(self) -> "CallCounter":
        import botocore.client

        if self._original is not None:
            return self
        original = botocore.client.BaseClient._make_api_call
        counter = self

        def counted(client: Any, operation_name: str, api_params: dict) -> Any:
            if getattr(counter._internal, "active", False):
                return original(client, operation_name, api_params)
            origin = origin_of(sys._getframe(1), counter.handler_prefixes, counter.plane_prefixes,
                               counter.provider_prefixes)
            response, error = None, None
            try:
                response = original(client, operation_name, api_params)
                return response
            except Exception as exc:
                error = exc
                raise
            finally:
                try:
                    counter._record(client, origin, operation_name, api_params, response, error)
                except Exception:  # noqa: BLE001 - measuring must never break the call it measures
                    pass

        self._original = original
        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        import botocore.client

        if self._original is not None:
            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None

    def __enter__(self) -> "CallCounter":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # ---- reading ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Tally]:
        """A copy of the tallies so far, per origin."""
        with self._lock:
            return {k: v.copy() for k, v in self._tallies.items()}

    def tally(self, origin: str) -> Tally:
        with self._lock:
            return self._tallies[origin].copy()

    # ---- pricing one call -----------------------------------------------------------------------
    def _gsi_keys(self, client: Any, table: str) -> list[list[str]]:
        if table not in self._gsis:
            self._internal.active = True
            try:
                desc = client.describe_table(TableName=table)["Table"]
                self._gsis[table] = [[k["AttributeName"] for k in g["KeySchema"]]
                                     for g in desc.get("GlobalSecondaryIndexes", [])]
            except Exception:  # noqa: BLE001
                self._gsis[table] = []
            finally:
                self._internal.active = False
        return self._gsis[table]

    def _record(self, client: Any, origin: str, op: str, params: Mapping[str, Any], response: Any,
                error: BaseException | None) -> None:
        service = client.meta.service_model.service_name
        gsis: dict[str, list[list[str]]] = {}
        if service == "dynamodb" and op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                                            "TransactWriteItems"):
            tables = [params.get("TableName")] if "TableName" in params else list(params.get("RequestItems", {}))
            tables += [p.get("TableName") for e in params.get("TransactItems", []) for p in e.values()]
            gsis = {t: self._gsi_keys(client, t) for t in tables if t}
        function = function_of_thread(threading.current_thread().name) if origin in ("handler", "provider") else None
        with self._lock:
            self.last_call[origin] = time.monotonic()
            t = self._tallies[origin]
            t.calls[f"{service}:{op}"] += 1
            if function:
                t.calls_by_function[f"{function}|{service}:{op}"] += 1
            if service == "s3":
                tier = units.s3_tier(op)
                if tier == "put":
                    t.s3_put_tier += 1
                elif tier == "get":
                    t.s3_get_tier += 1
            elif service == "sqs":
                t.sqs_requests += units.sqs_requests(op, params)
                if op == "ReceiveMessage" and response:
                    t.sqs_messages_received += len(response.get("Messages", []))
                elif op == "SendMessage":
                    t.sqs_messages_sent += 1
                elif op == "SendMessageBatch":
                    t.sqs_messages_sent += len(params.get("Entries", []))
            elif service == "dynamodb":
                # a failed conditional write is still billed its item's write units, but it writes no index
                refused = _error_code(error) == "ConditionalCheckFailedException"
                wru = units.write_units(op, params, {} if refused else gsis)
                t.dynamodb_wru += wru
                if wru:
                    t.wru_by_table[str(params.get("TableName") or ",".join(params.get("RequestItems", {})) or "?")] += wru
                t.dynamodb_rru += units.read_units(op, params, response if error is None else None) \
                    if op in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems") else 0.0
            elif service == "dynamodbstreams" and op == "GetRecords" and response:
                t.stream_records_read += len(response.get("Records", []))
            elif service == "cloudwatch" and op == "PutMetricData":
                t.cloudwatch_put_metric_data += 1


def _error_code(error: BaseException | None) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", "")) if error is not None else ""
