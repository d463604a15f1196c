"""AWS's event and dead-letter shapes, built from API responses (pure: no boto3, no clock of its own)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

__all__ = ["sqs_event_record", "stream_event_record", "async_failure_record", "stream_failure_record",
           "iso_ms", "epoch_seconds"]


def iso_ms(ts: float) -> str:
    """Epoch seconds → ``2024-01-01T00:00:00.000Z`` (the format Lambda's destination records use)."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def epoch_seconds(value: Any) -> float:
    """boto3 gives ``ApproximateCreationDateTime`` as a datetime; Lambda's event carries epoch seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    return float(value)


def _message_attribute(attr: dict) -> dict:
    # Lambda's SQS event lower-cases the first letter and always carries the list fields
    out: dict[str, Any] = {"stringListValues": list(attr.get("StringListValues", [])),
                           "binaryListValues": list(attr.get("BinaryListValues", [])),
                           "dataType": attr.get("DataType", "String")}
    if "StringValue" in attr:
        out["stringValue"] = attr["StringValue"]
    if "BinaryValue" in attr:
        import base64

        raw = attr["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, (bytes, bytearray)) else raw
    return out


def sqs_event_record(message: dict, queue_arn: str, region: str) -> dict:
    """``ReceiveMessage`` message → one record of Lambda's SQS event."""
    attrs = message.get("Attributes", {})
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: attrs[k] for k in (
            "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
            "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader",
            "DeadLetterQueueSourceArn") if k in attrs},
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def stream_event_record(raw: dict, stream_arn: str, region: str) -> dict:
    """``GetRecords`` record → one record of Lambda's DynamoDB stream event (moto's gaps filled)."""
    ddb = dict(raw.get("dynamodb", {}))
    ddb["ApproximateCreationDateTime"] = epoch_seconds(ddb.get("ApproximateCreationDateTime", 0))
    ddb.setdefault("SizeBytes", 0)
    return {
        "eventID": raw.get("eventID", ""),
        "eventName": raw.get("eventName", ""),
        # Lambda delivers stream records as event version 1.1
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }


def async_failure_record(*, request_id: str, function_arn: str, event: Any, attempts: int, now: float,
                         error: dict | None, condition: str = "RetriesExhausted") -> dict:
    """Lambda's on-failure destination record for an asynchronous invocation (docs/CONTRACTS.md)."""
    return {
        "version": "1.0",
        "timestamp": iso_ms(now),
        "requestContext": {"requestId": request_id, "functionArn": f"{function_arn}:$LATEST",
                           "condition": condition, "approximateInvokeCount": attempts},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error or {},
    }


def stream_failure_record(*, request_id: str, function_arn: str, records: Iterable[dict], shard_id: str,
                          stream_arn: str, attempts: int, now: float, condition: str,
                          error: dict | None) -> dict:
    """Lambda's on-failure record for a stream batch it gave up on (``DDBStreamBatchInfo``)."""
    records = list(records)
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {"requestId": request_id, "functionArn": function_arn, "condition": condition,
                           "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled" if error else ""},
        "version": "1.0",
        "timestamp": iso_ms(now),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": iso_ms(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": iso_ms(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
