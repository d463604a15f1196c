"""Policy suite: pure rules over the resources a stack registers (type, inputs, outputs).

The records use Pulumi's wire names (camelCase), as a mock monitor or a CrossGuard policy pack sees
them. Each rule returns :class:`Violation`s; :func:`check` runs them all. Nothing here talks to AWS.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

__all__ = ["RecordedResource", "Violation", "RULES", "check", "TAGGABLE_TYPES", "UNSCOPABLE_ACTIONS",
           "MIN_PYTHON_RUNTIME"]

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LAYER = "aws:lambda/layerVersion:LayerVersion"
RECURSION_CONFIG = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EMAIL_IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"
# sns:Publish allowed on everything but SNS ARNs: phone numbers (SMS) only, never a topic or an endpoint
SMS_ONLY_NOT_RESOURCE = "arn:aws:sns:*:*:*"
SEND_WORKER_HANDLER = "functions.send_worker.handler.lambda_handler"
IAM_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy"}
TAGGABLE_TYPES = {BUCKET, QUEUE, TABLE, FUNCTION, ESM, LOG_GROUP, "aws:iam/role:Role", "aws:sns/topic:Topic",
                  "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:ssm/parameter:Parameter",
                  "aws:sesv2/emailIdentity:EmailIdentity", "aws:sesv2/configurationSet:ConfigurationSet"}
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
# Actions AWS does not authorise per resource: "*" is the only Resource they accept.
UNSCOPABLE_ACTIONS = {"cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                      "sqs:ListQueues", "s3:ListAllMyBuckets", "logs:DescribeLogGroups"}
# The oldest Python runtime relay deploys: python3.13 runs on Amazon Linux 2023 and is the Python the
# project is tested with; python3.11 and older sit on Amazon Linux 2, which AWS has deprecated (creating,
# then updating, functions on a deprecated runtime is blocked).
MIN_PYTHON_RUNTIME = (3, 13)
_PYTHON_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")
# Lambda's default when a function names no architecture.
_DEFAULT_ARCHITECTURES = ["x86_64"]


@dataclass(frozen=True)
class RecordedResource:
    """One registered resource: its Pulumi type token, logical name, inputs and (resolved) outputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """An input, falling back to the output of the same name."""
        if key in self.inputs:
            return self.inputs[key]
        return self.outputs.get(key, default)


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str            # "<type> <logical name>"
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


Rule = Callable[[list[RecordedResource]], Iterable[Violation]]


def _of(resources: list[RecordedResource], typ: str) -> list[RecordedResource]:
    return [r for r in resources if r.type == typ]


def _v(rule: str, r: RecordedResource, message: str) -> Violation:
    return Violation(rule, f"{r.type} {r.name}", message)


def _bucket_refs(b: RecordedResource) -> set[str]:
    return {x for x in (b.outputs.get("bucket"), b.outputs.get("id"), b.inputs.get("bucket")) if x}


