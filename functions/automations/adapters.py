"""boto3 adapters behind the automation ports: DynamoDB state table, SQS job queue, S3 request store,
and the address-guarded HTTP fetcher. Clients come from :mod:`functions.shared.aws` (lazy, cached).

State table items (docs/CONTRACTS.md): ``RUN#<runId>/RUN``, ``RUN#<runId>/STEP#<index:04d>``,
``TOKEN#<token>/CANCELED``, ``TOKEN#<token>/RUN#<runId>``, ``PROFILE#<user_id>/PROFILE``.
JSON values (data, profile, the compiled steps, results) are native DynamoDB maps; numbers round-trip
through ``Decimal``. A value too large for an item goes to S3 first (``payloads/runs/…``) and the item
keeps ``{"$ref": "s3://…"}``.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Iterable, Mapping

from functions.automations.ports import (
    FetchedResponse, HttpFetcher, JobQueue, RequestHandoff, RunRecord, RunStore, StepRecord,
)
from functions.shared import aws
from functions.shared.dynamo_values import item_to_plain, plain_to_item, to_plain
from functions.shared.statuses import RunStatus, StepStatus

__all__ = ["DynamoRunStore", "SqsJobQueue", "S3RequestHandoff", "GuardedHttpFetcher", "to_plain"]

_RUN_FIELDS = {
    "status": "status", "steps": "steps", "data": "data", "profile": "profile", "recipient": "recipient",
    "template": "template", "cancelation_token": "cancelation_token", "created_at": "createdAt",
    "updated_at": "updatedAt", "start_enqueued": "startEnqueued", "error": "error",
}
_OFFLOADED = ("steps", "data", "profile")


def _to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


class _Codec:
    """JSON-shaped values to typed items (floats as ``Decimal``, ``None`` left out) and back."""

    @staticmethod
    def dump(item: Mapping[str, Any]) -> dict[str, Any]:
        return plain_to_item({k: _to_dynamo(v) for k, v in item.items() if v is not None})

    @classmethod
    def value(cls, v: Any) -> dict[str, Any]:
        return cls.dump({"v": v})["v"]

    @staticmethod
    def load(item: Mapping[str, Any]) -> dict[str, Any]:
        return item_to_plain(item)


def _conditional_failed(exc: Exception) -> bool:
    err = getattr(exc, "response", {}).get("Error", {})
    if err.get("Code") == "ConditionalCheckFailedException":
        return True
    if err.get("Code") == "TransactionCanceledException":
        reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or "ConditionalCheckFailed" in str(exc)
    return False


class DynamoRunStore(RunStore):
    """The state table, through the low-level DynamoDB client."""

    def __init__(self, table: str, bucket: str = "") -> None:
        self.table = table
        self.bucket = bucket  # where oversized values go (payloads/runs/…)

    @property
    def _ddb(self) -> Any:
        return aws.client("dynamodb")

    # ---- runs ---------------------------------------------------------------------------------------
    def _offload(self, run_id: str, name: str, value: Any) -> Any:
        if not self.bucket:
            return value
        from functions.shared.ids import new_ulid
        from functions.shared.payloads import offload

        return offload(value, bucket=self.bucket, kind="runs", payload_id=f"{run_id}.{name}.{new_ulid()}",
                       limit=100 * 1024)

    def create_run(self, run: RunRecord) -> bool:
        item: dict[str, Any] = {"pk": f"RUN#{run.run_id}", "sk": "RUN", "runId": run.run_id}
        for attr, name in _RUN_FIELDS.items():
            value = getattr(run, attr)
            item[name] = self._offload(run.run_id, attr, value) if attr in _OFFLOADED else value
        if not run.start_enqueued:
            del item["startEnqueued"]  # read on runs stored before it was dropped (core.start_run), never written
        item["stepCount"] = len(run.steps)
        try:
            self._ddb.put_item(TableName=self.table, Item=_Codec.dump(item),
                               ConditionExpression="attribute_not_exists(pk)")
        except Exception as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def get_run(self, run_id: str) -> RunRecord | None:
        resp = self._ddb.get_item(TableName=self.table, Key=_Codec.dump({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                                  ConsistentRead=True)
        if "Item" not in resp:
            return None
        item = _Codec.load(resp["Item"])
        from functions.shared.payloads import resolve

        kwargs = {attr: item.get(name) for attr, name in _RUN_FIELDS.items()}
        for attr in _OFFLOADED:
            kwargs[attr] = resolve(kwargs[attr]) if kwargs[attr] is not None else ([] if attr == "steps" else {})
        kwargs["start_enqueued"] = bool(kwargs["start_enqueued"])
        kwargs["status"] = RunStatus(kwargs["status"])
        return RunRecord(run_id=run_id, **kwargs)

    def set_run_status(self, run_id: str, status: RunStatus, *, only_from: Iterable[RunStatus], now: str,
                       error: str | None = None) -> bool:
        allowed = list(only_from)
        values = {f":f{i}": {"S": str(s)} for i, s in enumerate(allowed)}
        values.update({":s": {"S": str(status)}, ":now": {"S": now}})
        update = "SET #s = :s, updatedAt = :now"
        if error is not None:
            update += ", #e = :e"
            values[":e"] = {"S": error}
        try:
            self._ddb.update_item(
                TableName=self.table, Key=_Codec.dump({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(pk) AND #s IN ({', '.join(f':f{i}' for i in range(len(allowed)))})",
                ExpressionAttributeNames={"#s": "status", **({"#e": "error"} if error is not None else {})},
                ExpressionAttributeValues=values)
        except Exception as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # ---- tokens -------------------------------------------------------------------------------------
    def register_token(self, token: str, run_id: str, now: str) -> None:
        self._ddb.put_item(TableName=self.table, Item=_Codec.dump(
            {"pk": f"TOKEN#{token}", "sk": f"RUN#{run_id}", "runId": run_id, "createdAt": now}))

    def token_canceled_at(self, token: str) -> str | None:
        resp = self._ddb.get_item(TableName=self.table, Key=_Codec.dump({"pk": f"TOKEN#{token}", "sk": "CANCELED"}),
                                  ConsistentRead=True)
        return resp.get("Item", {}).get("canceledAt", {}).get("S")

    def cancel_token(self, token: str, now: str) -> list[str]:
        # The latest cancel wins: every run created before it is canceled (see core.run_job's check)
        self._ddb.put_item(TableName=self.table, Item=_Codec.dump(
            {"pk": f"TOKEN#{token}", "sk": "CANCELED", "canceledAt": now}))
        run_ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
            "ExpressionAttributeValues": {":pk": {"S": f"TOKEN#{token}"}, ":run": {"S": "RUN#"}},
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            run_ids += [i["sk"]["S"][4:] for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return run_ids
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ---- steps --------------------------------------------------------------------------------------
    @staticmethod
    def _step_key(run_id: str, index: int) -> dict[str, Any]:
        return _Codec.dump({"pk": f"RUN#{run_id}", "sk": f"STEP#{index:04d}"})

    @staticmethod
    def _step(index: int, item: Mapping[str, Any]) -> StepRecord:
        doc = _Codec.load(item)
        return StepRecord(index=index, status=StepStatus(doc.get("status", StepStatus.RUNNING)), attempts=int(doc.get("attempts", 0)),
                          result=doc.get("result"), error=doc.get("error"), started_at=doc.get("startedAt"),
                          ended_at=doc.get("endedAt"), next_enqueued=bool(doc.get("nextEnqueued")))

    def get_step(self, run_id: str, index: int) -> StepRecord | None:
        resp = self._ddb.get_item(TableName=self.table, Key=self._step_key(run_id, index), ConsistentRead=True)
        return self._step(index, resp["Item"]) if "Item" in resp else None

    def start_step(self, run_id: str, index: int, now: str, *, count_attempt: bool = True) -> StepRecord:
        try:
            resp = self._ddb.update_item(
                TableName=self.table, Key=self._step_key(run_id, index),
                UpdateExpression="SET #s = :running, startedAt = if_not_exists(startedAt, :now), stepIndex = :i, "
                                 "runId = :run ADD attempts :one",
                ConditionExpression="attribute_not_exists(#s) OR #s <> :completed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": {"S": StepStatus.RUNNING}, ":now": {"S": now},
                                           ":one": {"N": "1" if count_attempt else "0"},
                                           ":completed": {"S": StepStatus.COMPLETED}, ":i": {"N": str(index)},
                                           ":run": {"S": run_id}},
                ReturnValues="ALL_NEW")
        except Exception as exc:
            if _conditional_failed(exc):
                found = self.get_step(run_id, index)
                assert found is not None
                return found
            raise
        return self._step(index, resp["Attributes"])

    def complete_step(self, run_id: str, index: int, result: Mapping[str, Any], now: str, *,
                      data: Mapping[str, Any] | None = None, profile: Mapping[str, Any] | None = None) -> bool:
        step_update = {
            "TableName": self.table, "Key": self._step_key(run_id, index),
            "UpdateExpression": "SET #s = :completed, #r = :result, endedAt = :now REMOVE #e",
            "ConditionExpression": "attribute_not_exists(#s) OR #s <> :completed",
            "ExpressionAttributeNames": {"#s": "status", "#r": "result", "#e": "error"},
            "ExpressionAttributeValues": {":completed": {"S": StepStatus.COMPLETED}, ":now": {"S": now},
                                          ":result": _Codec.value(dict(result))},
        }
        try:
            if data is None and profile is None:
                self._ddb.update_item(**step_update)
                return True
            sets, names, values = ["updatedAt = :now"], {}, {":now": {"S": now}}
            for field, value in (("data", data), ("profile", profile)):
                if value is not None:
                    sets.append(f"#{field} = :{field}")
                    names[f"#{field}"] = field
                    # S3 first (when large), then the item that points at it
                    values[f":{field}"] = _Codec.value(self._offload(run_id, field, dict(value)))
            run_update = {"TableName": self.table, "Key": _Codec.dump({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                          "UpdateExpression": "SET " + ", ".join(sets), "ExpressionAttributeNames": names,
                          "ExpressionAttributeValues": values}
            self._ddb.transact_write_items(TransactItems=[{"Update": step_update}, {"Update": run_update}])
        except Exception as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def mark_next_enqueued(self, run_id: str, index: int) -> None:
        self._ddb.update_item(TableName=self.table, Key=self._step_key(run_id, index),
                              UpdateExpression="SET nextEnqueued = :t", ExpressionAttributeValues={":t": {"BOOL": True}})

    def fail_step(self, run_id: str, index: int, error: str, now: str) -> None:
        try:
            self._ddb.update_item(
                TableName=self.table, Key=self._step_key(run_id, index),
                UpdateExpression="SET #s = :failed, #e = :e, failedAt = :now",
                ConditionExpression="attribute_not_exists(#s) OR #s <> :completed",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={":failed": {"S": StepStatus.FAILED}, ":e": {"S": error},
                                           ":now": {"S": now}, ":completed": {"S": StepStatus.COMPLETED}})
        except Exception as exc:
            if not _conditional_failed(exc):
                raise

    # ---- profiles -----------------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(TableName=self.table, Key=_Codec.dump({"pk": f"PROFILE#{user_id}", "sk": "PROFILE"}),
                                  ConsistentRead=True)
        if "Item" not in resp:
            return None
        return _Codec.load(resp["Item"]).get("profile") or {}

    def put_profile(self, user_id: str, profile: Mapping[str, Any], now: str) -> None:
        self._ddb.put_item(TableName=self.table, Item=_Codec.dump(
            {"pk": f"PROFILE#{user_id}", "sk": "PROFILE", "userId": user_id, "profile": dict(profile),
             "updatedAt": now}))


class SqsJobQueue(JobQueue):
    """The job queue (``JOB_QUEUE_URL``)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self._max_receive: int | None | bool = False  # False = not read yet

    def enqueue(self, job: Mapping[str, Any], delay_seconds: int = 0) -> None:
        aws.client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(job, separators=(",", ":")),
                                       DelaySeconds=max(0, min(900, int(delay_seconds))))

    def max_receive_count(self) -> int | None:
        if self._max_receive is False:
            try:
                attrs = aws.client("sqs").get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
                policy = json.loads(attrs.get("RedrivePolicy") or "{}")
                self._max_receive = int(policy["maxReceiveCount"]) if "maxReceiveCount" in policy else None
            except Exception:  # noqa: BLE001 - only decides when to write FAILED; never fail the job for it
                return None
        return self._max_receive  # type: ignore[return-value]


