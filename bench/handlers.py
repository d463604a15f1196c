"""Cold import time of each handler ÷ a bare ``import boto3``, and the core's CPU time per record.

Run: ``.venv/bin/python bench/handlers.py [--runs 7] [--records 2000]``

Each import is timed in a fresh interpreter (what a Lambda cold start pays for the module), runs are
interleaved so the machine's load hits both sides alike, and the median is reported. One discarded
warm-up run per module first, so every side reads the same cached bytecode.

The second ratio, handler + boto3, is the whole init a handler pays once it first talks to AWS
(boto3 is imported lazily by our handlers, on first use).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HANDLERS = ["api", "send_worker", "request_worker", "job_worker", "log_indexer"]
TARGET = 1.5
_TIMER = "import time,sys; t=time.perf_counter(); {imports}; sys.stdout.write(repr(time.perf_counter()-t))"


def time_import(imports: str) -> float:
    """Seconds to run ``imports`` in a fresh interpreter (excluding interpreter start-up)."""
    out = subprocess.run([sys.executable, "-c", _TIMER.format(imports=imports)], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                                     "AWS_DEFAULT_REGION": "us-east-1"})
    return float(out.stdout)


def import_table(runs: int) -> list[tuple[str, str]]:
    present = [h for h in HANDLERS if (ROOT / "functions" / h / "handler.py").exists()]
    missing = [h for h in HANDLERS if h not in present]
    cases = {"boto3": "import boto3"}
    for h in present:
        cases[h] = f"import functions.{h}.handler"
        cases[h + "+boto3"] = f"import functions.{h}.handler; import boto3"
    for stmt in cases.values():
        time_import(stmt)  # warm-up: compile and cache bytecode
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):
        for name, stmt in cases.items():
            samples[name].append(time_import(stmt))
    med = {k: statistics.median(v) for k, v in samples.items()}
    base = med["boto3"]
    rows = [("boto3 (baseline)", f"{base * 1000:8.1f} ms")]
    print(f"\ncold import, median of {runs} fresh interpreters (target handler/boto3 <= {TARGET})")
    print(f"{'module':<26}{'import ms':>10}{'÷ boto3':>10}{'+boto3 ms':>11}{'÷ boto3':>9}  verdict")
    print(f"{'boto3':<26}{base * 1000:>10.1f}{1.0:>10.2f}")
    for h in present:
        r = med[h] / base
        r2 = med[h + "+boto3"] / base
        verdict = "ok" if r <= TARGET else "OVER TARGET"
        print(f"{'functions.' + h:<26}{med[h] * 1000:>10.1f}{r:>10.2f}{med[h + '+boto3'] * 1000:>11.1f}{r2:>9.2f}  {verdict}")
        rows.append((h, f"{r:.2f}"))
    for h in missing:
        print(f"{'functions.' + h:<26}  skipped: functions/{h}/handler.py does not exist yet")
    return rows


def cpu_send_worker(records: int) -> float:
    """CPU seconds per message: expand + sandboxed render + claim/event bookkeeping (in-memory ports)."""
    from functions.send_worker.core import process_request
    from tests.functions.send_worker.fakes import RecordingProvider, make_ports

    ports = make_ports(RecordingProvider())
    content = {"title": "Hello {{ name }}", "body": "Hi {{ name }}, your order {{ order.id }} ships {{ when }}."}
    docs = [{"requestId": f"req_{i:08d}", "message": {
        "to": {"email": f"user{i}@example.com", "phone_number": "+15550000"}, "content": content,
        "data": {"name": f"user {i}", "order": {"id": i}, "when": "today"}, "channels": ["email", "sms"]}}
        for i in range(records)]
    process_request(docs[0], make_ports(RecordingProvider()))  # warm the template cache like a warm Lambda
    t = time.process_time()
    n = 0
    for d in docs:
        n += len(process_request(d, ports))
    return (time.process_time() - t) / n


def cpu_api(records: int) -> float:
    """CPU seconds per accepted POST /send: parse + pydantic validation + idempotency + store (in-memory)."""
    import json

    from functions.api.handler import lambda_handler
    from functions.api import handler as api_handler
    from functions.api.ports import IdempotencyStore, RequestStore, StatusReader
    from functions.api.service import ApiPorts
    from tests.functions.shared.relay_aws import http_event

    class Store(RequestStore):
        def __init__(self): self.n = 0
        def put_send(self, request_id, message): self.n += 1
        def put_invoke(self, run_id, invoke): self.n += 1
        def has_send(self, request_id): return False
        def has_invoke(self, run_id): return False

    class Idem(IdempotencyStore):
        def __init__(self): self.items = {}
        def begin(self, key, body_hash, resource_id, *, now_s, ttl_s):
            return self.items.setdefault(key, None)
        def complete(self, key, response): pass

    class Reads(StatusReader):
        def request_messages(self, request_id): return []
        def run(self, run_id): return None, []
        def messages(self, **kw): return [], None

    from functions.shared.ids import new_request_id, new_run_id
    store = Store()
    api_handler._ports = ApiPorts(store=store, idempotency=Idem(), reads=Reads(), now_s=lambda: 0,
                                  new_request_id=new_request_id, new_run_id=new_run_id)
    body = {"message": {"to": [{"email": "a@example.com"}, {"user_id": "u-2"}], "template": "welcome",
                        "data": {"name": "Ann", "items": list(range(10))},
                        "routing": {"method": "single", "channels": ["email", "push"]}}}
    events = [http_event("POST", "/send", body, headers={"Idempotency-Key": f"k{i}"}) for i in range(records)]
    lambda_handler(events[0], None)
    t = time.process_time()
    for e in events:
        assert lambda_handler(e, None)["statusCode"] == 202
    spent = time.process_time() - t
    api_handler._ports = None
    json.dumps(store.n)
    return spent / records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--records", type=int, default=2000)
    args = ap.parse_args()
    import_table(args.runs)
    print(f"\ncore CPU time per record ({args.records} records, time.process_time)")
    print(f"{'core':<52}{'µs/record':>10}")
    print(f"{'api: POST /send parse+validate+idempotency+store':<52}{cpu_api(args.records) * 1e6:>10.1f}")
    print(f"{'send_worker: expand+render+claim+events /message':<52}{cpu_send_worker(args.records) * 1e6:>10.1f}")
    for h in ("request_worker", "job_worker", "log_indexer"):
        print(f"{h + ': core owned by another part, not measured here'}")


if __name__ == "__main__":
    main()
