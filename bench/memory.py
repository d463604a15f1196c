"""Peak memory of each handler on representative work, each in a fresh interpreter: what Lambda must hold.

Run: ``.venv/bin/python bench/memory.py [--invocations 30]``

moto serves AWS from this process on a loopback port; every handler runs in a child interpreter of its own
(python + boto3 + the handler's modules + its clients, as in a Lambda container) and is invoked
``--invocations`` times on real work: the api accepts sends, the send worker delivers them (outbox), the
request worker creates automation runs, the job worker runs their first steps, the log indexer indexes
batches of 100 stream records, ses-feedback records SES deliveries. The child reports its peak resident
set (``VmHWM``). Baseline: a bare interpreter that imports boto3 and makes one client. The smallest
Lambda size (128, 256, 512 MB ...) that holds the peak plus the runtime's ~15 MB with a third to spare is
printed as the measured default (``infra/function_sizing.py`` keeps them).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGE = "bench"
RUNTIME_MB = 15  # the Lambda runtime's own process next to the handler's (bootstrap, runtime API client)
SIZES = (128, 256, 512, 1024, 1769, 3008)
SEND = {"to": {"email": "ada@example.com"}, "content": {"title": "Hi {{ name }}", "body": "Order {{ order }}."},
        "data": {"name": "Ada", "order": "#1"}, "routing": {"method": "single", "channels": ["email"]}}
INVOKE = {"automation": {"steps": [{"action": "delay", "duration": "1 second"},
                                   {"action": "send", "message": {"content": {"title": "Hi", "body": "x"},
                                                                  "routing": {"method": "single", "channels": ["email"]}}}]},
          "data": {}, "profile": {"email": "ada@example.com"}, "recipient": "u-1"}


# ---- in the child -----------------------------------------------------------------------------------------
def _child(function: str, n: int) -> None:
    from tests.functions.shared.relay_aws import http_event, s3_put_event

    env = os.environ
    if function == "baseline":
        import boto3

        boto3.session.Session().client("dynamodb")
    elif function == "api":
        from functions.api.handler import lambda_handler

        for i in range(n):
            resp = lambda_handler(http_event("POST", "/send", {"message": {**SEND, "to": {"email": f"u{i}@x.io"}}}), None)
            assert resp["statusCode"] == 202, resp
    elif function in ("send-worker", "request-worker"):
        import boto3

        prefix = "send/" if function == "send-worker" else "automations/"
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=env["REQUEST_BUCKET"], Prefix=prefix,
                                                                    MaxKeys=n).get("Contents", [])]
        module = __import__(f"functions.{function.replace('-', '_')}.handler", fromlist=["lambda_handler"])
        for key in keys:
            module.lambda_handler(s3_put_event(env["REQUEST_BUCKET"], key), None)
        assert keys, f"no {prefix} objects to process"
    elif function == "job-worker":
        import boto3

        from functions.job_worker.handler import lambda_handler
        from relay.local.dataplane.records import sqs_event_record

        sqs = boto3.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=env["JOB_QUEUE_URL"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for _ in range(n):
            msgs = sqs.receive_message(QueueUrl=env["JOB_QUEUE_URL"], MaxNumberOfMessages=10, AttributeNames=["All"],
                                       MessageAttributeNames=["All"]).get("Messages", [])
            if not msgs:
                break
            lambda_handler({"Records": [sqs_event_record(m, arn, "us-east-1") for m in msgs]}, _Context())
    elif function == "log-indexer":
        from bench.indexer import make_records
        from functions.log_indexer.handler import lambda_handler
        from functions.shared.dynamo_values import plain_to_item

        for i in range(n):
            records = make_records(34, 3, 1_800_000_000_000 + i * 1_000)
            lambda_handler({"Records": [{"eventID": s, "eventName": "INSERT", "eventSource": "aws:dynamodb",
                                         "dynamodb": {"SequenceNumber": s, "NewImage": plain_to_item(img), "Keys": {}}}
                                        for s, img in records]}, None)
    elif function == "ses-feedback":
        from functions.ses_feedback.handler import lambda_handler

        for i in range(n):
            lambda_handler(_ses_delivery(f"msg_bench{i:04d}"), None)
    print(json.dumps({"function": function, "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    """This process's peak resident set: VmHWM (``ru_maxrss`` would carry the parent's over fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Context:
    function_name = "relay-bench-job-worker"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _ses_delivery(message_id: str) -> dict:
    doc = {"eventType": "Delivery", "mail": {"messageId": f"ses-{message_id}", "timestamp": "2026-12-02T00:00:00.000Z",
                                             "destination": ["ada@example.com"],
                                             "tags": {"relay_message_id": [message_id], "relay_delivery_id": ["dlv_1"],
                                                      "relay_stage": [STAGE]}},
           "delivery": {"timestamp": "2026-12-02T00:00:01.000Z", "recipients": ["ada@example.com"]}}
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:x",
                         "Sns": {"Type": "Notification", "MessageId": f"sns-{message_id}", "TopicArn": "arn:aws:sns:x",
                                 "Subject": None, "Message": json.dumps(doc), "Timestamp": "2026-12-02T00:00:01.000Z",
                                 "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "x", "UnsubscribeUrl": "x",
                                 "MessageAttributes": {}}}]}