class S3RequestHandoff(RequestHandoff):
    """Hands a step's send or invoke to the request store bucket, through the functions the API uses."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_send_request(self, request_id: str, message: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        from functions.shared.request_store import put_send_request

        put_send_request(self.bucket, request_id, dict(message), dict(source))

    def put_automation_request(self, run_id: str, invoke: Mapping[str, Any]) -> None:
        from functions.shared.request_store import put_automation_request

        put_automation_request(self.bucket, run_id, dict(invoke))

    def automation_template(self, name: str) -> dict[str, Any] | None:
        from functions.shared.request_store import get_named

        return get_named(self.bucket, "automation-templates", name)


class GuardedHttpFetcher(HttpFetcher):
    """HTTP through :mod:`functions.shared.guarded_http` with the stage's ``FETCH_ALLOW``."""

    def __init__(self, allow: frozenset[tuple[str, int]] = frozenset()) -> None:
        self.allow = allow

    def fetch(self, method: str, url: str, *, json_body: Any, headers: Mapping[str, str] | None,
              timeout: float, max_bytes: int) -> FetchedResponse:
        from functions.shared.guarded_http import fetch

        result = fetch(method, url, json_body=json_body, headers=headers, timeout=timeout, max_bytes=max_bytes,
                       allow=self.allow)
        return FetchedResponse(status=result.status, body=result.body)
