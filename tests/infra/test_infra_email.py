"""Stages that deliver email through SES and SMS through SNS, under Pulumi's mocks: the feedback path exists on
each, the send worker's grants are scoped to the stage's identity and to phone numbers, and a stage that names
``ses`` without ``emailFrom`` is refused before any resource is created."""
from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
import pytest

from infra.config import PROJECT_ROOT, ConfigError, load_stage_config
from infra.policy_suite import RecordedResource, check
from tests.infra.infra_stacks import PROD_RECIPIENT, STAGES, BuiltStack, build_stage, run_program
from tests.infra.recording_mocks import RecordingMocks

DELIVERY = {"relay:providers": json.dumps({"email": "ses", "sms": "sns"}),
            "relay:emailFrom": "Acme <notifications@acme.io>", "relay:emailReplyTo": '["support@acme.io"]',
            "relay:smsSenderId": "ACME"}
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
CONFIG_SET = "aws:sesv2/configurationSet:ConfigurationSet"
DESTINATION = "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"


@pytest.fixture(scope="module")
def ses_stacks() -> dict[str, BuiltStack]:
    """dev, prod and local with email through SES and SMS through SNS."""
    return {stage: build_stage(load_stage_config(stage, overrides={**DELIVERY, **(
        PROD_RECIPIENT if stage == "prod" else {})})) for stage in STAGES}


@pytest.fixture(params=STAGES)
def ses_stack(request, ses_stacks) -> BuiltStack:
    return ses_stacks[request.param]


def _one(stack: BuiltStack, typ: str) -> RecordedResource:
    found = stack.of(typ)
    assert len(found) == 1, f"expected one {typ}, found {len(found)}"
    return found[0]


