"""Policy suite: pure rules over the resources a stack registers (type, inputs, outputs).

The records use Pulumi's wire names (camelCase), as a mock monitor or a CrossGuard policy pack sees
them. Each rule returns :class:`Violation`s; :func:`check` runs them all. Nothing here talks to AWS.
"""
from __future__ import annotations

from typing import Any, Iterable

__all__ = ["RecordedResource", "Violation", "RULES", "check", "TAGGABLE_TYPES", "UNSCOPABLE_ACTIONS",
           "MIN_PYTHON_RUNTIME"]

from infra.policy_model import (_iam_documents, _sms_only, BUCKET, BUCKET_ACL, BUCKET_POLICY, BUCKET_SSE, ESM, FUNCTION, INVOKE_CONFIG, LOG_GROUP, MIN_PYTHON_RUNTIME, NOTIFICATION, PUBLIC_ACCESS_BLOCK, PUBLIC_ACLS, QUEUE, RecordedResource, Rule, SUBSCRIPTION, TABLE, TAGGABLE_TYPES, UNSCOPABLE_ACTIONS, Violation, _as_doc, _bucket_refs, _listify, _of, _v)
from infra.policy_rules_platform import (alarm_actions_reach_someone, api_never_open,
                                         layers_match_function_architecture, self_enqueuing_functions_allow_recursion,
                                         send_email_scoped_to_stage_identity, sms_publish_to_phone_numbers_only,
                                         supported_runtimes)


