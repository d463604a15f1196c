"""The request body of ``POST /automations/invoke``, validated with pydantic (the API imports this).

Steps are a discriminated union on ``action``. ``if`` nests ``then`` / ``else`` step lists; the request
worker compiles the tree into a flat program (see :mod:`functions.automations.program`), so a job still
names its step by one integer index. Every bad field is reported (pydantic collects them all) and extra
fields are forbidden everywhere. Conditions and delays are parsed here, at request time, by the same
pure functions the job worker uses, so a stored automation can never hold a condition that fails to parse.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.automations.delays import DelayError, parse_duration, parse_until
from functions.automations.expressions import ExpressionError, parse_condition
from functions.shared.send_schema import MAX_RECIPIENTS, Recipient, SendMessage

__all__ = [
    "InvokeRequest", "Automation", "Step", "StepMessage", "SendStep", "DelayStep", "FetchDataStep", "Webhook", "IfStep",
    "CancelStep", "UpdateProfileStep", "InvokeStep", "SendListStep", "MAX_STEPS", "MAX_DEPTH", "count_steps",
]

MAX_STEPS = 100  # per automation, counting the steps nested in if-branches
MAX_DEPTH = 5  # if-nesting, and invoke-in-invoke nesting
MAX_FETCH_BYTES = 1_048_576
MAX_FETCH_TIMEOUT_MS = 30_000
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _condition(v: str | None) -> str | None:
    if v is not None:
        try:
            parse_condition(v)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
    return v


class _Step(_Strict):
    """What every step may carry (Courier): ``if`` runs it only when the condition holds; ``ref`` names it."""

    if_: str | None = Field(default=None, alias="if", min_length=1, max_length=1_000)
    ref: str | None = Field(default=None, min_length=1, max_length=200)

    _if_parses = field_validator("if_")(lambda cls, v: _condition(v))


class StepMessage(SendMessage):
    """A send step's ``message``: the ``POST /send`` message, except that ``to`` may be left out.

    Without ``to`` the message goes to the run's recipient, addressed by the run's profile
    (:func:`functions.automations.steps.build_send_message`): an automation is about one recipient.
    """

    to: Annotated[list[Recipient], Field(min_length=1, max_length=MAX_RECIPIENTS)] | None = None  # type: ignore[assignment]


class SendStep(_Step):
    """Send a message through the same path as ``POST /send``.

    Either a ``message`` (the POST /send ``message`` object; without ``to`` it goes to the run's
    recipient), or defaults taken from the run: ``recipient`` (user id) and ``template`` fall back to
    the run's, ``data`` is merged over the run's data, and the recipient's address fields come from the
    run's profile.
    """

    action: Literal["send"]
    message: StepMessage | None = None  # validated now, so a bad message is a 422, not a dead letter
    template: str | None = Field(default=None, min_length=1, max_length=200)
    recipient: str | None = Field(default=None, min_length=1, max_length=200)
    data: dict[str, Any] | None = None
    channels: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(default=None, min_length=1)
    profile: dict[str, Any] | None = None  # Courier: the recipient's addresses for this send
    brand: str | None = Field(default=None, max_length=200)
    override: dict[str, Any] | None = None

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: list[str] | None) -> list[str] | None:
        from functions.shared.channels import CHANNELS

        for channel in v or ():
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r} (known: {', '.join(sorted(CHANNELS))})")
        return v

    @model_validator(mode="after")
    def _message_or_defaults(self) -> "SendStep":
        if self.message is not None and any(v is not None for v in (self.template, self.recipient, self.data, self.channels,
                                                                     self.profile)):
            raise ValueError("give either message, or template/recipient/profile/data/channels, not both")
        return self


class DelayStep(_Step):
    """Wait for ``duration`` ("5 minutes", "2h", "PT5M") or ``until`` an ISO 8601 time; exactly one."""

    action: Literal["delay"]
    duration: str | int | None = None
    until: str | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _whole_ms(cls, v: Any) -> Any:
        # a number is milliseconds (as in a send's delay): a whole one of at least 1, never a boolean
        if isinstance(v, bool) or (isinstance(v, (int, float)) and (v != int(v) or v < 1)):
            raise ValueError("duration: a string like '5 minutes', or a whole number of milliseconds >= 1")
        return v

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str | int | None) -> str | None:
        if isinstance(v, int):
            v = f"{v}ms"  # Courier's number is milliseconds
        if v is not None:
            try:
                parse_duration(v)
            except DelayError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("until")
    @classmethod
    def _until(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_until(v)
            except DelayError as exc:
                raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> "DelayStep":
        if (self.duration is None) == (self.until is None):
            raise ValueError("give exactly one of duration or until")
        return self


class Webhook(_Strict):
    """The request fetch-data makes (the address guard vets the URL when the step runs)."""

    url: str = Field(min_length=1, max_length=2048)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    body: Any = None
    headers: dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=1000)]] | None = None
    params: dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=1000)]] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        scheme = v.split(":", 1)[0].lower() if ":" in v else ""
        if scheme not in ("http", "https"):
            raise ValueError("url must start with http:// or https://")
        return v

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for name, value in (v or {}).items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name[:50]!r} is not a valid HTTP header name")
            if any(c in value for c in "\r\n\x00"):
                raise ValueError(f"header {name!r} has a line break or NUL in its value")
            if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
                raise ValueError(f"header {name!r} is set by relay and cannot be overridden")
        return v

    @model_validator(mode="after")
    def _body_only_with_post(self) -> "Webhook":
        if self.body is not None and self.method in ("GET", "DELETE"):
            raise ValueError(f"body is not allowed with method {self.method}")
        return self


class FetchDataStep(_Step):
    """Fetch JSON and merge it into the run's data.

    ``merge_strategy``: ``overwrite`` (response keys win), ``soft-merge`` (only keys the data lacks),
    ``replace`` (the response becomes the data), ``none`` (fetch, keep the data as it was).
    """

    action: Literal["fetch-data"]
    webhook: Webhook
    merge_strategy: Literal["overwrite", "soft-merge", "replace", "none"] = "overwrite"
    timeout_ms: int = Field(default=5_000, ge=100, le=MAX_FETCH_TIMEOUT_MS)
    max_bytes: int = Field(default=262_144, ge=1, le=MAX_FETCH_BYTES)
    # Courier: sent to the endpoint as the Idempotency-Key header, so its retries can be recognised
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)
    idempotency_expiry: str | None = Field(default=None, max_length=100)


class IfStep(_Strict):
    """Run ``then`` when ``condition`` holds, else ``else`` (either may be empty), then carry on."""

    action: Literal["if"]
    condition: str = Field(min_length=1, max_length=1_000)
    then: list["Step"] = Field(default_factory=list)
    else_: list["Step"] = Field(default_factory=list, alias="else")

    @field_validator("condition")
    @classmethod
    def _parses(cls, v: str) -> str:
        try:
            parse_condition(v)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return v


class CancelStep(_Step):
    """Cancel every run registered with ``cancelation_token`` (this one too, if it carries it)."""

    action: Literal["cancel"]
    cancelation_token: str = Field(min_length=1, max_length=200)


class UpdateProfileStep(_Step):
    """Write the profile of ``recipient_id`` (default: the run's recipient).

    ``merge``: ``overwrite`` (or relay's ``merge``: the update's keys win), ``soft-merge`` (only keys the
    profile lacks), ``replace`` (the update is the profile), ``none`` (write only when there is no profile).
    """

    action: Literal["update-profile"]
    recipient_id: str | None = Field(default=None, min_length=1, max_length=200)
    profile: dict[str, Any]
    merge: Literal["replace", "merge", "overwrite", "soft-merge", "none"] = "merge"


class InvokeStep(_Step):
    """Start another automation, inline or a stored automation ``template`` (``relay automations put``).

    ``data``/``profile``/``recipient`` default to this run's, and so does the notification ``template`` when
    the automation is inline; with an automation template, ``template`` names that template.
    """

    action: Literal["invoke"]
    automation: "Automation | None" = None
    data: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    recipient: str | None = Field(default=None, min_length=1, max_length=200)
    template: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _what_to_invoke(self) -> "InvokeStep":
        if self.automation is None and self.template is None:
            raise ValueError("give automation (inline steps) or template (a stored automation template)")
        return self


class AddToBatchStep(_Step):
    """Courier's add-to-batch: refused, relay does not batch runs yet."""

    model_config = ConfigDict(extra="allow")
    action: Literal["add-to-batch"]

    @model_validator(mode="after")
    def _refuse(self) -> "AddToBatchStep":
        from functions.shared.send_schema import unsupported

        raise unsupported("add-to-batch: relay does not batch automation runs yet")


class SendListStep(_Step):
    """Courier's send-list: refused, relay has no lists yet."""

    action: Literal["send-list"]
    list: str | None = None
    brand: str | None = None
    data: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _refuse(self) -> "SendListStep":
        from functions.shared.send_schema import unsupported

        raise unsupported("send-list: relay does not support lists yet; send to each recipient with a send step")


Step = Annotated[
    Union[SendStep, DelayStep, FetchDataStep, IfStep, CancelStep, UpdateProfileStep, InvokeStep, SendListStep,
          AddToBatchStep],
    Field(discriminator="action"),
]


def count_steps(steps: list[Any], depth: int = 1) -> tuple[int, int]:
    """(number of steps including nested if-branches, deepest if-nesting) of a step list."""
    total, deepest = 0, depth
    for step in steps:
        total += 1
        if isinstance(step, IfStep):
            for branch in (step.then, step.else_):
                n, d = count_steps(branch, depth + 1)
                total += n
                deepest = max(deepest, d)
    return total, deepest


class Automation(_Strict):
    """``{cancelation_token?, steps: [...]}``: 1..100 steps in all, if-nesting at most 5 deep."""

    cancelation_token: str | None = Field(default=None, min_length=1, max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _bounded(self) -> "Automation":
        total, depth = count_steps(self.steps)
        if total > MAX_STEPS:
            raise ValueError(f"automation has {total} steps counting if-branches; the limit is {MAX_STEPS}")
        if depth > MAX_DEPTH:
            raise ValueError(f"if-steps are nested {depth} deep; the limit is {MAX_DEPTH}")
        if _invoke_depth(self.steps) > MAX_DEPTH:
            raise ValueError(f"invoke-steps are nested more than {MAX_DEPTH} deep")
        return self


def _invoke_depth(steps: list[Any]) -> int:
    deepest = 0
    for step in steps:
        if isinstance(step, InvokeStep) and step.automation is not None:
            deepest = max(deepest, 1 + _invoke_depth(step.automation.steps))
        elif isinstance(step, IfStep):
            deepest = max(deepest, _invoke_depth(step.then), _invoke_depth(step.else_))
    return deepest


class InvokeRequest(_Strict):
    """Body of ``POST /automations/invoke``."""

    automation: Automation
    data: dict[str, Any] = Field(default_factory=dict)
    profile: dict[str, Any] = Field(default_factory=dict)
    recipient: str | None = Field(default=None, min_length=1, max_length=200)
    template: str | None = Field(default=None, min_length=1, max_length=200)
    brand: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _send_has_template(self) -> "InvokeRequest":
        _check_sends(self.automation.steps, self.template, self.recipient)
        return self


def _check_sends(steps: list[Any], template: str | None, recipient: str | None) -> None:
    for i, step in enumerate(steps):
        if isinstance(step, SendStep) and step.message is None and step.template is None and template is None:
            raise ValueError(f"send step {i} has no message and no template, and the request has no template")
        if isinstance(step, SendStep) and recipient is None and step.recipient is None and (
                step.message is None or step.message.to is None):
            raise ValueError(f"send step {i} has no recipient, and the request has none")
        if isinstance(step, UpdateProfileStep) and recipient is None and step.recipient_id is None:
            raise ValueError(f"update-profile step {i} has no recipient_id, and the request has no recipient")
        if isinstance(step, IfStep):
            _check_sends(step.then, template, recipient)
            _check_sends(step.else_, template, recipient)


IfStep.model_rebuild()
InvokeStep.model_rebuild()
Automation.model_rebuild()
