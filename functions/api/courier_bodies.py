"""Request bodies of the Courier routes beyond send and invoke (pydantic; loaded on their paths only)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ProfileBody", "PatchOperation", "PatchBody", "InvokeTemplateBody"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileBody(_Strict):
    """``POST`` / ``PUT /profiles/{user_id}``: the profile document (addresses and any other fields)."""

    profile: dict[str, Any]


class PatchOperation(_Strict):
    """One JSON-Patch operation on a profile."""

    op: Literal["add", "replace", "remove"]
    path: str = Field(min_length=1, max_length=500)
    value: Any = None


class PatchBody(_Strict):
    """``PATCH /profiles/{user_id}``."""

    patch: list[PatchOperation] = Field(min_length=1, max_length=100)


class InvokeTemplateBody(_Strict):
    """``POST /automations/{template_id}/invoke``: run a stored automation template."""

    recipient: str | None = Field(default=None, min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)
    profile: dict[str, Any] = Field(default_factory=dict)
    template: str | None = Field(default=None, min_length=1, max_length=200)
    brand: str | None = Field(default=None, max_length=200)
