"""Create (or update in place) one Pulumi resource in the emulator, and answer Pulumi data sources.

Each handler takes the resource's Pulumi inputs (camelCase, as the pulumi-aws schema names them) and
returns ``(id, outputs)`` with the real ids, ARNs and URLs the emulator assigned. Every handler looks
the resource up by its physical name first, so deploying twice converges instead of duplicating.

Only what the relay program uses is mapped; an unknown type is reported (``unmapped``) and given its
inputs back so the program can still finish.
"""
from __future__ import annotations

import io
import json
import logging
import threading
import zipfile
from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError

__all__ = ["EmulatedResources", "PLACEHOLDER_CODE_ZIP"]

log = logging.getLogger(__name__)

Outputs = dict[str, Any]
Handler = Callable[["EmulatedResources", str, dict], tuple[str, Outputs]]


def _placeholder_zip() -> bytes:
    # The emulator never runs this code: the local data plane runs the handlers from the repo.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README.txt", "relay local stage: handlers run in-process from the repository\n")
    return buf.getvalue()


PLACEHOLDER_CODE_ZIP = _placeholder_zip()


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _one(value: Any) -> dict:
    """pulumi-aws nests single blocks as a dict or as a one-element list; accept both."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def _ints(value: Any) -> Any:
    """Pulumi's wire format carries every number as a float; AWS's APIs want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]


class EmulatedResources:
    """boto3 against the emulator, one handler per Pulumi type token.

    Parameters
    ----------
    endpoint_url, region
        Where the emulator is.
    api_url
        The local HTTP API's URL: what a ``FunctionUrl`` resolves to in the local stage.
    """

    def __init__(self, endpoint_url: str, region: str, api_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.api_url = api_url
        self.unmapped: list[str] = []
        self._clients: dict[str, Any] = {}
        self._client_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._account: str | None = None

    # ---- plumbing -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        # Pulumi registers resources from a thread pool: create each client once, under its own lock
        with self._lock:
            lock = self._client_locks.setdefault(service, threading.Lock())
        with lock:
            if service not in self._clients:
                import boto3

                self._clients[service] = boto3.session.Session().client(
                    service, endpoint_url=self.endpoint_url, region_name=self.region,
                    aws_access_key_id="testing", aws_secret_access_key="testing")
            return self._clients[service]

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    def create(self, typ: str, name: str, inputs: dict) -> tuple[str, Outputs]:
        """Create or update the resource ``typ`` named ``name`` (Pulumi's logical name)."""
        handler = _HANDLERS.get(typ)
        if handler is None:
            log.warning("local deploy: %s (%s) has no emulator mapping; its inputs are passed through", typ, name)
            self.unmapped.append(typ)
            return name, dict(inputs)
        rid, outputs = handler(self, name, _ints(inputs))
        return rid, {**inputs, **outputs, "id": rid}

    def call(self, token: str, args: dict) -> dict:
        """Answer a data source (``aws:index/getCallerIdentity:getCallerIdentity`` …)."""
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            ident = self.client("sts").get_caller_identity()
            return {"accountId": ident["Account"], "arn": ident["Arn"], "userId": ident["UserId"],
                    "id": ident["Account"]}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}
        log.warning("local deploy: data source %s has no emulator mapping", token)
        self.unmapped.append(token)
        return {}

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


# ---- S3 ----------------------------------------------------------------------------------------
def _bucket(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    s3 = r.client("s3")
    bucket = i.get("bucket") or name
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if _code(err) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        kw: dict[str, Any] = {}
        if r.region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": r.region}
        s3.create_bucket(Bucket=bucket, **kw)
    if i.get("tags"):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(i["tags"])})
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": r.region,
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{r.region}.amazonaws.com"}


def _public_access_block(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    r.client("s3").put_public_access_block(Bucket=i["bucket"], PublicAccessBlockConfiguration={
        "BlockPublicAcls": bool(i.get("blockPublicAcls")), "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
        "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
        "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets"))})
    return i["bucket"], {}


