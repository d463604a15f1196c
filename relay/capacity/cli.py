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
    from relay.capacity.report import InputError, build_report, chosen_durations, parse_duration, parse_rate

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        rate = parse_rate(args.rate)
        target = parse_duration(args.iterator_age_target)
        cfg = load_stage_config(args.stage)
        calls = load_calls(args.calls)
        durations = chosen_durations(calls, getattr(args, "durations", None))
    except (InputError, ConfigError, CallsFileError) as exc:
        print(f"relay capacity: {exc}", file=err)
        return 2
    report = build_report(cfg, calls, rate, target, durations=durations)
    if getattr(args, "json", False):
        json.dump(report, out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        out.write(render_text(report))
    return 0


def _usd(x: float) -> str:
    return f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


_DURATION_WORDS = {
    "aws": "AWS-realistic: each function's measured calls x published AWS latencies, CPU scaled to its memory "
           "(relay/capacity/aws_durations.py, docs/capacity.md)",
    "measured": "measured: the calls file's own Lambda durations and d(B)",
}


def render_text(r: dict[str, Any]) -> str:
    """The human-readable report."""
    inp = r["inputs"]
    sc, calls = inp["stage_config"], inp["calls"]
    used = r["durations"]
    other = "measured" if used == "aws" else "aws"
    memory = ", ".join(f"{k} {v}" for k, v in sc["memory"].items())
    lines = [
        f"relay capacity — stage {r['stage']}, {r['rate_per_s']:g} notifications/s, "
        f"IteratorAge target {r['iterator_age_target_s']:g} s",
        "",
        "inputs:",
        f"  Pulumi.{r['stage']}.yaml: memory (MB) {memory} on {sc['architecture']}, job batch {sc['job_batch_size']} "
        f"(window {sc['job_batching_window']} s), stream batch {sc['stream_batch_size']}, "
        f"parallelization factor {sc['parallelization_factor']}, region {sc['region']}",
        f"  calls: {calls['source']} (measured {calls['measured_at'] or '?'} on stage {calls['stage'] or '?'}; "
        + ", ".join(f"{n} {k}" for k, n in calls["notifications"].items()) + ")",
        f"  prices: AWS list prices {inp['prices']['region']}, checked {inp['prices']['checked']}; "
        "provider fees, the provider's own calls, storage and data transfer excluded",
        f"  durations used: {_DURATION_WORDS[used]}",
    ]
    for kind, c in r["cost_per_million"].items():
        totals = c["total_usd_by_durations"]
        alt = f"; with {other} durations {_usd(totals[other])}" if other in totals else ""
        lines += ["", f"cost per 1M {kind}s: {_usd(c['total_usd'])} ({used} durations{alt})"
                  + (f"  ({c['description']})" if c["description"] else "")]
        for ln in c["lines"]:
            lines.append(f"  {ln['service']:<17} {_usd(ln['usd']):>10}  {ln['quantity']:>14,.0f} {ln['unit']:<13} {ln['detail']}")
        by_table = ", ".join(f"{t} {w:.3g}" for t, w in sorted(c["dynamodb_wru_by_table"].items()))
        lines.append(f"  DynamoDB write units per {kind}: {c['dynamodb_wru']:.3g}" + (f" ({by_table})" if by_table else ""))
        if c["provider_calls_excluded"]:
            lines.append("  the provider's own calls, not priced: "
                         + ", ".join(f"{k} {v:.3g}" for k, v in sorted(c["provider_calls_excluded"].items())))
    s = r.get("stream")
    if s:
        d = s["batch_duration_model"]
        lines += ["", f"message-log stream: {s['records_per_s']:g} records/s ({s['records_per_send']:g} per send) over "
                  f"{s['shards']} shard(s), batch size {s['batch_size']}, "
                  f"d(B) = {d['fixed_s'] * 1000:.2f} ms + {d['per_record_s'] * 1000:.3f} ms x B ({used})"]
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
        o = r.get("stream_other")
        if o:
            od = o["batch_duration_model"]
            needed_o = o["needed_factor"] if o["needed_factor"] is not None else "none up to 10"
            keeps = o.get("configured_factor_sends_per_s")
            lines.append(f"  with the {other} d(B) = {od['fixed_s'] * 1000:.2f} ms + {od['per_record_s'] * 1000:.3f} ms x B: "
                         f"needed factor {needed_o}"
                         + (f", the configured factor keeps up with about {keeps:,.0f} sends/s" if keeps is not None else ""))
        lines.append(f"  caveat: {s['caveat']}")
    for note in r["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