def _as_doc(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


def _listify(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


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


def _iam_documents(resources: list[RecordedResource]) -> Iterable[tuple[RecordedResource, dict[str, Any]]]:
    for r in resources:
        if r.type in IAM_POLICY_TYPES:
            yield r, _as_doc(r.inputs.get("policy"))


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


def _sms_only(st: Mapping[str, Any]) -> bool:
    """``sns:Publish`` alone, on ``NotResource`` every SNS ARN: the narrowest grant IAM has for SMS."""
    return (set(map(str, _listify(st.get("Action", [])))) == {"sns:Publish"} and "Resource" not in st
            and _listify(st.get("NotResource")) == [SMS_ONLY_NOT_RESOURCE])


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


def _runtime_supported(runtime: Any) -> bool:
    match = _PYTHON_RUNTIME.match(str(runtime or ""))
    return match is not None and (int(match.group(1)), int(match.group(2))) >= MIN_PYTHON_RUNTIME


def supported_runtimes(resources: list[RecordedResource]) -> Iterable[Violation]:
    """Every function runs, and every layer is published for, python3.13 or newer (never a deprecated runtime)."""
    minimum = "python{}.{}".format(*MIN_PYTHON_RUNTIME)
    for f in _of(resources, FUNCTION):
        if not _runtime_supported(f.inputs.get("runtime")):
            yield _v("supported-runtime", f, f"runtime {f.inputs.get('runtime')!r} is not {minimum} or newer")
    for layer in _of(resources, LAYER):
        runtimes = list(layer.inputs.get("compatibleRuntimes") or [])
        old = [r for r in runtimes if not _runtime_supported(r)]
        if not runtimes:
            yield _v("supported-runtime", layer, f"names no compatible runtime ({minimum} or newer)")
        elif old:
            yield _v("supported-runtime", layer, f"compatible runtimes include {old}, older than {minimum}")


def layers_match_function_architecture(resources: list[RecordedResource]) -> Iterable[Violation]:
    """A function only uses layers built for its architecture (compiled wheels load on one CPU only)."""
    layers = {layer.outputs.get("arn"): layer for layer in _of(resources, LAYER)}
    for f in _of(resources, FUNCTION):
        architectures = list(f.inputs.get("architectures") or _DEFAULT_ARCHITECTURES)
        for arn in f.inputs.get("layers") or []:
            layer = layers.get(arn)
            if layer is None:
                continue  # a layer of another stack or a public one: its metadata is not here to check
            compatible = list(layer.inputs.get("compatibleArchitectures") or [])
            if not set(architectures) <= set(compatible):
                yield _v("layer-matches-function", f,
                         f"runs on {architectures} but layer {layer.inputs.get('layerName')} is built for {compatible}")


def _role_statements(resources: list[RecordedResource], role_arn: Any) -> list[dict[str, Any]]:
    roles = [r for r in _of(resources, ROLE) if r.outputs.get("arn") == role_arn]
    refs = {x for r in roles for x in (r.outputs.get("name"), r.inputs.get("name"), r.outputs.get("id")) if x}
    return [st for p in _of(resources, ROLE_POLICY) if p.inputs.get("role") in refs
            for st in _as_doc(p.inputs.get("policy")).get("Statement", []) if st.get("Effect") == "Allow"]


def _may_send_to(statements: list[dict[str, Any]], queue_arn: str) -> bool:
    sends = {"sqs:SendMessage", "sqs:SendMessageBatch", "sqs:*", "*"}
    return any(set(map(str, _listify(st.get("Action", [])))) & sends
               and ({queue_arn, "*"} & set(map(str, _listify(st.get("Resource", [])))))
               for st in statements)


def self_enqueuing_functions_allow_recursion(resources: list[RecordedResource]) -> Iterable[Violation]:
    """A function that may send to the queue that invokes it has ``recursiveLoop = Allow``.

    Lambda stops such a loop after about 16 invocations by default (``Terminate``); for relay's job
    worker the loop is the design (next step, delay hops), so the setting must say so.
    """
    functions = {f.inputs.get("name") or f.outputs.get("name"): f for f in _of(resources, FUNCTION)}
    allowed = {c.inputs.get("functionName") for c in _of(resources, RECURSION_CONFIG)
               if c.inputs.get("recursiveLoop") == "Allow"}
    for m in _of(resources, ESM):
        source = str(m.inputs.get("eventSourceArn", ""))
        fn = functions.get(m.inputs.get("functionName"))
        if ":sqs:" not in source or fn is None:
            continue
        name = fn.inputs.get("name") or fn.outputs.get("name")
        if _may_send_to(_role_statements(resources, fn.inputs.get("role")), source) and not (
                {name, fn.outputs.get("arn")} & allowed):
            yield _v("recursion-allowed", fn,
                     f"sends to {source.rsplit(':', 1)[-1]}, which invokes it, without a FunctionRecursionConfig "
                     "recursiveLoop=Allow: Lambda stops the chain after ~16 invocations")


def _function_env(fn: RecordedResource) -> Mapping[str, Any]:
    env = fn.inputs.get("environment") or {}
    if isinstance(env, list):  # pulumi-aws nests single blocks as a dict or a one-element list
        env = env[0] if env else {}
    return env.get("variables") or {}


def api_never_open(resources: list[RecordedResource]) -> Iterable[Violation]:
    """A Function URL is ``AWS_IAM``, or ``NONE`` only in front of a function that enforces API keys.

    "Enforces keys" is the function's ``API_AUTH=keys``: the api function then refuses every request
    without a valid key (401) or without the route's scope (403).
    """
    functions: dict[Any, RecordedResource] = {}
    for f in _of(resources, FUNCTION):
        for ref in (f.inputs.get("name"), f.outputs.get("name"), f.outputs.get("arn")):
            if ref:
                functions[ref] = f
    for url in _of(resources, FUNCTION_URL):
        auth, target = str(url.inputs.get("authorizationType")), url.inputs.get("functionName")
        if auth == "AWS_IAM":
            continue
        if auth != "NONE":
            yield _v("api-never-open", url, f"authorization type {auth!r} is neither AWS_IAM nor NONE")
            continue
        fn = functions.get(target)
        if fn is None or _function_env(fn).get("API_AUTH") != "keys":
            yield _v("api-never-open", url, f"opens {target} to anyone (AuthType NONE) but the function does not "
                     "enforce API keys (API_AUTH=keys): use AWS_IAM, or check keys in the function")


def alarm_actions_reach_someone(resources: list[RecordedResource]) -> Iterable[Violation]:
    """An alarm with actions on notifies a topic someone subscribes to (or a target managed elsewhere)."""
    topics = {t.outputs.get("arn"): t for t in _of(resources, TOPIC)}
    subscribed = {s.inputs.get("topic") or s.inputs.get("topicArn") for s in _of(resources, SUBSCRIPTION)}
    for alarm in _of(resources, ALARM):
        if alarm.inputs.get("actionsEnabled") is False:
            continue
        targets = list(alarm.inputs.get("alarmActions") or [])
        # a target this stack did not create (an existing pager topic) has its subscribers elsewhere
        reached = [t for t in targets if t not in topics or t in subscribed]
        if not targets:
            yield _v("alarm-reaches-someone", alarm, "actions are on but it has no alarm action")
        elif not reached:
            silent = ", ".join(str(topics[t].inputs.get("name")) for t in targets)
            yield _v("alarm-reaches-someone", alarm, f"actions are on but nothing subscribes to {silent}")


def _allows(st: Mapping[str, Any], *actions: str) -> bool:
    # named actions only: "*" and "<service>:*" are no-wildcard-action's to report
    granted = set(map(str, _listify(st.get("Action", []))))
    return st.get("Effect") == "Allow" and bool(granted & set(actions))


def _send_worker_roles(resources: list[RecordedResource]) -> set[Any]:
    return {f.inputs.get("role") for f in _of(resources, FUNCTION) if f.inputs.get("handler") == SEND_WORKER_HANDLER}


def send_email_scoped_to_stage_identity(resources: list[RecordedResource]) -> Iterable[Violation]:
    """``ses:SendEmail`` only from this stack's identity (and configuration set), with a From-address condition.

    SESv2 authorises a send against the identity and the configuration set it names, so those ARNs —
    and nothing broader — are the statement's resources; ``ses:FromAddress`` pins the sender.
    """
    identities = {i.outputs.get("arn") for i in _of(resources, EMAIL_IDENTITY)} - {None}
    sets = {c.outputs.get("arn") for c in _of(resources, CONFIGURATION_SET)} - {None}
    for r, doc in _iam_documents(resources):
        for st in doc.get("Statement", []):
            if not _allows(st, "ses:SendEmail", "ses:SendRawEmail"):
                continue
            where = f"statement {st.get('Sid', '?')}"
            targets = [str(x) for x in _listify(st.get("Resource", []))]
            if "NotResource" in st or not targets:
                yield _v("send-email-scoped", r, f"{where} allows ses:SendEmail without naming an identity")
                continue
            foreign = [t for t in targets if t not in identities | sets]
            if foreign:
                yield _v("send-email-scoped", r, f"{where} allows ses:SendEmail on {', '.join(foreign)}, "
                         "not this stage's SES identity or configuration set")
            elif not set(targets) & identities:
                yield _v("send-email-scoped", r, f"{where} allows ses:SendEmail without naming the stage's identity")
            if not ((st.get("Condition") or {}).get("StringEquals") or {}).get("ses:FromAddress"):
                yield _v("send-email-scoped", r, f"{where} allows ses:SendEmail from any address (no ses:FromAddress)")


def sms_publish_to_phone_numbers_only(resources: list[RecordedResource]) -> Iterable[Violation]:
    """``sns:Publish`` never on every topic; the send worker's only on phone numbers (no topic ARN at all)."""
    send_roles = _send_worker_roles(resources)
    role_arns = {r.outputs.get("name"): r.outputs.get("arn") for r in _of(resources, ROLE)}
    for r, doc in _iam_documents(resources):
        is_send_worker = r.type == ROLE_POLICY and role_arns.get(r.inputs.get("role")) in send_roles
        for st in doc.get("Statement", []):
            if not _allows(st, "sns:Publish") or _sms_only(st):
                continue
            where = f"statement {st.get('Sid', '?')}"
            if "NotResource" in st:
                yield _v("sms-phone-only", r, f"{where} allows sns:Publish on NotResource "
                         f"{st['NotResource']!r}: only {SMS_ONLY_NOT_RESOURCE!r} (phone numbers) is allowed")
                continue
            targets = [str(x) for x in _listify(st.get("Resource", []))]
            broad = [t for t in targets if "*" in t]
            if broad:
                yield _v("sms-phone-only", r, f"{where} allows sns:Publish on {', '.join(broad)} (every topic)")
            elif is_send_worker:
                yield _v("sms-phone-only", r, f"{where} lets the send worker publish to {', '.join(targets)}: "
                         "it sends SMS to phone numbers only, never to a topic")


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
