"""``relay capacity``: read the stage file and the calls file, print the report (text or JSON)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

__all__ = ["run_capacity", "render_text"]


def run_capacity(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Entry point of the subcommand; returns the exit status (2 for bad input, with the reason on stderr)."""
    from infra.config import ConfigError, load_stage_config
    from relay.capacity.calls import CallsFileError, load_calls
    from relay.capacity.report import InputError, build_report, parse_duration, parse_rate

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        rate = parse_rate(args.rate)
        target = parse_duration(args.iterator_age_target)
        cfg = load_stage_config(args.stage)
        calls = load_calls(args.calls)
    except (InputError, ConfigError, CallsFileError) as exc:
        print(f"relay capacity: {exc}", file=err)
        return 2
    report = build_report(cfg, calls, rate, target)
    if getattr(args, "json", False):
        json.dump(report, out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        out.write(render_text(report))
    return 0


def _usd(x: float) -> str:
    return f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


def render_text(r: dict[str, Any]) -> str:
    """The human-readable report."""
    inp = r["inputs"]
    sc, calls = inp["stage_config"], inp["calls"]
    lines = [
        f"relay capacity — stage {r['stage']}, {r['rate_per_s']:g} notifications/s, "
        f"IteratorAge target {r['iterator_age_target_s']:g} s",
        "",
        "inputs:",
        f"  Pulumi.{r['stage']}.yaml: memory {sc['memory_size']} MB, job batch {sc['job_batch_size']} "
        f"(window {sc['job_batching_window']} s), stream batch {sc['stream_batch_size']}, "
        f"parallelization factor {sc['parallelization_factor']}, region {sc['region']}",
        f"  calls: {calls['source']} (measured {calls['measured_at'] or '?'} on stage {calls['stage'] or '?'}; "
        + ", ".join(f"{n} {k}" for k, n in calls["notifications"].items()) + ")",
        f"  prices: AWS list prices {inp['prices']['region']}, checked {inp['prices']['checked']}; "
        "provider fees, storage and data transfer excluded",
    ]
    for kind, c in r["cost_per_million"].items():
        lines += ["", f"cost per 1M {kind}s: {_usd(c['total_usd'])}" + (f"  ({c['description']})" if c["description"] else "")]
        for ln in c["lines"]:
            lines.append(f"  {ln['service']:<17} {_usd(ln['usd']):>10}  {ln['quantity']:>14,.0f} {ln['unit']:<13} {ln['detail']}")
    s = r.get("stream")
    if s:
        d = s["batch_duration_model"]
        lines += ["", f"message-log stream: {s['records_per_s']:g} records/s ({s['records_per_send']:g} per send) over "
                  f"{s['shards']} shard(s), batch size {s['batch_size']}, "
                  f"d(B) = {d['fixed_s'] * 1000:.2f} ms + {d['per_record_s'] * 1000:.3f} ms x B"]
        for p in s["by_factor"]:
            if p["stable"]:
                age = f"{p['iterator_age_s']:.3f} s"
                extra = f"batch {p['batch_records']:.0f} records, views {p['record_latency_s']:.2f} s behind"
            else:
                age = f"grows {p['age_growth_per_s']:.2f} s/s"
                extra = "backlog grows without bound"
            mark = " <- needed" if p["factor"] == s["needed_factor"] else ""
            mark += " (configured)" if p["factor"] == s["configured_factor"] else ""
            lines.append(f"  factor {p['factor']:>2}: IteratorAge {age:<16} lanes {p['utilisation']:>5.0%} busy, "
                         f"{extra}{mark}")
        needed = s["needed_factor"]
        lines.append(f"  needed factor: {needed if needed is not None else 'none up to 10'} "
                     f"(configured {s['configured_factor']}; lanes at most {s['max_utilisation']:.0%} busy)")
        if s.get("configured_factor_sends_per_s") is not None:
            lines.append(f"  the configured factor {s['configured_factor']} keeps up with about "
                         f"{s['configured_factor_sends_per_s']:,.0f} sends/s at this d(B)")
        lines.append(f"  caveat: {s['caveat']}")
    for note in r["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
