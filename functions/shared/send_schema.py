"""The ``POST /send`` body, validated with pydantic: Courier's message, and relay's older forms.

Used by the API and by the job worker's ``send`` step, so both accept exactly the same messages.
pydantic is heavy to import: handlers import this module only on the paths that validate.

Shape (docs/courier.md says what relay does with each field)::

    {"message": {
        "to": {"user_id"?, "email"?, "phone_number"?, "webhook_url"?, "data"?, ...} | [ ...1..100 ],  # stored as a list
        "template": "<name>"  |  "content": {"title"?, "body"} | {"version", "elements": [...]},
        "data": {...},
        "routing": {"method": "all" | "single", "channels": [...]},
        "channels": {"email": {"override"?, "routing_method"?, "providers"?, ...}}   # Courier's settings
                  | ["email", ...],                                               # relay's: routing {method: all}
        "providers", "metadata": {"tags", "trace_id", "event", "utm"}, "brand_id", "context", "preferences",
        "timeout", "expiry": {"expires_in" | "expires_at"}, "delay": {"duration" | "until"}}}

Refusals are 422s with type ``unsupported`` and say why: lists, audiences and tenants as recipients (relay
does not support them yet), a channel's or provider's ``if`` (relay does not evaluate it, and ignoring it would
change who is reached), nested routing. Fields Courier documents that relay ignores harmlessly are accepted and
named in the response's ``warnings`` (:mod:`functions.shared.send_warnings`).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from functions.shared.channels import CHANNELS

__all__ = ["Recipient", "Content", "Routing", "ChannelSettings", "Metadata", "SendMessage", "SendRequest",
           "MAX_RECIPIENTS", "unsupported"]

MAX_RECIPIENTS = 100
_Name = Annotated[str, Field(min_length=1, max_length=200)]
_Channel = Annotated[str, Field(min_length=1, max_length=50)]
_Short = Annotated[str, Field(max_length=500)]


def unsupported(message: str) -> PydanticCustomError:
    """A 422 entry of type ``unsupported``: valid for Courier, refused by relay with the reason."""
    return PydanticCustomError("unsupported", message)


def _check_channel(v: str) -> str:
    if v not in CHANNELS:
        raise ValueError(f"unknown channel {v!r} (known: {', '.join(sorted(CHANNELS))})")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_AUDIENCE_FIELDS = {
    "list_id": "lists", "list_pattern": "lists", "audience_id": "audiences", "filters": "lists and audiences",
}
_CHAT_FIELDS = ("slack", "ms_teams", "pagerduty", "discord")


class Recipient(BaseModel):
    """One recipient: a user id and/or addresses; ``data`` is merged over the message's data for it.

    Other fields are kept (they reach templates as ``recipient``).
    """

    model_config = ConfigDict(extra="allow")

    user_id: _Name | None = None
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone_number: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()\-.]{3,32}$")] | None = None
    webhook_url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")] | None = None
    data: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _courier_forms(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        for name, what in _AUDIENCE_FIELDS.items():
            if v.get(name) is not None:
                raise unsupported(f"{name}: relay does not support sending to {what} yet; address each "
                                  "recipient by user_id, email or phone_number")
        for name in _CHAT_FIELDS:
            if v.get(name) is not None:
                raise unsupported(f"{name}: relay has no {name} channel (channels: {', '.join(sorted(CHANNELS))})")
        addressed = any(v.get(k) for k in ("user_id", "email", "phone_number", "webhook_url", "webhook"))
        if v.get("tenant_id") is not None and not addressed:
            raise unsupported("tenant_id: relay does not support sending to a tenant's members yet; "
                              "address each recipient by user_id, email or phone_number")
        hook = v.get("webhook")
        if isinstance(hook, dict) and "webhook_url" not in v:  # Courier's webhook recipient
            v = {k: val for k, val in v.items() if k != "webhook"}
            v["webhook_url"] = hook.get("url")
        return v

    @model_validator(mode="after")
    def _addressable(self) -> "Recipient":
        if not any((self.user_id, self.email, self.phone_number, self.webhook_url)):
            raise ValueError("a recipient needs at least one of user_id, email, phone_number, webhook_url")
        return self


class Content(_Strict):
    """Inline content: Jinja2 (or Courier's ``{variable}``) templates for the title and body."""

    title: Annotated[str, Field(max_length=1_000)] = ""
    body: Annotated[str, Field(min_length=1, max_length=100_000)]


def _content(v: Any) -> Any:
    from functions.shared.elemental import check_elemental, is_elemental

    if is_elemental(v):
        errors = check_elemental(v)
        if errors:
            raise ValueError("; ".join(errors[:20]))
        return v
    return Content.model_validate(v)


class Routing(_Strict):
    """``all``: every channel; ``single``: the first channel that works, failing over in order."""

    method: Literal["all", "single"] = "all"
    channels: list[Any] = Field(min_length=1, max_length=10)

    @field_validator("channels")
    @classmethod
    def _flat_known(cls, v: list[Any]) -> list[str]:
        for c in v:
            if isinstance(c, dict):
                raise unsupported("nested routing rules are not supported yet; list channel names")
            if not isinstance(c, str) or not 1 <= len(c) <= 50:
                raise ValueError("channels are channel names")
            _check_channel(c)
        return v


class Utm(_Strict):
    campaign: _Short | None = None
    content: _Short | None = None
    medium: _Short | None = None
    source: _Short | None = None
    term: _Short | None = None


class _Conditional(_Strict):
    if_: str | None = Field(default=None, alias="if")

    @field_validator("if_")
    @classmethod
    def _no_condition(cls, v: str | None) -> str | None:
        if v not in (None, ""):
            raise unsupported("relay does not evaluate channel or provider conditions; ignoring one would "
                              "change who is reached")
        return v


class ChannelSettings(_Conditional):
    """Courier's per-channel settings (``message.channels.<channel>``)."""

    brand_id: _Short | None = None
    metadata: dict[Literal["utm"], Utm] | None = None
    override: dict[str, Any] | None = None
    providers: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=20)
    routing_method: Literal["all", "single"] | None = None
    timeouts: dict[Literal["channel", "provider"], int] | None = None


