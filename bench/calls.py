"""Measure AWS calls per notification on the local stage; write relay/capacity/measured_calls.json.

    .venv/bin/python bench/calls.py [--sends 100] [--automations 20] [--out relay/capacity/measured_calls.json]

``relay capacity`` reads the written file by default. The run takes a minute or two: it deploys the
local stage in-process, sends the traffic through the HTTP API, waits for every delivery, then
calibrates the log indexer's batch duration d(B) = a + c x B.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from relay.capacity.calls import DEFAULT_CALLS_PATH, parse_calls
    from relay.capacity.measure import measure_local_stage

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sends", type=int, default=100)
    p.add_argument("--automations", type=int, default=20)
    p.add_argument("--out", default=str(DEFAULT_CALLS_PATH))
    args = p.parse_args(argv)
    command = f".venv/bin/python bench/calls.py --sends {args.sends} --automations {args.automations}"
    doc = measure_local_stage(sends=args.sends, automations=args.automations, command=command,
                              log=lambda m: print(m, file=sys.stderr, flush=True))
    parse_calls(doc, source="measurement")  # refuse to write a file relay capacity cannot read
    out = Path(args.out)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    for kind, flow in doc["flows"].items():
        fns = ", ".join(f"{k} {v['invocations']:.2f}x/{v['duration_ms']:.0f}ms" for k, v in flow["functions"].items())
        print(f"{kind}: {flow['notifications']} measured; per notification S3 PUT {flow['s3_put_tier']:.2f} "
              f"GET {flow['s3_get_tier']:.2f}, SQS {flow['sqs_requests']:.2f} (+{flow['job_messages']:.2f} jobs), "
              f"DynamoDB {flow['dynamodb_wru']:.2f} WRU {flow['dynamodb_rru']:.2f} RRU, stream records "
              f"{flow['stream_records']:.2f}; Lambda {fns}")
    d = doc["log_indexer_duration"]
    print(f"log indexer d(B) = {d['fixed_s'] * 1000:.1f} ms + {d['per_record_s'] * 1000:.2f} ms x B")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