def _encryption(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    rules = []
    for rule in i.get("rules") or []:
        default = _one(rule.get("applyServerSideEncryptionByDefault"))
        by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "AES256")}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": by_default}
        if "bucketKeyEnabled" in rule:
            out["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
        rules.append(out)
    r.client("s3").put_bucket_encryption(Bucket=i["bucket"],
                                         ServerSideEncryptionConfiguration={"Rules": rules})
    return i["bucket"], {}


def _bucket_policy(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    doc = json.loads(i["policy"]) if isinstance(i["policy"], str) else i["policy"]
    # The emulator listens on plain HTTP on loopback, and moto evaluates bucket policies: the program's
    # TLS-only statement (deny when aws:SecureTransport is false) would deny every local request. Those
    # statements are left out here only; the policy suite proves the program always has one.
    statements = [s for s in doc.get("Statement", []) if not _tls_only(s)]
    if statements:
        r.client("s3").put_bucket_policy(Bucket=i["bucket"], Policy=json.dumps({**doc, "Statement": statements}))
    return i["bucket"], {}


def _tls_only(statement: dict) -> bool:
    cond = statement.get("Condition") or {}
    return statement.get("Effect") == "Deny" and any("aws:SecureTransport" in (v or {}) for v in cond.values())


def _versioning(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    status = _one(i.get("versioningConfiguration")).get("status", "Suspended")
    r.client("s3").put_bucket_versioning(Bucket=i["bucket"], VersioningConfiguration={"Status": status})
    return i["bucket"], {}


def _lifecycle(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    rules = []
    for rule in i.get("rules") or []:
        out: dict[str, Any] = {"ID": rule.get("id", ""), "Status": rule.get("status", "Enabled")}
        flt = _one(rule.get("filter"))
        out["Filter"] = {"Prefix": flt.get("prefix", "")}
        exp = _one(rule.get("expiration"))
        if exp.get("days"):
            out["Expiration"] = {"Days": int(exp["days"])}
        nve = _one(rule.get("noncurrentVersionExpiration"))
        if nve.get("noncurrentDays"):
            out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(nve["noncurrentDays"])}
        abort = _one(rule.get("abortIncompleteMultipartUpload"))
        if abort.get("daysAfterInitiation"):
            out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["daysAfterInitiation"])}
        rules.append(out)
    r.client("s3").put_bucket_lifecycle_configuration(Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules})
    return i["bucket"], {}


def _key_filter(cfg: dict) -> dict:
    rules = []
    if cfg.get("filterPrefix"):
        rules.append({"Name": "prefix", "Value": cfg["filterPrefix"]})
    if cfg.get("filterSuffix"):
        rules.append({"Name": "suffix", "Value": cfg["filterSuffix"]})
    return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


def _bucket_notification(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    conf: dict[str, Any] = {
        "LambdaFunctionConfigurations": [
            {"Id": c.get("id") or f"lambda-{n}", "LambdaFunctionArn": c["lambdaFunctionArn"],
             "Events": list(c.get("events") or []), **_key_filter(c)}
            for n, c in enumerate(i.get("lambdaFunctions") or [])],
        "QueueConfigurations": [
            {"Id": c.get("id") or f"queue-{n}", "QueueArn": c["queueArn"], "Events": list(c.get("events") or []),
             **_key_filter(c)}
            for n, c in enumerate(i.get("queues") or [])],
        "TopicConfigurations": [
            {"Id": c.get("id") or f"topic-{n}", "TopicArn": c["topicArn"], "Events": list(c.get("events") or []),
             **_key_filter(c)}
            for n, c in enumerate(i.get("topics") or [])],
    }
    conf = {k: v for k, v in conf.items() if v}
    r.client("s3").put_bucket_notification_configuration(Bucket=i["bucket"], NotificationConfiguration=conf)
    return i["bucket"], {}


# ---- SQS ---------------------------------------------------------------------------------------
_QUEUE_ATTRS = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds", "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "fifoQueue": "FifoQueue", "contentBasedDeduplication": "ContentBasedDeduplication", "policy": "Policy",
}