class ProviderSettings(_Conditional):
    """Courier's per-provider settings (``message.providers.<provider>``); relay's providers are the stage's."""

    metadata: dict[Literal["utm"], Utm] | None = None
    override: dict[str, Any] | None = None
    timeouts: int | None = None


class Metadata(_Strict):
    """``tags`` and ``trace_id`` are stored on the message (``GET /messages?tag=&trace_id=``); ``event`` too."""

    event: _Name | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=20)
    trace_id: _Name | None = None
    utm: Utm | None = None


class Timeout(_Strict):
    channel: dict[str, int] | None = None
    criteria: Literal["no-escalation", "delivered", "viewed", "engaged"] | None = None
    escalation: int | None = Field(default=None, ge=0)
    message: int | None = Field(default=None, ge=0)
    provider: dict[str, int] | None = None


class SendMessage(_Strict):
    """The ``message`` object of ``POST /send`` (and of an automation's send step)."""

    to: Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    template: _Name | None = None
    content: Any = None
    data: dict[str, Any] = Field(default_factory=dict)
    # one branch validated by the value's type, so errors name only that branch's fields (tags with "[" are
    # dropped from the reported field path by functions.api.validation.details_of)
    channels: Annotated[
        Annotated[Annotated[list[_Channel], Field(min_length=1, max_length=10)], Tag("list[channel]")]
        | Annotated[Annotated[dict[_Channel, ChannelSettings], Field(max_length=20)], Tag("dict[channel]")],
        Discriminator(lambda v: "list[channel]" if isinstance(v, list) else "dict[channel]"),
    ] | None = None
    routing: Routing | None = None
    providers: Annotated[dict[Annotated[str, Field(max_length=100)], ProviderSettings], Field(max_length=20)] | None = None
    metadata: Metadata | None = None
    brand_id: _Short | None = None
    context: dict[Literal["tenant_id"], _Short | None] | None = None
    preferences: dict[Literal["subscription_topic_id"], _Short] | None = None
    timeout: Timeout | None = None
    expiry: dict[str, Any] | None = None
    delay: dict[str, Any] | None = None

    @field_validator("channels")
    @classmethod
    def _known(cls, v: Any) -> Any:
        return [_check_channel(c) for c in v] if isinstance(v, list) else v

    @field_validator("content", mode="before")
    @classmethod
    def _content_shape(cls, v: Any) -> Any:
        return None if v is None else _content(v)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # Courier accepts one recipient or a list; store the list form so workers see one shape
        return [v] if isinstance(v, dict) else v

    @field_validator("delay")
    @classmethod
    def _delay(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        from functions.shared.schedule import check_delay

        if v is not None and (errors := check_delay(v)):
            raise ValueError("; ".join(errors))
        return v

    @field_validator("expiry")
    @classmethod
    def _expiry(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        from functions.shared.schedule import check_expiry

        if v is not None and (errors := check_expiry(v)):
            raise ValueError("; ".join(errors))
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "SendMessage":
        if (self.template is None) == (self.content is None):
            raise ValueError("give exactly one of template or content")
        if isinstance(self.channels, list) and self.routing is not None:
            raise ValueError("give either channels (a list) or routing, not both")
        return self


class SendRequest(_Strict):
    """The whole ``POST /send`` body: ``{"message": {...}}``."""

    message: SendMessage
