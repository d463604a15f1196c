"""The API's responses as pydantic models: the OpenAPI document is generated from them and from the request
schemas (:mod:`functions.api.openapi`). The use cases build plain dicts; these models only describe them,
and the schemathesis run checks every answer against them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ErrorBody", "SendAccepted", "InvokeAccepted", "RequestView", "RunView", "MessageDetails", "MessageList",
           "MessageHistory", "Resent", "ProfileView", "ProfileWritten", "RunList", "RunSteps", "RelayItem"]


class _Open(BaseModel):
    """A response that may grow fields: clients ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Open):
    field: str
    message: str
    type: str


class ErrorInfo(_Open):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorBody(_Open):
    """Every 4xx and 5xx."""

    error: ErrorInfo


class SendAccepted(_Open):
    requestId: str
    warnings: list[str] | None = Field(default=None, description="Courier fields accepted but not acted on")


class InvokeAccepted(_Open):
    runId: str
    warnings: list[str] | None = None


class RequestMessage(_Open):
    messageId: str
    recipient: str
    channel: str
    status: str
    reason: str | None = None


class RequestView(_Open):
    requestId: str
    status: Literal["ACCEPTED", "PROCESSING", "COMPLETED"]
    messages: list[RequestMessage]


class RunStepView(_Open):
    index: int
    status: str


class RunView(_Open):
    runId: str
    status: str
    steps: list[RunStepView]


class MessageDetails(_Open):
    """Courier's ``MessageDetails`` (times are epoch ms), with relay's ``requestId``, ``channel`` beside."""

    id: str
    status: str
    enqueued: int
    recipient: str
    event: str
    notification: str
    sent: int | None = None
    delivered: int | None = None
    reason: str | None = None
    error: str | None = None
    providers: list[dict[str, Any]] | None = None
    requestId: str | None = None
    channel: str | None = None


class RelayItem(_Open):
    """relay's own list item (deprecated: use ``results``)."""

    messageId: str
    requestId: str
    recipient: str
    channel: str
    status: str


class Paging(_Open):
    cursor: str | None = None
    more: bool


class MessageList(_Open):
    results: list[MessageDetails]
    paging: Paging
    items: list[RelayItem] = Field(description="deprecated: relay's items, kept beside results for one release")
    next: str | None = Field(default=None, description="deprecated: the same cursor as paging.cursor")


class MessageHistory(_Open):
    results: list[dict[str, Any]]


class Resent(_Open):
    messageId: str
    requestId: str


class ProfileView(_Open):
    profile: dict[str, Any]


class ProfileWritten(_Open):
    status: Literal["SUCCESS"]


class RunListItem(_Open):
    run_id: str
    source: list[str]
    status: str | None = None
    created_at: str | None = None
    template_id: str | None = None


class RunList(_Open):
    runs: list[RunListItem]
    next_cursor: str | None = None


class RunStep(_Open):
    action: str
    status: str
    step_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    message_id: str | None = None


class RunSteps(_Open):
    steps: list[RunStep]