def _queue(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    sqs = r.client("sqs")
    qname = i.get("name") or name
    attrs: dict[str, str] = {}
    for key, attr in _QUEUE_ATTRS.items():
        v = i.get(key)
        if v is None or v == "":
            continue
        attrs[attr] = ("true" if v else "false") if isinstance(v, bool) else (
            v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(int(v)))
    try:
        # CreateQueue is idempotent when the attributes match: one call on a fresh or unchanged stage
        url = sqs.create_queue(QueueName=qname, Attributes=attrs, tags=dict(i.get("tags") or {}))["QueueUrl"]
    except ClientError as err:
        if "QueueAlreadyExists" not in _code(err) and "QueueNameExists" not in _code(err):
            raise
        url = sqs.get_queue_url(QueueName=qname)["QueueUrl"]
        changeable = {k: v for k, v in attrs.items() if k != "FifoQueue"}
        if changeable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
        if i.get("tags"):
            sqs.tag_queue(QueueUrl=url, Tags=dict(i["tags"]))
    arn = r.arn("sqs", qname)
    return url, {"name": qname, "url": url, "arn": arn}


# ---- DynamoDB ----------------------------------------------------------------------------------
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
        "Tags": _tag_list(i.get("tags")),
    }
    if kw["BillingMode"] == "PROVISIONED":
        kw["ProvisionedThroughput"] = {"ReadCapacityUnits": int(i.get("readCapacity") or 1),
                                       "WriteCapacityUnits": int(i.get("writeCapacity") or 1)}
    if i.get("globalSecondaryIndexes"):
        kw["GlobalSecondaryIndexes"] = [_gsi(ix) for ix in i["globalSecondaryIndexes"]]
    if stream:
        kw["StreamSpecification"] = stream
    if _one(i.get("serverSideEncryption")).get("enabled"):
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
    ttl = _one(i.get("ttl"))
    pitr = _one(i.get("pointInTimeRecovery"))
    try:
        desc = ddb.create_table(**_create_table_args(tname, i, stream))["TableDescription"]
        created = True
    except ClientError as err:
        if _code(err) not in ("ResourceInUseException", "TableAlreadyExistsException"):
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


