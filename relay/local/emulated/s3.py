"""S3: the request store bucket and its settings (public access block, encryption, TLS-only policy, versioning, lifecycle, notifications)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import json
from typing import Any

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of, one, tag_list

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


def _bucket(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    s3 = r.client("s3")
    bucket = i.get("bucket") or name
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if code_of(err) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        kw: dict[str, Any] = {}
        if r.region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": r.region}
        s3.create_bucket(Bucket=bucket, **kw)
    if i.get("tags"):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(i["tags"])})
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
        default = one(rule.get("applyServerSideEncryptionByDefault"))
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
    status = one(i.get("versioningConfiguration")).get("status", "Suspended")
    r.client("s3").put_bucket_versioning(Bucket=i["bucket"], VersioningConfiguration={"Status": status})
    return i["bucket"], {}


def _lifecycle(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    rules = []
    for rule in i.get("rules") or []:
        out: dict[str, Any] = {"ID": rule.get("id", ""), "Status": rule.get("status", "Enabled")}
        flt = one(rule.get("filter"))
        out["Filter"] = {"Prefix": flt.get("prefix", "")}
        exp = one(rule.get("expiration"))
        if exp.get("days"):
            out["Expiration"] = {"Days": int(exp["days"])}
        nve = one(rule.get("noncurrentVersionExpiration"))
        if nve.get("noncurrentDays"):
            out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(nve["noncurrentDays"])}
        abort = one(rule.get("abortIncompleteMultipartUpload"))
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


HANDLERS = {
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
}
