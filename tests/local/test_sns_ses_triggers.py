"""SNS → Lambda in the local data plane (async, AWS's event shape, the function's policy), and SES's events:
a ``SendEmail`` through a configuration set publishes what SES would, with the send's tags, to its topic."""
from __future__ import annotations

import json
import time

from relay.local.emulated import EmulatedResources
from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures

SENDER = "notifications@relay.test"


def _subscribed(aws, fn: dict, *, permitted: bool = True) -> str:
    topic = aws("sns").create_topic(Name=aws.name("events"))["TopicArn"]
    if permitted:
        aws("lambda").add_permission(FunctionName=fn["FunctionName"], StatementId="sns", Action="lambda:InvokeFunction",
                                     Principal="sns.amazonaws.com", SourceArn=topic)
    aws("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn["FunctionArn"])
    return topic


def _plane(aws, plane_factory):
    plane = plane_factory()
    aws.emulator.on_sns_notification(plane.on_sns_notification)
    return plane.start()


def test_sns_publish_invokes_subscribed_function_with_aws_event(aws, plane_factory):
    fn = aws.function("ses-feedback")
    topic = _subscribed(aws, fn)
    _plane(aws, plane_factory)

    sent = aws("sns").publish(TopicArn=topic, Message='{"eventType": "Delivery"}', Subject="hello",
                              MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})

    event, ctx = wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))[0]
    (record,) = event["Records"]
    sns = record["Sns"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"].startswith(topic + ":")
    assert (sns["Type"], sns["MessageId"], sns["TopicArn"]) == ("Notification", sent["MessageId"], topic)
    assert (sns["Message"], sns["Subject"]) == ('{"eventType": "Delivery"}', "hello")
    assert sns["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}
    assert sns["Timestamp"].endswith("Z")
    assert ctx.function_name == fn["FunctionName"]


def test_sns_subscription_without_lambda_permission_invokes_nothing(aws, plane_factory):
    fn = aws.function("ses-feedback")
    topic = _subscribed(aws, fn, permitted=False)
    _plane(aws, plane_factory)
    aws("sns").publish(TopicArn=topic, Message="{}")
    # a second, permitted subscriber proves delivery ran; the unpermitted one got nothing
    other = aws.function("other")
    topic2 = _subscribed(aws, other)
    aws("sns").publish(TopicArn=topic2, Message="{}")
    wait_for(lambda: recorder.CALLS.get(other["FunctionName"]))
    time.sleep(0.3)  # an invoke queued by the first publish would have run by now
    assert recorder.CALLS.get(fn["FunctionName"]) is None


def test_sns_invoked_function_failing_retried_twice_then_async_dlq(aws, plane_factory):
    fn = aws.function("ses-feedback")
    dlq_url, dlq_arn = aws.queue("async-dlq")
    aws("lambda").put_function_event_invoke_config(
        FunctionName=fn["FunctionName"], MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    topic = _subscribed(aws, fn)

    def boom(event, ctx):
        raise RuntimeError("throttled")

    recorder.BEHAVIOUR[fn["FunctionName"]] = boom
    _plane(aws, plane_factory)
    aws("sns").publish(TopicArn=topic, Message='{"x": 1}')

    [msg] = aws.drain(dlq_url, 1)
    record = json.loads(msg["Body"])
    assert len(recorder.CALLS[fn["FunctionName"]]) == 3
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == '{"x": 1}'


def _ses_stage(aws, fn: dict, matching: list[str]) -> tuple[str, str]:
    """Identity, configuration set and event destination, as the local deploy creates them."""
    resources = EmulatedResources(aws.endpoint_url, "us-east-1", "http://127.0.0.1:1")
    topic = _subscribed(aws, fn)
    cs = aws.name("email")
    resources.create("aws:sesv2/emailIdentity:EmailIdentity", "identity", {"emailIdentity": SENDER})
    resources.create("aws:sesv2/configurationSet:ConfigurationSet", "cs", {"configurationSetName": cs})
    resources.create("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination", "dest", {
        "configurationSetName": cs, "eventDestinationName": aws.name("feedback"),
        "eventDestination": {"enabled": True, "matchingEventTypes": matching, "snsDestination": {"topicArn": topic}}})
    return cs, topic


def _send(aws, cs: str, to: str, message_id: str) -> str:
    return aws("sesv2").send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": [to]}, ConfigurationSetName=cs,
        EmailTags=[{"Name": "relay_message_id", "Value": message_id}],
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}})["MessageId"]


