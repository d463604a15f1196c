"""A restart of the emulator with a state dir keeps DLQ contents, objects and items."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from relay.local.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh process (moto's state is per process): start from the snapshot, report what is there,
# redrive the DLQ without a destination, and stop.
RESTARTED = r"""
import json, sys, time
from relay.local.emulator import Emulator
names = json.loads(sys.argv[2])
with Emulator(port=0, state_dir=sys.argv[1]) as e:
    sqs, s3, ddb = e.client("sqs"), e.client("s3"), e.client("dynamodb")
    dlq = sqs.get_queue_url(QueueName=names["dlq"])["QueueUrl"]
    src = sqs.get_queue_url(QueueName=names["src"])["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    depth = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                ["Attributes"]["ApproximateNumberOfMessages"])
    body = s3.get_object(Bucket=names["bucket"], Key="send/r 1.json")["Body"].read().decode()
    item = ddb.get_item(TableName=names["table"], Key={"pk": {"S": "a"}})["Item"]
    item["blob"]["B"] = item["blob"]["B"].hex()
    every = ddb.get_item(TableName=names["table"], Key={"pk": {"S": "every"}})["Item"]
    sqs.start_message_move_task(SourceArn=dlq_arn)
    for _ in range(200):
        t = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        if t["Status"] != "RUNNING":
            break
        time.sleep(0.05)
    back = []
    while True:
        got = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        back += [(m["Body"], m["MessageAttributes"]["n"]["StringValue"]) for m in got]
    later = sqs.get_queue_url(QueueName=names["delayed"])["QueueUrl"]
    delayed = sqs.get_queue_attributes(QueueUrl=later, AttributeNames=["All"])["Attributes"]
    early = sqs.receive_message(QueueUrl=later, MaxNumberOfMessages=10).get("Messages", [])
    print(json.dumps({"restored": e.restored, "depth": depth, "body": body, "item": item, "every": repr(every),
                      "task": t["Status"], "back": sorted(back), "early": len(early),
                      "delayed": [delayed["ApproximateNumberOfMessagesDelayed"], delayed["ApproximateNumberOfMessages"]]}))
"""


EVERY_TYPE = {"pk": {"S": "every"}, "s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": b"\xff\x00"},
              "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01", b"\x02"]},
              "t": {"BOOL": True}, "z": {"NULL": True},
              "m": {"M": {"inner": {"B": b"\x03"}, "l": {"L": [{"S": "y"}, {"B": b"\x04"}, {"M": {}}]}}}}


def _normal(value):
    """Sets compared as sets (DynamoDB does not keep their order)."""
    if isinstance(value, dict):
        return {k: (sorted(v) if k in ("SS", "NS", "BS") else _normal(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def test_restart_with_state_dir_keeps_dlq_messages_objects_and_items(tmp_path):
    uid = uuid.uuid4().hex[:8]
    names = {"dlq": f"dlq-{uid}", "src": f"src-{uid}", "bucket": f"b-{uid}", "table": f"t-{uid}",
             "delayed": f"later-{uid}"}
    state = tmp_path / "state"
    with Emulator(port=0, state_dir=state) as e:
        sqs = e.client("sqs")
        dlq = sqs.create_queue(QueueName=names["dlq"])["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src = sqs.create_queue(QueueName=names["src"], Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=src, MessageBody=f"job-{i}",
                             MessageAttributes={"n": {"DataType": "String", "StringValue": str(i)}})
        while len(sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])):
            pass  # each message received once, then the next receive dead-letters it
        later = sqs.create_queue(QueueName=names["delayed"])["QueueUrl"]
        sqs.send_message(QueueUrl=later, MessageBody="not before 10 minutes", DelaySeconds=600)
        s3 = e.client("s3")
        s3.create_bucket(Bucket=names["bucket"])
        s3.put_object(Bucket=names["bucket"], Key="send/r 1.json", Body=b'{"requestId": "r1"}',
                      ContentType="application/json")
        ddb = e.client("dynamodb")
        ddb.create_table(TableName=names["table"], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName=names["table"], Item={"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}, "n": {"N": "7"}})
        # every attribute type, nested binary included, comes back as it was written
        ddb.put_item(TableName=names["table"], Item=EVERY_TYPE)
        assert int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"]) == 3
    assert e.saved is not None and e.saved["messages"] >= 3
    assert (state / "snapshot.json").exists()

    proc = subprocess.run([sys.executable, "-c", RESTARTED, str(state), json.dumps(names)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])

    assert seen["restored"]["messages"] >= 3
    assert seen["depth"] == 3
    assert seen["body"] == '{"requestId": "r1"}'
    assert seen["item"] == {"pk": {"S": "a"}, "blob": {"B": "0001"}, "n": {"N": "7"}}
    assert _normal(eval(seen["every"])) == _normal(EVERY_TYPE)  # noqa: S307 - our own repr of boto3's answer
    # the origin of each dead-lettered message survived: a redrive without destination sends it home
    assert seen["task"] == "COMPLETED"
    assert seen["back"] == [["job-0", "0"], ["job-1", "1"], ["job-2", "2"]]
    # a delayed message is still delayed after the restart (its DelaySeconds counts from its send)
    assert seen["delayed"] == ["1", "0"] and seen["early"] == 0


def test_start_without_snapshot_restores_nothing(tmp_path):
    with Emulator(port=0, state_dir=tmp_path / "empty") as e:
        assert e.restored is None
    assert (tmp_path / "empty" / "snapshot.json").exists()


def test_snapshot_keeps_other_files_in_the_shared_state_dir(tmp_path):
    state = tmp_path / "shared"
    state.mkdir()
    (state / "dataplane-carry-over.json").write_text('{"version": 1}')
    with Emulator(port=0, state_dir=state):
        pass
    assert (state / "snapshot.json").exists()
    assert (state / "dataplane-carry-over.json").read_text() == '{"version": 1}', "the data plane's file survives"
