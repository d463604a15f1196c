"""Policy rules for the platform's runtime and delivery: supported runtimes, layer architecture, recursion
settings, the API never open, alarms that reach someone, SES and SMS permissions scoped (pure)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from infra.policy_model import (_iam_documents, _sms_only, ALARM, CONFIGURATION_SET, EMAIL_IDENTITY, ESM, FUNCTION, FUNCTION_URL, LAYER, MIN_PYTHON_RUNTIME, RECURSION_CONFIG, ROLE, ROLE_POLICY, RecordedResource, SEND_WORKER_HANDLER, SMS_ONLY_NOT_RESOURCE, SUBSCRIPTION, TOPIC, Violation, _DEFAULT_ARCHITECTURES, _PYTHON_RUNTIME, _as_doc, _listify, _of, _v)



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
