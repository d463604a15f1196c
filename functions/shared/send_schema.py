"""The ``POST /send`` body, validated with pydantic (a Courier-like message).

Used by the API and by the job worker's ``send`` step, so both accept exactly the same messages.
pydantic is heavy to import: handlers import this module only on the paths that validate.

Shape::

    {"message": {
        "to": {"user_id"?, "email"?, "phone_number"?, "webhook_url"?, ...} | [ ...1..100 of them ],  # stored as a list
        "template": "<name>"  |  "content": {"title"?, "body"},
        "data": {...},
        "channels": ["email", ...],                        # shorthand for routing {method: all}
        "routing": {"method": "all" | "single", "channels": [...]}}}
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.shared.channels import CHANNELS

__all__ = ["Recipient", "Content", "Routing", "SendMessage", "SendRequest", "MAX_RECIPIENTS"]

MAX_RECIPIENTS = 100
_Name = Annotated[str, Field(min_length=1, max_length=200)]
_Channel = Annotated[str, Field(min_length=1, max_length=50)]


def _check_channel(v: str) -> str:
    if v not in CHANNELS:
        raise ValueError(f"unknown channel {v!r} (known: {', '.join(sorted(CHANNELS))})")
    return v


class Recipient(BaseModel):
    """One recipient: a user id and/or addresses. Extra fields are kept (they reach templates)."""

    model_config = ConfigDict(extra="allow")

    user_id: _Name | None = None
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone_number: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()\-.]{3,32}$")] | None = None
    webhook_url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")] | None = None

    @model_validator(mode="after")
    def _addressable(self) -> "Recipient":
        if not any((self.user_id, self.email, self.phone_number, self.webhook_url)):
            raise ValueError("a recipient needs at least one of user_id, email, phone_number, webhook_url")
        return self


class Content(BaseModel):
    """Inline content: Jinja2 templates for the title and body (rendered in a sandbox)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(max_length=1_000)] = ""
    body: Annotated[str, Field(min_length=1, max_length=100_000)]


class Routing(BaseModel):
    """``all``: every channel; ``single``: the first channel that works, failing over in order."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["all", "single"] = "all"
    channels: list[_Channel] = Field(min_length=1, max_length=10)

    _known = field_validator("channels")(lambda cls, v: [_check_channel(c) for c in v])


class SendMessage(BaseModel):
    """The ``message`` object of ``POST /send`` (and of an automation's send step)."""

    model_config = ConfigDict(extra="forbid")

    to: Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    template: _Name | None = None
    content: Content | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    channels: Annotated[list[_Channel], Field(min_length=1, max_length=10)] | None = None
    routing: Routing | None = None

    _known = field_validator("channels")(lambda cls, v: v if v is None else [_check_channel(c) for c in v])

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # Courier accepts one recipient or a list; store the list form so workers see one shape
        return [v] if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _one_source(self) -> "SendMessage":
        if (self.template is None) == (self.content is None):
            raise ValueError("give exactly one of template or content")
        if self.channels is not None and self.routing is not None:
            raise ValueError("give either channels or routing, not both")
        return self


class SendRequest(BaseModel):
    """The whole ``POST /send`` body: ``{"message": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    message: SendMessage
