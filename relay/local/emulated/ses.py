"""SES (v2): email identities, configuration sets and their event destinations.

moto's SESv2 has identities and configuration sets but no event destination API; the destination is
created through SES v1's ``CreateConfigurationSetEventDestination`` (moto keeps one store for both),
which is where :mod:`relay.local.ses_events` reads it when a ``SendEmail`` names the set. An identity is
verified as it is deployed: locally there is no mailbox to click a link in, nor DNS for DKIM.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from typing import Any

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of, one, tag_list

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources

# SESv2 event types (the program's names) → SES v1's, which the v1 API stores
_V1_EVENT_TYPES = {"SEND": "send", "REJECT": "reject", "BOUNCE": "bounce", "COMPLAINT": "complaint",
                   "DELIVERY": "delivery", "OPEN": "open", "CLICK": "click", "RENDERING_FAILURE": "renderingFailure",
                   "DELIVERY_DELAY": "deliveryDelay", "SUBSCRIPTION": "subscription"}


def _mark_verified(r: EmulatedResources, identity: str) -> None:
    """Verified for sending, as it would be once its owner clicked the link or published the DNS records."""
    try:
        from moto.ses.models import ses_backends

        found = ses_backends[r.account][r.region].email_identities.get(identity)
    except Exception:  # noqa: BLE001 - an emulator in another process: moto sends from it anyway
        return
    if found is not None:
        found.verified_for_sending_status = True
        found.verification_status = "SUCCESS"


def _email_identity(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    ses = r.client("sesv2")
    identity = i["emailIdentity"]
    kw: dict[str, Any] = {"EmailIdentity": identity}
    if i.get("tags"):
        kw["Tags"] = tag_list(i["tags"])
    if i.get("configurationSetName"):
        kw["ConfigurationSetName"] = i["configurationSetName"]
    try:
        ses.create_email_identity(**kw)
    except ClientError as err:
        if code_of(err) != "AlreadyExistsException":
            raise
    _mark_verified(r, identity)
    kind = "EMAIL_ADDRESS" if "@" in identity else "DOMAIN"
    return identity, {"emailIdentity": identity, "arn": r.arn("ses", f"identity/{identity}"),
                      "identityType": kind, "verifiedForSendingStatus": True}


def _configuration_set(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    ses = r.client("sesv2")
    cs = i.get("configurationSetName") or name
    kw: dict[str, Any] = {"ConfigurationSetName": cs}
    if i.get("tags"):
        kw["Tags"] = tag_list(i["tags"])
    delivery = one(i.get("deliveryOptions"))
    if delivery.get("tlsPolicy"):
        kw["DeliveryOptions"] = {"TlsPolicy": delivery["tlsPolicy"]}
    suppression = one(i.get("suppressionOptions"))
    if suppression.get("suppressedReasons"):
        kw["SuppressionOptions"] = {"SuppressedReasons": list(suppression["suppressedReasons"])}
    try:
        ses.create_configuration_set(**kw)
    except ClientError as err:
        if code_of(err) not in ("AlreadyExistsException", "ConfigurationSetAlreadyExists"):
            raise
    return cs, {"configurationSetName": cs, "arn": r.arn("ses", f"configuration-set/{cs}")}


def _event_destination(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    cs, dname = i["configurationSetName"], i["eventDestinationName"]
    dest = one(i.get("eventDestination"))
    v1: dict[str, Any] = {"Name": dname, "Enabled": bool(dest.get("enabled", False)),
                          "MatchingEventTypes": [_V1_EVENT_TYPES.get(t, t) for t in dest.get("matchingEventTypes") or []]}
    sns = one(dest.get("snsDestination"))
    if sns.get("topicArn"):
        v1["SNSDestination"] = {"TopicARN": sns["topicArn"]}
    try:
        r.client("ses").create_configuration_set_event_destination(ConfigurationSetName=cs, EventDestination=v1)
    except ClientError as err:
        # deployed before under the same names (a restart): the stored destination is the same one
        if code_of(err) != "EventDestinationAlreadyExists":
            raise
    rid = f"{cs}|{dname}"
    return rid, {"configurationSetName": cs, "eventDestinationName": dname}


HANDLERS = {
    "aws:sesv2/emailIdentity:EmailIdentity": _email_identity,
    "aws:sesv2/configurationSet:ConfigurationSet": _configuration_set,
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": _event_destination,
}