def _ses_events(fn: dict, count: int) -> list[dict]:
    calls = wait_for(lambda: len(recorder.CALLS.get(fn["FunctionName"], [])) >= count and recorder.CALLS[fn["FunctionName"]])
    return [json.loads(event["Records"][0]["Sns"]["Message"]) for event, _ in calls]


def test_ses_send_to_simulator_publishes_the_events_ses_would_with_tags(aws, plane_factory):
    fn = aws.function("ses-feedback")
    cs, _ = _ses_stage(aws, fn, ["DELIVERY", "BOUNCE", "COMPLAINT", "REJECT", "RENDERING_FAILURE"])
    _plane(aws, plane_factory)
    assert aws("sesv2").get_email_identity(EmailIdentity=SENDER)["VerifiedForSendingStatus"] is True

    bounce_id = _send(aws, cs, "bounce@simulator.amazonses.com", "msg_b")
    complaint_id = _send(aws, cs, "complaint+label@simulator.amazonses.com", "msg_c")
    _send(aws, cs, "ada@example.com", "msg_s")

    events = _ses_events(fn, 4)
    by = [(e["eventType"], e["mail"]["tags"]["relay_message_id"][0]) for e in events]
    assert sorted(by) == sorted([("Bounce", "msg_b"), ("Delivery", "msg_c"), ("Complaint", "msg_c"),
                                 ("Delivery", "msg_s")])
    bounce = next(e for e in events if e["eventType"] == "Bounce")
    assert bounce["mail"]["messageId"] == bounce_id and bounce["mail"]["source"] == SENDER
    assert bounce["mail"]["tags"]["ses:configuration-set"] == [cs]
    assert bounce["bounce"]["bounceType"] == "Permanent"
    assert bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] == "bounce@simulator.amazonses.com"
    complaint = next(e for e in events if e["eventType"] == "Complaint")
    assert complaint["mail"]["messageId"] == complaint_id
    assert complaint["complaint"]["complainedRecipients"] == [{"emailAddress": "complaint+label@simulator.amazonses.com"}]
    assert aws("ses").get_send_quota()["SentLast24Hours"] == 3


def test_ses_destination_publishes_only_its_matching_event_types(aws, plane_factory):
    fn = aws.function("ses-feedback")
    cs, _ = _ses_stage(aws, fn, ["BOUNCE"])
    _plane(aws, plane_factory)
    _send(aws, cs, "success@simulator.amazonses.com", "msg_s")
    _send(aws, cs, "bounce@simulator.amazonses.com", "msg_b")
    (event,) = _ses_events(fn, 1)
    assert (event["eventType"], event["mail"]["tags"]["relay_message_id"]) == ("Bounce", ["msg_b"])
    # a send without a configuration set publishes nothing; the next one through the set does
    aws("sesv2").send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["bounce@simulator.amazonses.com"]},
                            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}})
    _send(aws, cs, "bounce@simulator.amazonses.com", "msg_b2")
    events = _ses_events(fn, 2)
    time.sleep(0.3)  # an invoke queued by the send without a set would have run by now
    assert sorted(e["mail"]["tags"]["relay_message_id"][0] for e in events) == ["msg_b", "msg_b2"]
    assert len(recorder.CALLS[fn["FunctionName"]]) == 2