# ---- in the parent ----------------------------------------------------------------------------------------
def _stage(endpoint: str, n: int) -> dict[str, str]:
    import boto3

    from functions.shared.request_store import put_automation_request, put_send_request
    from tests.functions.automations.moto_stage import _table

    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "STAGE": STAGE, "REQUEST_BUCKET": f"relay-{STAGE}-requests",
           "MESSAGE_TABLE": f"relay-{STAGE}-messages", "LOG_TABLE": f"relay-{STAGE}-message-log",
           "STATE_TABLE": f"relay-{STAGE}-state", "API_AUTH": "iam", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    os.environ.update(env)
    ddb = boto3.client("dynamodb")
    boto3.client("s3").create_bucket(Bucket=env["REQUEST_BUCKET"])
    _table(ddb, env["STATE_TABLE"])
    _table(ddb, env["MESSAGE_TABLE"], stream=True)
    _table(ddb, env["LOG_TABLE"], gsis=("recipient", "status", "runId", "requestId"))
    env["JOB_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName=f"relay-{STAGE}-jobs")["QueueUrl"]
    os.environ["JOB_QUEUE_URL"] = env["JOB_QUEUE_URL"]
    for i in range(n):
        put_send_request(env["REQUEST_BUCKET"], f"req_bench{i:04d}", {**SEND, "to": {"email": f"s{i}@x.io"}})
        put_automation_request(env["REQUEST_BUCKET"], f"run_bench{i:04d}", INVOKE)
        ts = 1_800_000_000_000 + i
        ddb.put_item(TableName=env["MESSAGE_TABLE"], Item={
            "pk": {"S": f"MSG#msg_bench{i:04d}"}, "sk": {"S": f"EVT#{ts:013d}#00#ENQUEUED"},
            "messageId": {"S": f"msg_bench{i:04d}"}, "requestId": {"S": "req_x"}, "recipient": {"S": "ada@example.com"},
            "channel": {"S": "email"}, "status": {"S": "ENQUEUED"}, "ts": {"N": str(ts)}})
    return env


def smallest_size(peak_mb: float) -> int:
    """The smallest listed Lambda size that holds ``peak_mb`` plus the runtime with a third to spare."""
    need = (peak_mb + RUNTIME_MB) * 4 / 3
    return next((s for s in SIZES if s >= need), SIZES[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invocations", type=int, default=30)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.invocations)
        return 0

    import logging

    from moto.server import ThreadedMotoServer

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**os.environ, **_stage(f"http://{host}:{port}", args.invocations)}
        rows = []
        # request-worker before job-worker: it enqueues the jobs the job worker then runs
        for function in ("baseline", "api", "send-worker", "request-worker", "job-worker", "log-indexer", "ses-feedback"):
            out = subprocess.run([sys.executable, __file__, "--child", function, "--invocations", str(args.invocations)],
                                 env={**env, "POWERTOOLS_SERVICE_NAME": function.replace("-", "_")},
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                raise RuntimeError(f"{function}: {out.stderr[-2000:]}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        server.stop()
    base = rows[0]["peak_mb"]
    print(f"\npeak resident memory, {args.invocations} invocations each, a fresh interpreter per handler "
          f"(+{RUNTIME_MB} MB for the Lambda runtime, a third spare)")
    print(f"{'handler':<16}{'peak MB':>9}{'÷ boto3 baseline':>18}{'default MB':>12}")
    for r in rows:
        size = "" if r["function"] == "baseline" else f"{smallest_size(r['peak_mb']):>12}"
        print(f"{r['function']:<16}{r['peak_mb']:>9.1f}{r['peak_mb'] / base:>18.2f}{size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
