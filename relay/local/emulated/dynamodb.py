"""DynamoDB: tables with keys, GSIs, streams, TTL and point-in-time recovery."""
from __future__ import annotations

from typing import TYPE_CHECKING

from typing import Any

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of, one, tag_list

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


def _key_schema(hash_key: str | None, range_key: str | None) -> list[dict[str, str]]:
    ks = [{"AttributeName": hash_key, "KeyType": "HASH"}] if hash_key else []
    if range_key:
        ks.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return ks


def _gsi(ix: dict) -> dict:
    if ix.get("keySchemas"):
        ks = [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in ix["keySchemas"]]
    else:
        ks = _key_schema(ix.get("hashKey"), ix.get("rangeKey"))
    projection: dict[str, Any] = {"ProjectionType": ix.get("projectionType", "ALL")}
    if ix.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(ix["nonKeyAttributes"])
    return {"IndexName": ix["name"], "KeySchema": ks, "Projection": projection}


def _create_table_args(tname: str, i: dict, stream: dict | None) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "TableName": tname,
        "KeySchema": _key_schema(i.get("hashKey"), i.get("rangeKey")),
        "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                 for a in i.get("attributes") or []],
        "BillingMode": i.get("billingMode") or "PROVISIONED",
        "Tags": tag_list(i.get("tags")),
    }
    if kw["BillingMode"] == "PROVISIONED":
        kw["ProvisionedThroughput"] = {"ReadCapacityUnits": int(i.get("readCapacity") or 1),
                                       "WriteCapacityUnits": int(i.get("writeCapacity") or 1)}
    if i.get("globalSecondaryIndexes"):
        kw["GlobalSecondaryIndexes"] = [_gsi(ix) for ix in i["globalSecondaryIndexes"]]
    if stream:
        kw["StreamSpecification"] = stream
    if one(i.get("serverSideEncryption")).get("enabled"):
        kw["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    if i.get("deletionProtectionEnabled"):
        kw["DeletionProtectionEnabled"] = True
    return kw


def _table(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    """Create the table, or converge an existing one (stream, TTL, PITR, deletion protection).

    GSIs and key schema of an existing table are left as they are (changing them means a migration).
    """
    ddb = r.client("dynamodb")
    tname = i.get("name") or name
    stream = {"StreamEnabled": True, "StreamViewType": i["streamViewType"]} if i.get("streamEnabled") else None
    ttl = one(i.get("ttl"))
    pitr = one(i.get("pointInTimeRecovery"))
    try:
        desc = ddb.create_table(**_create_table_args(tname, i, stream))["TableDescription"]
        created = True
    except ClientError as err:
        if code_of(err) not in ("ResourceInUseException", "TableAlreadyExistsException"):
            raise
        created = False
        desc = ddb.describe_table(TableName=tname)["Table"]
        current = desc.get("StreamSpecification") or {}
        wanted = stream or {"StreamEnabled": False}
        if bool(current.get("StreamEnabled")) != wanted["StreamEnabled"] or (
                stream and current.get("StreamViewType") != stream["StreamViewType"]):
            desc = ddb.update_table(TableName=tname, StreamSpecification=wanted)["TableDescription"]
        if "deletionProtectionEnabled" in i and bool(desc.get("DeletionProtectionEnabled")) != bool(
                i["deletionProtectionEnabled"]):
            desc = ddb.update_table(TableName=tname,
                                    DeletionProtectionEnabled=bool(i["deletionProtectionEnabled"]))["TableDescription"]
    if ttl.get("attributeName"):
        enabled = bool(ttl.get("enabled", True))
        if created:
            changed = enabled  # a new table has TTL off
        else:
            current_ttl = ddb.describe_time_to_live(TableName=tname)["TimeToLiveDescription"]
            changed = (current_ttl.get("TimeToLiveStatus") == "ENABLED") != enabled or (
                enabled and current_ttl.get("AttributeName") != ttl["attributeName"])
        if changed:
            ddb.update_time_to_live(TableName=tname, TimeToLiveSpecification={
                "AttributeName": ttl["attributeName"], "Enabled": enabled})
    if "enabled" in pitr and (pitr["enabled"] or not created):  # a new table has PITR off
        ddb.update_continuous_backups(TableName=tname, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": bool(pitr["enabled"])})
    return tname, {"name": tname, "arn": desc["TableArn"], "streamArn": desc.get("LatestStreamArn", ""),
                   "streamLabel": desc.get("LatestStreamLabel", "")}


HANDLERS = {
    "aws:dynamodb/table:Table": _table,
}