# ---- IAM / logs --------------------------------------------------------------------------------
def _role(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    iam = r.client("iam")
    rname = i.get("name") or name
    assume = i["assumeRolePolicy"] if isinstance(i["assumeRolePolicy"], str) else json.dumps(i["assumeRolePolicy"])
    try:
        role = iam.create_role(RoleName=rname, AssumeRolePolicyDocument=assume, Path=i.get("path") or "/",
                               Tags=_tag_list(i.get("tags")))["Role"]
    except ClientError as err:
        if _code(err) != "EntityAlreadyExists":
            raise
        role = iam.get_role(RoleName=rname)["Role"]
        iam.update_assume_role_policy(RoleName=rname, PolicyDocument=assume)
    return rname, {"name": rname, "arn": role["Arn"], "uniqueId": role["RoleId"]}


def _role_policy(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    pname = i.get("name") or name
    policy = i["policy"] if isinstance(i["policy"], str) else json.dumps(i["policy"])
    r.client("iam").put_role_policy(RoleName=i["role"], PolicyName=pname, PolicyDocument=policy)
    return f"{i['role']}:{pname}", {"name": pname}


def _log_group(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    logs = r.client("logs")
    gname = i.get("name") or name
    try:
        logs.create_log_group(logGroupName=gname, tags=dict(i.get("tags") or {}))
    except ClientError as err:
        if _code(err) != "ResourceAlreadyExistsException":
            raise
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=gname, retentionInDays=int(i["retentionInDays"]))
    return gname, {"name": gname, "arn": r.arn("logs", f"log-group:{gname}")}


# ---- Lambda ------------------------------------------------------------------------------------
def _layer(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    lname = i.get("layerName") or name
    versions = lam.list_layer_versions(LayerName=lname).get("LayerVersions", [])
    if versions:
        v = max(versions, key=lambda x: x["Version"])
    else:
        # the real layer is built only for AWS (infra/packaging.py); the local stage runs the venv
        v = lam.publish_layer_version(LayerName=lname, Description=i.get("description") or "",
                                      Content={"ZipFile": PLACEHOLDER_CODE_ZIP},
                                      CompatibleRuntimes=list(i.get("compatibleRuntimes") or []))
    arn = v["LayerVersionArn"]
    return arn, {"arn": arn, "layerArn": arn.rsplit(":", 1)[0], "version": str(v["Version"]),
                 "layerName": lname}


def _function_config(i: dict) -> dict[str, Any]:
    cfg: dict[str, Any] = {"Role": i["role"], "Handler": i.get("handler") or "index.handler",
                           "Runtime": i.get("runtime") or "python3.11",
                           "Timeout": int(i.get("timeout") or 3), "MemorySize": int(i.get("memorySize") or 128),
                           "Environment": {"Variables": {k: str(v) for k, v in
                                                         (_one(i.get("environment")).get("variables") or {}).items()}},
                           "Layers": list(i.get("layers") or []), "Description": i.get("description") or ""}
    dlc = _one(i.get("deadLetterConfig"))
    if dlc.get("targetArn"):
        cfg["DeadLetterConfig"] = {"TargetArn": dlc["targetArn"]}
    return cfg


def _function(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    fname = i.get("name") or name
    cfg = _function_config(i)
    try:
        fn = lam.create_function(FunctionName=fname, Code={"ZipFile": PLACEHOLDER_CODE_ZIP},
                                 Tags={k: str(v) for k, v in (i.get("tags") or {}).items()},
                                 Publish=bool(i.get("publish")), **cfg)
    except ClientError as err:
        if _code(err) != "ResourceConflictException":
            raise
        fn = lam.update_function_configuration(FunctionName=fname, **cfg)
    reserved = i.get("reservedConcurrentExecutions")
    if reserved is not None and int(reserved) >= 0:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=int(reserved))
    elif reserved is not None:
        lam.delete_function_concurrency(FunctionName=fname)
    arn = fn["FunctionArn"]
    return fname, {"name": fname, "arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
                   "invokeArn": f"arn:aws:apigateway:{r.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                   "lastModified": fn.get("LastModified", ""), "sourceCodeHash": fn.get("CodeSha256", ""),
                   "sourceCodeSize": fn.get("CodeSize", 0)}


_ESM_SETTINGS = {  # pulumi input → Create/UpdateEventSourceMapping parameter (all updatable in place)
    "batchSize": "BatchSize", "maximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
    "parallelizationFactor": "ParallelizationFactor", "bisectBatchOnFunctionError": "BisectBatchOnFunctionError",
    "maximumRetryAttempts": "MaximumRetryAttempts", "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
    "functionResponseTypes": "FunctionResponseTypes", "enabled": "Enabled",
    "tumblingWindowInSeconds": "TumblingWindowInSeconds",
}


def _esm_params(i: dict) -> dict[str, Any]:
    p: dict[str, Any] = {}
    for key, param in _ESM_SETTINGS.items():
        if i.get(key) is not None:
            v = i[key]
            p[param] = list(v) if isinstance(v, (list, tuple)) else v
    on_failure = _one(_one(i.get("destinationConfig")).get("onFailure"))
    if on_failure.get("destinationArn"):
        p["DestinationConfig"] = {"OnFailure": {"Destination": on_failure["destinationArn"]}}
    scaling = _one(i.get("scalingConfig"))
    if scaling.get("maximumConcurrency"):
        p["ScalingConfig"] = {"MaximumConcurrency": int(scaling["maximumConcurrency"])}
    filters = _one(i.get("filterCriteria")).get("filters")
    if filters:
        p["FilterCriteria"] = {"Filters": [{"Pattern": f["pattern"]} for f in filters]}
    return p


def _event_source_mapping(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    source, function = i["eventSourceArn"], i["functionName"]
    params = _esm_params(i)
    fn_arn = function if function.startswith("arn:") else r.arn("lambda", f"function:{function}")
    existing = [m for m in lam.list_event_source_mappings(EventSourceArn=source).get("EventSourceMappings", [])
                if m["FunctionArn"].split(":$")[0] == fn_arn]
    if existing:
        esm = lam.update_event_source_mapping(UUID=existing[0]["UUID"], FunctionName=function, **params)
    else:
        extra: dict[str, Any] = {}
        if i.get("startingPosition"):
            extra["StartingPosition"] = i["startingPosition"]
        if i.get("tags"):
            extra["Tags"] = {k: str(v) for k, v in i["tags"].items()}
        esm = lam.create_event_source_mapping(EventSourceArn=source, FunctionName=function, **params, **extra)
    uuid = esm["UUID"]
    return uuid, {"uuid": uuid, "functionArn": esm.get("FunctionArn", fn_arn),
                  "arn": esm.get("EventSourceMappingArn") or r.arn("lambda", f"event-source-mapping:{uuid}"),
                  "state": esm.get("State", "Enabled"), "lastModified": str(esm.get("LastModified", ""))}


def _permission(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    sid = i.get("statementId") or name
    kw: dict[str, Any] = {"FunctionName": i["function"], "StatementId": sid, "Action": i["action"],
                          "Principal": i["principal"]}
    for key, param in (("sourceArn", "SourceArn"), ("sourceAccount", "SourceAccount"),
                       ("functionUrlAuthType", "FunctionUrlAuthType"), ("qualifier", "Qualifier"),
                       ("eventSourceToken", "EventSourceToken"), ("principalOrgId", "PrincipalOrgID")):
        if i.get(key):
            kw[param] = i[key]
    if i.get("invokedViaFunctionUrl") is not None:
        kw["InvokedViaFunctionUrl"] = bool(i["invokedViaFunctionUrl"])
    try:
        _add_permission(lam, kw)
    except ClientError as err:
        if _code(err) != "ResourceConflictException":
            raise
        # same statement id: replace it, so changed settings take effect
        lam.remove_permission(FunctionName=i["function"], StatementId=sid)
        _add_permission(lam, kw)
    return sid, {"statementId": sid}


def _add_permission(lam: Any, kw: dict[str, Any]) -> None:
    try:
        lam.add_permission(**kw)
    except ClientError:
        raise
    except Exception as exc:  # noqa: BLE001 - a botocore without InvokedViaFunctionUrl refuses the parameter
        if "InvokedViaFunctionUrl" not in kw or "InvokedViaFunctionUrl" not in str(exc):
            raise
        lam.add_permission(**{k: v for k, v in kw.items() if k != "InvokedViaFunctionUrl"})


def _event_invoke_config(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    kw: dict[str, Any] = {"FunctionName": i["functionName"]}
    if i.get("qualifier"):
        kw["Qualifier"] = i["qualifier"]
    if i.get("maximumRetryAttempts") is not None:
        kw["MaximumRetryAttempts"] = int(i["maximumRetryAttempts"])
    if i.get("maximumEventAgeInSeconds") is not None:
        kw["MaximumEventAgeInSeconds"] = int(i["maximumEventAgeInSeconds"])
    dc = _one(i.get("destinationConfig"))
    dest: dict[str, Any] = {}
    if _one(dc.get("onFailure")).get("destination"):
        dest["OnFailure"] = {"Destination": _one(dc["onFailure"])["destination"]}
    if _one(dc.get("onSuccess")).get("destination"):
        dest["OnSuccess"] = {"Destination": _one(dc["onSuccess"])["destination"]}
    if dest:
        kw["DestinationConfig"] = dest
    r.client("lambda").put_function_event_invoke_config(**kw)
    return i["functionName"], {}


def _function_url(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    fname = i["functionName"]
    try:
        lam.get_function_url_config(FunctionName=fname)
        lam.update_function_url_config(FunctionName=fname, AuthType=i.get("authorizationType") or "NONE")
    except ClientError as err:
        if _code(err) != "ResourceNotFoundException":
            raise
        lam.create_function_url_config(FunctionName=fname, AuthType=i.get("authorizationType") or "NONE")
    # In the local stage the function's URL is the loopback API server in front of the data plane
    return fname, {"functionUrl": r.api_url, "urlId": fname}


# ---- SNS / CloudWatch / SSM --------------------------------------------------------------------
def _topic(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    tname = i.get("name") or name
    arn = r.client("sns").create_topic(Name=tname, Tags=_tag_list(i.get("tags")))["TopicArn"]
    return arn, {"name": tname, "arn": arn}


def _subscription(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    sns = r.client("sns")
    for sub in sns.list_subscriptions_by_topic(TopicArn=i["topic"]).get("Subscriptions", []):
        if sub["Protocol"] == i["protocol"] and sub["Endpoint"] == i["endpoint"]:
            return sub["SubscriptionArn"], {"arn": sub["SubscriptionArn"]}
    arn = sns.subscribe(TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"],
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}


def _metric_alarm(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    aname = i.get("name") or name
    kw: dict[str, Any] = {
        "AlarmName": aname, "AlarmDescription": i.get("alarmDescription") or "",
        "Namespace": i["namespace"], "MetricName": i["metricName"],
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()],
        "Period": int(i["period"]), "EvaluationPeriods": int(i["evaluationPeriods"]),
        "Threshold": float(i["threshold"]), "ComparisonOperator": i["comparisonOperator"],
        "ActionsEnabled": bool(i.get("actionsEnabled", True)),
        "AlarmActions": list(i.get("alarmActions") or []), "OKActions": list(i.get("okActions") or []),
        "Tags": _tag_list(i.get("tags")),
    }
    if i.get("statistic"):
        kw["Statistic"] = i["statistic"]
    if i.get("treatMissingData"):
        kw["TreatMissingData"] = i["treatMissingData"]
    r.client("cloudwatch").put_metric_alarm(**kw)
    return aname, {"name": aname, "arn": r.arn("cloudwatch", f"alarm:{aname}")}


def _parameter(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    ssm = r.client("ssm")
    pname = i.get("name") or name
    # the program may set ``insecureValue`` (plain) or ``value`` (secret in Pulumi's state)
    value = i.get("insecureValue") if i.get("insecureValue") is not None else i.get("value")
    if value is None:
        raise ValueError(f"SSM parameter {pname} has neither value nor insecureValue")
    kw: dict[str, Any] = {"Name": pname, "Value": str(value), "Type": i.get("type") or "String",
                          "Overwrite": True}
    if i.get("description"):
        kw["Description"] = i["description"]
    version = ssm.put_parameter(**kw)["Version"]
    if i.get("tags"):
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=pname, Tags=_tag_list(i["tags"]))
    return pname, {"name": pname, "arn": r.arn("ssm", f"parameter{pname if pname.startswith('/') else '/' + pname}"),
                   "version": version}


_HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _encryption,
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": _encryption,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:s3/bucketVersioning:BucketVersioning": _versioning,
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _versioning,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _lifecycle,
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": _lifecycle,
    "aws:s3/bucketNotification:BucketNotification": _bucket_notification,
    "aws:sqs/queue:Queue": _queue,
    "aws:dynamodb/table:Table": _table,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:lambda/layerVersion:LayerVersion": _layer,
    "aws:lambda/function:Function": _function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:lambda/permission:Permission": _permission,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _event_invoke_config,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:ssm/parameter:Parameter": _parameter,
}
