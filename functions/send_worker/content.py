"""What one message says on one channel: the content (inline, Elemental or a named template) rendered with
the message's data for its recipient, and the channel's overrides (pure but for Jinja2 in the sandbox).

The render context is the message's ``data``, then the recipient's own ``data`` over it (Courier's
``to.data``), then ``recipient`` and ``profile``. A named template may itself be Elemental, or
``{"title", "body", "channels": {<channel>: {"title"?, "body"?}}}``. Courier's ``channels.<channel>.override``
may replace ``title`` (or ``subject``), ``body`` and ``html``; its other keys are raw provider payloads relay
does not send (the API warned about them).
"""
from __future__ import annotations

from typing import Any, Mapping

from functions.send_worker.render import RenderError, Rendered, render, render_text
from functions.shared.elemental import ElementalError, is_elemental, render_elemental

__all__ = ["render_context", "render_for_channel"]


def render_context(message: Mapping[str, Any], recipient: Mapping[str, Any],
                   profile: Mapping[str, Any] | None) -> dict[str, Any]:
    """The variables a template sees for one recipient."""
    data = message.get("data") if isinstance(message.get("data"), dict) else {}
    own = recipient.get("data") if isinstance(recipient.get("data"), dict) else {}
    return {**data, **own, "recipient": dict(recipient), "profile": dict(profile or {})}


def _override(message: Mapping[str, Any], channel: str) -> Mapping[str, Any]:
    channels = message.get("channels")
    if not isinstance(channels, Mapping):
        return {}
    settings = channels.get(channel)
    override = settings.get("override") if isinstance(settings, Mapping) else None
    return override if isinstance(override, Mapping) else {}


def render_for_channel(template: Mapping[str, Any], channel: str, message: Mapping[str, Any],
                       context: dict[str, Any]) -> Rendered:
    """Render ``template`` (the message's content or its named template) for ``channel``.

    Raises
    ------
    RenderError
        A syntax error, a missing variable, a sandbox violation, or no content for the channel.
    """
    if is_elemental(template):
        try:
            out = render_elemental(template, channel, lambda source: render_text("content", source, context))
        except ElementalError as exc:
            raise RenderError(str(exc)) from None
        rendered = Rendered(out.title, out.body, out.html)
    else:
        per_channel = (template.get("channels") or {}).get(channel) \
            if isinstance(template.get("channels"), Mapping) else None
        source = {**template, **per_channel} if isinstance(per_channel, Mapping) else dict(template)
        rendered = render(source, context)
    override = _override(message, channel)
    if not override:
        return rendered
    title = override.get("title", override.get("subject"))
    return Rendered(
        title=render_text("override.title", str(title), context) if title is not None else rendered.title,
        body=render_text("override.body", str(override["body"]), context) if "body" in override else rendered.body,
        html=render_text("override.html", str(override["html"]), context) if "html" in override else rendered.html,
    )
