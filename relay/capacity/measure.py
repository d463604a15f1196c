"""Measure what one notification costs on the local stage, in this process.

:func:`measure_local_stage` brings the local stage up (:class:`relay.local.stage.LocalStage`), sends a known
number of sends and automation runs through the HTTP API, counts every AWS call (:mod:`.call_counter`),
reads the AWS/Lambda metrics and calibrates the log indexer (:mod:`.calibration`), and returns the
calls-file document ``relay capacity`` reads.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping, Sequence

from relay.capacity.calibration import calibrate_batch_duration, lambda_metrics, utc_now, wait_until
from relay.capacity.call_counter import FUNCTION_NAMES, CallCounter, Tally

__all__ = ["flow_document", "measure_local_stage", "post_json", "outbox_count", "SEND_REQUEST", "AUTOMATION_REQUEST"]

# ---- the whole local stage: calls per send and per automation run ---------------------------------------
SEND_REQUEST: dict[str, Any] = {"message": {
    "to": {"user_id": "user-{n}", "email": "user{n}@example.com"},
    "content": {"title": "Hello {{ name }}", "body": "Your sign-in code is {{ code }}."},
    "data": {"name": "User {n}", "code": "{n:06d}"},
    "routing": {"method": "single", "channels": ["email"]}}}
AUTOMATION_REQUEST: dict[str, Any] = {
    "automation": {"steps": [
        {"action": "delay", "duration": "1 second"},
        {"action": "send", "message": {"to": {"user_id": "user-{n}", "email": "user{n}@example.com"},
                                       "content": {"title": "Welcome {{ name }}", "body": "Glad you are here."},
                                       "routing": {"method": "single", "channels": ["email"]}}}]},
    "data": {"name": "User {n}"}, "profile": {"email": "user{n}@example.com"}, "recipient": "user-{n}"}
SEND_DESCRIPTION = ("one send: POST /send (single channel, email, templated), stored in S3, rendered and "
                    "delivered once by the send worker (outbox provider), its status events indexed by the log indexer")
AUTOMATION_DESCRIPTION = ("one automation run: POST /automations/invoke with a 1 s delay step and a send step, "
                          "the run and step records, the job messages, and the send it makes (as a send above)")


def _fill(template: Any, n: int) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, n) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, n) for v in template]
    if isinstance(template, str) and "{n" in template and "{{" not in template:
        return template.format(n=n)
    return template


def post_json(url: str, body: dict, api_key: str) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", "authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"POST {url} answered {exc.code}: {exc.read()[:500]!r}") from None


def outbox_count(s3: Any, bucket: str) -> int:
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="outbox/"):
        n += page.get("KeyCount", 0)
    return n


def flow_document(kind: str, description: str, notifications: int, handler: Tally, plane: Tally,
                  metrics: Mapping[str, Mapping[str, float]], provider: Tally | None = None) -> dict[str, Any]:
    """One flow of the calls file from a phase's tallies and its AWS/Lambda metrics (per notification).

    ``metrics`` maps the logical function name to :func:`lambda_metrics` of that function in the phase.
    ``provider`` holds the delivery provider's own calls (the outbox's S3 object): reported under
    ``provider``, not priced with relay's, but counted in the calls of the function that waited on them.
    """
    n = float(notifications)
    provider = provider or Tally()
    by_function: dict[str, dict[str, float]] = {}
    for tally in (handler, provider):
        for fn, calls in tally.function_calls().items():
            mine = by_function.setdefault(fn, {})
            for call, count in calls.items():
                mine[call] = mine.get(call, 0.0) + count / n
    # job messages the handlers enqueued (relay's only queue sends); the mapping's receives can be more
    # when a slow local run lets visibility lapse, and are kept as information
    jobs = handler.sqs_messages_sent
    return {
        "notifications": notifications,
        "description": description,
        "s3_put_tier": handler.s3_put_tier / n,
        "s3_get_tier": handler.s3_get_tier / n,
        "sqs_requests": handler.sqs_requests / n,
        "job_messages": jobs / n,
        "stream_records": plane.stream_records_read / n,
        "job_messages_received": plane.sqs_messages_received / n,
        "dynamodb_wru": handler.dynamodb_wru / n,
        "dynamodb_rru": handler.dynamodb_rru / n,
        "cloudwatch_put_metric_data": handler.cloudwatch_put_metric_data / n,
        "functions": {name: {"invocations": m["Invocations.Sum"] / n, "duration_ms": m["Duration.Sum"] / n,
                             **({"calls": dict(sorted(by_function[name].items()))} if name in by_function else {})}
                      for name, m in metrics.items() if m["Invocations.Sum"] > 0},
        "calls": {k: v / n for k, v in sorted(handler.calls.items())},
        "dynamodb_wru_by_table": {k: v / n for k, v in sorted(handler.wru_by_table.items())},
        "dataplane_calls": {k: v / n for k, v in sorted(plane.calls.items())},
        "provider": {"calls": {k: v / n for k, v in sorted(provider.calls.items())},
                     "s3_put_tier": provider.s3_put_tier / n, "s3_get_tier": provider.s3_get_tier / n,
                     "dynamodb_wru": provider.dynamodb_wru / n, "sqs_requests": provider.sqs_requests / n},
    }


def measure_local_stage(sends: int = 100, automations: int = 20, stage: str = "local",
                        calibrate_sizes: Sequence[int] = (10, 100), calibrate_records: int = 300,
                        command: str = "", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Bring the local stage up in this process, send known traffic, return the calls-file document.

    The pieces are started as ``relay up`` starts them (API server, emulator, the Pulumi program
    deployed into it, the data plane), without a state directory, so a developer's saved local state
    is neither read nor overwritten. Sends go first, then automation runs, each phase ending when
    every delivery is in the outbox and the handlers have been quiet for a while.
    """
    from relay.local.stage import LocalStage

    counter = CallCounter().install()
    # no modelled round trip: durations are measured as the emulator serves them (see the notes below)
    local = LocalStage(stage, aws_latency_ms=0.0, plane_options={"metrics_interval": 0.5}, say=log)
    try:
        local.start()
        emu, outputs, api = local.emulator, local.outputs, local.api
        s3, cw = emu.client("s3"), emu.client("cloudwatch")
        names = {logical: outputs[f"{logical}_function"] for logical in FUNCTION_NAMES}

        flows: dict[str, Any] = {}
        delivered = 0
        for kind, count, path, template, description in (
                ("send", sends, "/send", SEND_REQUEST, SEND_DESCRIPTION),
                ("automation", automations, "/automations/invoke", AUTOMATION_REQUEST, AUTOMATION_DESCRIPTION)):
            if count <= 0:
                continue
            before = counter.snapshot()
            start = utc_now()
            log(f"measure: {count} {kind}s through {api.url}{path}")
            for n in range(count):
                status = post_json(f"{api.url}{path}", _fill(template, n), local.api_key)
                if status != 202:
                    raise RuntimeError(f"POST {path} answered {status}, expected 202")
            delivered += count
            wait_until(lambda: outbox_count(s3, outputs["request_bucket"]) >= delivered, 120.0,
                  f"{delivered} deliveries in the outbox")
            wait_until(lambda: time.monotonic() - max(counter.last_call.get("handler", 0.0),
                                                      counter.last_call.get("provider", 0.0)) > 2.0, 60.0,
                       "quiet handlers")
            time.sleep(1.2)  # two metric flushes
            after = counter.snapshot()
            end = utc_now()
            handler = after.get("handler", Tally()).minus(before.get("handler", Tally()))
            planet = after.get("dataplane", Tally()).minus(before.get("dataplane", Tally()))
            provider = after.get("provider", Tally()).minus(before.get("provider", Tally()))
            metrics = {logical: lambda_metrics(cw, fn, start, end) for logical, fn in names.items()}
            flows[kind] = flow_document(kind, description, count, handler, planet, metrics, provider)

        log(f"measure: calibrating the log indexer's batch duration at batch sizes {list(calibrate_sizes)}")
        samples = calibrate_batch_duration(emu.client, outputs, calibrate_sizes, calibrate_records, settle_s=1.2)
        from relay.capacity.model import BatchDuration

        fit = BatchDuration.fit(samples)
        return {
            "version": 1,
            "measured_at": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": command,
            "stage": stage,
            "notes": ("Counts are per notification, measured on the local stage (moto in-process) by counting "
                      "every boto3 call the handlers make; the delivery provider's own calls are under 'provider', "
                      "not in the priced counts. Lambda invocations and durations from the AWS/Lambda metrics the "
                      "local data plane publishes: local (emulated AWS on this machine), so GB-seconds and d(B) "
                      "are pessimistic next to AWS; relay capacity estimates AWS's from each function's calls "
                      "(relay/capacity/aws_durations.py)."),
            "flows": flows,
            "log_indexer_duration": {"fixed_s": fit.fixed_s, "per_record_s": fit.per_record_s,
                                     "samples": [list(s) for s in samples]},
        }
    finally:
        counter.uninstall()
        local.stop()