def test_ses_stage_has_identity_configuration_set_destination_topic_subscription_and_permission(
        ses_stack: BuiltStack) -> None:
    cfg = ses_stack.cfg
    identity = _one(ses_stack, IDENTITY)
    assert identity.inputs["emailIdentity"] == "notifications@acme.io"
    config_set = _one(ses_stack, CONFIG_SET)
    assert config_set.inputs["configurationSetName"] == cfg.name("email")
    assert config_set.inputs["deliveryOptions"]["tlsPolicy"] == "REQUIRE"
    topic = ses_stack.named(TOPIC, cfg.name("email-events"))
    destination = _one(ses_stack, DESTINATION).inputs
    assert destination["configurationSetName"] == cfg.name("email")
    assert destination["eventDestination"]["enabled"] is True
    assert sorted(destination["eventDestination"]["matchingEventTypes"]) == [
        "BOUNCE", "COMPLAINT", "DELIVERY", "REJECT", "RENDERING_FAILURE"]
    assert destination["eventDestination"]["snsDestination"]["topicArn"] == topic.outputs["arn"]
    # SES may publish to the topic for this configuration set only
    policy = json.loads(_one(ses_stack, TOPIC_POLICY).inputs["policy"])
    (st,) = policy["Statement"]
    assert (st["Principal"], st["Action"], st["Resource"]) == (
        {"Service": "ses.amazonaws.com"}, "sns:Publish", topic.outputs["arn"])
    assert st["Condition"]["ArnLike"]["aws:SourceArn"] == config_set.outputs["arn"]
    # the feedback function is subscribed, may be invoked by SNS from that topic only, and is async-safe
    feedback = ses_stack.named(FUNCTION, cfg.name("ses-feedback"))
    assert feedback.inputs["handler"] == "functions.ses_feedback.handler.lambda_handler"
    (sub,) = [s.inputs for s in ses_stack.of(SUBSCRIPTION) if s.inputs["protocol"] == "lambda"]
    assert (sub["topic"], sub["endpoint"]) == (topic.outputs["arn"], feedback.outputs["arn"])
    (perm,) = [p.inputs for p in ses_stack.of(PERMISSION) if p.inputs["principal"] == "sns.amazonaws.com"]
    assert (perm["function"], perm["sourceArn"], perm["action"]) == (
        cfg.name("ses-feedback"), topic.outputs["arn"], "lambda:InvokeFunction")
    (invoke,) = [c.inputs for c in ses_stack.of(INVOKE_CONFIG) if c.inputs["functionName"] == cfg.name("ses-feedback")]
    assert invoke["maximumRetryAttempts"] == 2
    assert invoke["destinationConfig"]["onFailure"]["destination"] == ses_stack.outputs["async_dlq_arn"]
    alarms = {a.inputs["name"] for a in ses_stack.of("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert cfg.name("ses-feedback-errors") in alarms


def test_ses_stage_functions_carry_the_delivery_settings(ses_stack: BuiltStack) -> None:
    cfg = ses_stack.cfg
    env = ses_stack.named(FUNCTION, cfg.name("send-worker")).inputs["environment"]["variables"]
    assert json.loads(env["PROVIDERS"]) == {"email": "ses", "sms": "sns"}
    assert (env["EMAIL_FROM"], env["EMAIL_CONFIGURATION_SET"], env["EMAIL_REPLY_TO"]) == (
        "Acme <notifications@acme.io>", cfg.name("email"), "support@acme.io")
    assert (env["SMS_SENDER_ID"], env["SMS_TYPE"], env["SMTP_STARTTLS"]) == ("ACME", "Transactional", "true")
    feedback_env = ses_stack.named(FUNCTION, cfg.name("ses-feedback")).inputs["environment"]["variables"]
    assert feedback_env["MESSAGE_TABLE"] == ses_stack.outputs["message_table"]
    assert feedback_env["STATE_TABLE"] == ses_stack.outputs["state_table"]


def test_ses_stage_send_worker_sends_only_from_identity_and_sms_only_to_phone_numbers(ses_stack: BuiltStack) -> None:
    cfg = ses_stack.cfg
    identity = _one(ses_stack, IDENTITY).outputs["arn"]
    config_set = _one(ses_stack, CONFIG_SET).outputs["arn"]
    send = {st["Sid"]: st for st in ses_stack.policy_of("send-worker")["Statement"]}
    email = send["SendEmailFromStageIdentity"]
    assert (email["Action"], sorted(email["Resource"])) == ("ses:SendEmail", sorted([identity, config_set]))
    assert email["Condition"] == {"StringEquals": {"ses:FromAddress": "notifications@acme.io"}}
    sms = send["PublishSmsToPhoneNumbersOnly"]
    assert (sms["Action"], sms["NotResource"]) == ("sns:Publish", "arn:aws:sns:*:*:*") and "Resource" not in sms
    # no other function may send email or publish SMS
    for fn in ("api", "request-worker", "job-worker", "log-indexer", "ses-feedback"):
        actions = {a for st in ses_stack.policy_of(fn)["Statement"] for a in
                   (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
        assert not actions & {"ses:SendEmail", "sns:Publish"}, fn
    feedback = {st["Sid"]: st for st in ses_stack.policy_of("ses-feedback")["Statement"]}
    assert feedback["SuppressionList"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SUPPRESSION#*"]}}
    assert cfg.name("state") in feedback["SuppressionList"]["Resource"][0]


def test_ses_stage_policy_suite_finds_zero_violations(ses_stack: BuiltStack) -> None:
    violations = check(ses_stack.resources)
    assert violations == [], "\n".join(map(str, violations))


def test_stage_without_ses_has_no_email_resources(stacks: dict[str, BuiltStack]) -> None:
    for stack in stacks.values():
        types = {r.type for r in stack.resources}
        assert not types & {IDENTITY, CONFIG_SET, DESTINATION, TOPIC_POLICY}
        assert not [f for f in stack.of(FUNCTION) if f.inputs["name"].endswith("-ses-feedback")]


def _edit_statement(stack: BuiltStack, function: str, sid: str, edit) -> list[RecordedResource]:
    role = stack.cfg.name(function)
    out = []
    for r in stack.resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy" and r.inputs["role"] == role:
            doc = json.loads(r.inputs["policy"])
            for st in doc["Statement"]:
                if st.get("Sid") == sid:
                    edit(st)
            r = RecordedResource(r.type, r.name, {**r.inputs, "policy": json.dumps(doc)}, r.outputs)
        out.append(r)
    return out


@pytest.mark.parametrize(("sid", "edit", "rule", "message"), [
    ("SendEmailFromStageIdentity", lambda st: st.update(Resource=["arn:aws:ses:us-east-1:123456789012:identity/*"]),
     "send-email-scoped", "not this stage's SES identity"),
    ("SendEmailFromStageIdentity", lambda st: st.pop("Condition"), "send-email-scoped", "no ses:FromAddress"),
    ("SendEmailFromStageIdentity", lambda st: st.update(
        Resource=[r for r in st["Resource"] if ":configuration-set/" in r]),
     "send-email-scoped", "without naming the stage's identity"),
    ("PublishSmsToPhoneNumbersOnly", lambda st: st.update(NotResource="arn:aws:sns:us-east-1:123456789012:relay-*"),
     "sms-phone-only", "only 'arn:aws:sns:*:*:*' (phone numbers)"),
])
def test_planted_scope_violation_on_a_ses_stage_is_reported(ses_stacks: dict[str, BuiltStack], sid: str, edit,
                                                             rule: str, message: str) -> None:
    planted = _edit_statement(ses_stacks["dev"], "send-worker", sid, edit)
    violations = [v for v in check(planted) if v.rule == rule]
    assert len(violations) == 1 and message in violations[0].message, "\n".join(map(str, check(planted)))


def test_feedback_function_without_on_failure_destination_is_reported(ses_stacks: dict[str, BuiltStack]) -> None:
    stack = ses_stacks["dev"]
    kept = [r for r in stack.resources if not (r.type == INVOKE_CONFIG
                                               and r.inputs["functionName"] == stack.cfg.name("ses-feedback"))]
    violations = check(kept)
    assert [v.rule for v in violations] == ["async-on-failure"]
    assert "relay-dev-ses-feedback is invoked by SNS" in violations[0].message


def test_ses_without_email_from_refused_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a stack config that names ses for email but no From address
    config = {**load_stage_config("dev").as_pulumi_values(), "relay:providers": '{"email": "ses"}'}
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda key, value: exported.__setitem__(key, value))
    mocks = RecordingMocks()

    def program() -> dict[str, Any]:
        runpy.run_path(str(PROJECT_ROOT / "infra" / "__main__.py"), run_name="__main__")
        return exported

    # WHEN the pulumi CLI runs the program THEN it stops naming the key, before any resource or lookup
    with pytest.raises(ConfigError) as err:
        run_program("dev", program, config=config, mocks=mocks)
    assert str(err.value).startswith("relay:emailFrom is not set: relay:providers.email = 'ses' needs")
    assert mocks.resources == [] and mocks.calls == []


def test_smtp_password_grant_names_the_one_parameter() -> None:
    cfg = load_stage_config("dev", overrides={
        "relay:providers": '{"email": "smtp"}', "relay:smtpHost": "email-smtp.us-east-1.amazonaws.com",
        "relay:smtpPort": "587", "relay:smtpUsername": "relay", "relay:smtpPasswordParameter": "/relay/dev/smtp"})
    stack = build_stage(cfg)
    send = {st["Sid"]: st for st in stack.policy_of("send-worker")["Statement"]}
    assert send["ReadSmtpPassword"] == {
        "Sid": "ReadSmtpPassword", "Effect": "Allow", "Action": "ssm:GetParameter",
        "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/relay/dev/smtp"}
    env = stack.named(FUNCTION, cfg.name("send-worker")).inputs["environment"]["variables"]
    assert (env["SMTP_USERNAME"], env["SMTP_PASSWORD_PARAMETER"]) == ("relay", "/relay/dev/smtp")
    assert check(stack.resources) == []


def test_ses_stage_every_resource_type_has_an_emulator_mapping(ses_stacks: dict[str, BuiltStack]) -> None:
    from relay.local.emulated import _handlers

    types = {r.type for r in ses_stacks["local"].resources if not r.type.startswith("relay:components:")}
    # moto has no recursion API: the emulator passes it through unmapped (as for every stage)
    unmapped = types - set(_handlers()) - {"aws:lambda/functionRecursionConfig:FunctionRecursionConfig"}
    assert unmapped == set()
    assert {IDENTITY, CONFIG_SET, DESTINATION, TOPIC_POLICY} <= types
