"""SNS topics, their policies and subscriptions, CloudWatch alarms, SSM parameters."""
from __future__ import annotations

from typing import TYPE_CHECKING

import json
from typing import Any

from relay.local.emulated.base import Outputs, tag_list

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


def _topic(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    tname = i.get("name") or name
    arn = r.client("sns").create_topic(Name=tname, Tags=tag_list(i.get("tags")))["TopicArn"]
    return arn, {"name": tname, "arn": arn}


def _subscription(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    sns = r.client("sns")
    for sub in sns.list_subscriptions_by_topic(TopicArn=i["topic"]).get("Subscriptions", []):
        if sub["Protocol"] == i["protocol"] and sub["Endpoint"] == i["endpoint"]:
            return sub["SubscriptionArn"], {"arn": sub["SubscriptionArn"]}
    arn = sns.subscribe(TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"],
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}


def _topic_policy(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    policy = i["policy"] if isinstance(i["policy"], str) else json.dumps(i["policy"])
    r.client("sns").set_topic_attributes(TopicArn=i["arn"], AttributeName="Policy", AttributeValue=policy)
    return i["arn"], {"arn": i["arn"], "policy": policy}


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
        "Tags": tag_list(i.get("tags")),
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
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=pname, Tags=tag_list(i["tags"]))
    return pname, {"name": pname, "arn": r.arn("ssm", f"parameter{pname if pname.startswith('/') else '/' + pname}"),
                   "version": version}


HANDLERS = {
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:ssm/parameter:Parameter": _parameter,
}