# ---- rules ------------------------------------------------------------------------------------------
def no_public_buckets(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every bucket has a public access block with all four settings true, no public ACL or grant,
    and no bucket policy that allows ``Principal: "*"``."""
    blocks = _of(resources, PUBLIC_ACCESS_BLOCK)
    for b in _of(resources, BUCKET):
        refs = _bucket_refs(b)
        block = next((p for p in blocks if p.inputs.get("bucket") in refs), None)
        if block is None:
            yield _v("no-public-bucket", b, "has no BucketPublicAccessBlock")
        else:
            off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
                   if block.inputs.get(k) is not True]
            if off:
                yield _v("no-public-bucket", b, f"public access block leaves {', '.join(off)} off")
        if b.inputs.get("acl") in PUBLIC_ACLS:
            yield _v("no-public-bucket", b, f"canned ACL {b.inputs['acl']!r} is public")
    for acl in _of(resources, BUCKET_ACL):
        if acl.inputs.get("acl") in PUBLIC_ACLS:
            yield _v("no-public-bucket", acl, f"canned ACL {acl.inputs['acl']!r} is public")
    for pol in _of(resources, BUCKET_POLICY):
        for st in _as_doc(pol.inputs.get("policy")).get("Statement", []):
            principal = st.get("Principal")
            public = principal == "*" or (isinstance(principal, dict) and "*" in _listify(principal.get("AWS")))
            if st.get("Effect") == "Allow" and public:
                yield _v("no-public-bucket", pol, "bucket policy allows Principal '*'")


def tls_only_buckets(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every bucket has a policy denying requests with ``aws:SecureTransport = false``."""
    policies = _of(resources, BUCKET_POLICY)
    for b in _of(resources, BUCKET):
        refs = _bucket_refs(b)
        docs = [_as_doc(p.inputs.get("policy")) for p in policies if p.inputs.get("bucket") in refs]
        denies = any(st.get("Effect") == "Deny"
                     and str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
                     for d in docs for st in d.get("Statement", []))
        if not denies:
            yield _v("tls-only-bucket", b, "no bucket policy denies aws:SecureTransport=false")


def encryption_at_rest(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Buckets have SSE (AES256 or aws:kms), queues SSE-SQS or a KMS key, tables SSE enabled."""
    sse = _of(resources, BUCKET_SSE)
    for b in _of(resources, BUCKET):
        refs = _bucket_refs(b)
        algos = [rule.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm")
                 for s in sse if s.inputs.get("bucket") in refs for rule in s.inputs.get("rules", [])]
        if not any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algos):
            yield _v("encryption-at-rest", b, "no server-side encryption configuration")
    for q in _of(resources, QUEUE):
        if not (q.inputs.get("sqsManagedSseEnabled") is True or q.inputs.get("kmsMasterKeyId")):
            yield _v("encryption-at-rest", q, "queue has neither SSE-SQS nor a KMS key")
    for t in _of(resources, TABLE):
        if not (t.inputs.get("serverSideEncryption") or {}).get("enabled"):
            yield _v("encryption-at-rest", t, "table serverSideEncryption is not enabled")




def no_wildcard_actions(resources: list[RecordedResource]) -> Iterable[Violation]:
    """No IAM statement allows ``Action: "*"`` (nor a whole service, ``"<service>:*"``)."""
    for r, doc in _iam_documents(resources):
        for st in doc.get("Statement", []):
            if st.get("Effect") != "Allow":
                continue
            if "NotAction" in st:
                yield _v("no-wildcard-action", r, "uses NotAction (grants everything else)")
            for action in _listify(st.get("Action", [])):
                if action == "*" or str(action).endswith(":*"):
                    yield _v("no-wildcard-action", r, f"statement {st.get('Sid', '?')} allows Action {action!r}")




def no_wildcard_resources(resources: list[RecordedResource]) -> Iterable[Violation]:
    """No IAM statement allows ``Resource: "*"`` unless every action in it cannot be scoped.

    The one ``NotResource`` allowed is SMS to phone numbers (:data:`SMS_ONLY_NOT_RESOURCE`): an SMS
    publish has no resource ARN, so excluding every SNS ARN is how IAM scopes it.
    """
    for r, doc in _iam_documents(resources):
        for st in doc.get("Statement", []):
            if st.get("Effect") != "Allow" or _sms_only(st):
                continue
            if "*" in _listify(st.get("Resource", [])) or "NotResource" in st:
                scopable = [a for a in _listify(st.get("Action", [])) if a not in UNSCOPABLE_ACTIONS]
                if scopable:
                    yield _v("no-wildcard-resource", r,
                             f"statement {st.get('Sid', '?')} allows {', '.join(map(str, scopable))} on '*'")


def _redrive_target(q: RecordedResource) -> str | None:
    raw = q.inputs.get("redrivePolicy")
    if not raw:
        return None
    return _as_doc(raw).get("deadLetterTargetArn")


def queues_feeding_functions_have_dlq(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every SQS queue that is an event source has a redrive policy to a queue of this stack."""
    queues = {q.outputs.get("arn"): q for q in _of(resources, QUEUE)}
    for m in _of(resources, ESM):
        source = queues.get(m.inputs.get("eventSourceArn"))
        if source is None:
            continue
        target = _redrive_target(source)
        if target is None:
            yield _v("queue-has-dlq", source, "feeds a function but has no redrive policy")
        elif target not in queues:
            yield _v("queue-has-dlq", source, f"redrives to {target}, which is not a queue of this stack")
        elif _as_doc(source.inputs["redrivePolicy"]).get("maxReceiveCount", 0) < 1:
            yield _v("queue-has-dlq", source, "redrive policy has no maxReceiveCount")


def stream_mappings_have_on_failure(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every DynamoDB/Kinesis stream mapping has an on-failure destination."""
    for m in _of(resources, ESM):
        source = str(m.inputs.get("eventSourceArn", ""))
        if ":dynamodb:" in source or ":kinesis:" in source:
            dest = ((m.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
            if not dest:
                yield _v("stream-on-failure", m, "stream mapping has no on-failure destination")


def async_functions_have_on_failure(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every function an S3 notification or an SNS subscription invokes (both asynchronously) has an invoke
    config with an on-failure destination."""
    functions = {f.outputs.get("arn"): f for f in _of(resources, FUNCTION)}
    configs = {c.inputs.get("functionName"): c for c in _of(resources, INVOKE_CONFIG)}

    def missing(arn: Any) -> str | None:
        fn = functions.get(arn)
        name = fn.outputs.get("name") if fn else arn
        cfg = configs.get(name) or configs.get(arn)
        dest = (((cfg.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
                if cfg else None)
        return None if dest else str(name)

    for n in _of(resources, NOTIFICATION):
        for target in n.inputs.get("lambdaFunctions", []):
            name = missing(target.get("lambdaFunctionArn"))
            if name:
                yield _v("async-on-failure", n, f"{name} is invoked by S3 without an on-failure destination")
    for sub in _of(resources, SUBSCRIPTION):
        if sub.inputs.get("protocol") == "lambda":
            name = missing(sub.inputs.get("endpoint"))
            if name:
                yield _v("async-on-failure", sub, f"{name} is invoked by SNS without an on-failure destination")


def functions_have_log_retention(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every function has a log group ``/aws/lambda/<name>`` with a retention."""
    groups = {g.inputs.get("name"): g for g in _of(resources, LOG_GROUP)}
    for f in _of(resources, FUNCTION):
        g = groups.get(f"/aws/lambda/{f.inputs.get('name')}")
        if g is None or not g.inputs.get("retentionInDays"):
            yield _v("log-retention", f, "has no log group with a retention")


def tagged(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every taggable resource carries ``project=relay`` and a ``stage`` tag."""
    for r in resources:
        if r.type in TAGGABLE_TYPES:
            tags = r.inputs.get("tags") or {}
            if tags.get("project") != "relay" or not tags.get("stage"):
                yield _v("tagged", r, f"tags {dict(tags)} lack project=relay and stage")


RULES: dict[str, Rule] = {
    "no-public-bucket": no_public_buckets,
    "tls-only-bucket": tls_only_buckets,
    "encryption-at-rest": encryption_at_rest,
    "no-wildcard-action": no_wildcard_actions,
    "no-wildcard-resource": no_wildcard_resources,
    "queue-has-dlq": queues_feeding_functions_have_dlq,
    "stream-on-failure": stream_mappings_have_on_failure,
    "async-on-failure": async_functions_have_on_failure,
    "log-retention": functions_have_log_retention,
    "tagged": tagged,
    "send-email-scoped": send_email_scoped_to_stage_identity,
    "sms-phone-only": sms_publish_to_phone_numbers_only,
    "supported-runtime": supported_runtimes,
    "layer-matches-function": layers_match_function_architecture,
    "recursion-allowed": self_enqueuing_functions_allow_recursion,
    "alarm-reaches-someone": alarm_actions_reach_someone,
    "api-never-open": api_never_open,
}


def check(resources: Iterable[RecordedResource]) -> list[Violation]:
    """Run every rule; an empty list means the stack passes."""
    items = list(resources)
    return [v for rule in RULES.values() for v in rule(items)]
