"""Courier Elemental content (``{"version", "elements": [...]}``): what relay accepts, and how it renders.

Pure (no pydantic, no Jinja2): :func:`check_elemental` is the request-time check the send schema calls,
:func:`render_elemental` turns a document into one channel's title, text body and (email) HTML, given a
``render_text`` function that renders one template string in the sandbox. Text is rendered first and
escaped afterwards, so a recipient's data can never become markup in the HTML part.

Rendered: ``meta`` (the title), ``text``, ``action``, ``image``, ``divider``, ``quote``, ``html`` (email
only), ``group`` (its children), ``comment`` (nothing), ``channel`` (the elements, or ``raw`` title/body/html,
of the element for the channel being rendered, else of ``default``), and every element's ``channels`` list.
Refused at request time, because ignoring them would change what a recipient reads: ``if`` and ``loop`` on
an element, and element types relay does not render yet (``list``, ``columns``, ``jsonnet``).
"""
from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["ELEMENT_FIELDS", "UNRENDERED_TYPES", "STYLE_FIELDS", "check_elemental", "elemental_warnings",
           "render_elemental", "ElementalOutput", "is_elemental", "MAX_ELEMENTS"]

MAX_ELEMENTS = 500
_BASE = {"type", "channels", "ref", "if", "loop"}
# Fields Courier documents per element type (its SDK's types); anything else is a 422 naming it.
ELEMENT_FIELDS: dict[str, set[str]] = {
    "meta": _BASE | {"title"},
    "text": _BASE | {"content", "align", "bold", "color", "font_size", "format", "italic", "line_height", "locales",
                     "strikethrough", "text_style", "underline"},
    "action": _BASE | {"content", "href", "action_id", "align", "background_color", "border_radius", "border_size",
                       "disable_tracking", "font_size", "locales", "padding", "style"},
    "image": _BASE | {"src", "align", "alt_text", "border_color", "border_size", "href", "padding", "width"},
    "divider": _BASE | {"color"},
    "quote": _BASE | {"content", "align", "border_color", "font_size", "line_height", "locales", "text_style"},
    "html": _BASE | {"content", "locales"},
    "channel": _BASE | {"channel", "elements", "raw", "font_size", "line_height", "padding"},
    "group": _BASE | {"elements"},
}
_REQUIRED = {"text": ("content",), "action": ("content", "href"), "image": ("src",), "quote": ("content",),
             "html": ("content",), "channel": ("channel",)}
UNRENDERED_TYPES = frozenset({"list", "columns", "jsonnet"})
# presentational fields relay's plain HTML does not apply: harmless to ignore, named in the warnings
STYLE_FIELDS = frozenset({"align", "bold", "color", "font_size", "italic", "line_height", "strikethrough",
                          "text_style", "underline", "background_color", "border_radius", "border_size", "padding",
                          "style", "border_color", "width", "disable_tracking", "action_id", "format"})
_RAW_FIELDS = {"title", "subject", "body", "text", "html"}


def is_elemental(content: Any) -> bool:
    """Whether ``content`` is an Elemental document rather than ``{title, body}``."""
    return isinstance(content, Mapping) and "elements" in content


def check_elemental(doc: Mapping[str, Any]) -> list[str]:
    """Every reason ``doc`` cannot be accepted (empty when it can), each naming its path.

    Parameters
    ----------
    doc
        ``{"version": str, "elements": [...]}`` as the client sent it.
    """
    errors: list[str] = []
    for key in doc:
        if key not in ("version", "elements"):
            errors.append(f"content.{key}: not a field of Elemental content (version, elements)")
    if not isinstance(doc.get("version"), str) or not doc.get("version"):
        errors.append("content.version: required, a string like '2022-01-01'")
    elements = doc.get("elements")
    if not isinstance(elements, list) or not elements:
        errors.append("content.elements: required, a non-empty list of elements")
        return errors
    counter = [0]
    _check_list(elements, "content.elements", errors, counter, top=True)
    if counter[0] > MAX_ELEMENTS:
        errors.append(f"content.elements: {counter[0]} elements; the limit is {MAX_ELEMENTS}")
    return errors


def _check_list(elements: list[Any], path: str, errors: list[str], counter: list[int], *, top: bool) -> None:
    kinds = [e.get("type") for e in elements if isinstance(e, Mapping)]
    if "channel" in kinds and (not top or any(k != "channel" for k in kinds)):
        errors.append(f"{path}: channel elements are only valid at the top level, and then every sibling "
                      "must be a channel element")
    for i, element in enumerate(elements):
        counter[0] += 1
        here = f"{path}.{i}"
        if not isinstance(element, Mapping):
            errors.append(f"{here}: an element must be an object")
            continue
        kind = element.get("type")
        if kind == "comment":
            continue  # never rendered, whatever it holds
        if kind in UNRENDERED_TYPES:
            errors.append(f"{here}.type: relay does not render {kind!r} elements yet")
            continue
        if kind not in ELEMENT_FIELDS:
            errors.append(f"{here}.type: unknown element type {kind!r} (known: "
                          f"{', '.join(sorted(ELEMENT_FIELDS))}, comment)")
            continue
        for key in element:
            if key not in ELEMENT_FIELDS[kind]:
                errors.append(f"{here}.{key}: not a field of a {kind} element")
        for key in ("if", "loop"):
            if element.get(key) not in (None, ""):
                errors.append(f"{here}.{key}: relay does not evaluate element conditions or loops; ignoring one "
                              "would change what the recipient reads")
        for key in _REQUIRED.get(kind, ()):
            if not isinstance(element.get(key), str) or not element.get(key):
                errors.append(f"{here}.{key}: required, a non-empty string")
        if element.get("channels") is not None and not (
                isinstance(element["channels"], list) and all(isinstance(c, str) for c in element["channels"])):
            errors.append(f"{here}.channels: a list of channel names")
        if kind in ("channel", "group"):
            children = element.get("elements")
            raw = element.get("raw")
            if kind == "channel" and children is None and raw is None:
                errors.append(f"{here}: a channel element needs elements or raw")
            if children is not None:
                if not isinstance(children, list):
                    errors.append(f"{here}.elements: a list of elements")
                else:
                    _check_list(children, f"{here}.elements", errors, counter, top=False)
            if raw is not None:
                if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
                    errors.append(f"{here}.raw: an object of strings ({', '.join(sorted(_RAW_FIELDS))})")
                else:
                    errors += [f"{here}.raw.{k}: relay renders raw {', '.join(sorted(_RAW_FIELDS))} only"
                               for k in raw if k not in _RAW_FIELDS]


def elemental_warnings(doc: Mapping[str, Any]) -> list[str]:
    """What relay accepts but ignores in ``doc`` (styling, locales), one entry per field name."""
    seen: dict[str, None] = {}

    def walk(elements: Any, path: str) -> None:
        for element in elements if isinstance(elements, list) else ():
            if not isinstance(element, Mapping):
                continue
            for key in element:
                if key in STYLE_FIELDS:
                    seen[f"{path}.*.{key}: styling is not applied (relay's HTML is plain)"] = None
                elif key == "locales":
                    seen[f"{path}.*.locales: not applied; the default content is sent"] = None
                elif key == "ref":
                    seen[f"{path}.*.ref: recorded nowhere (relay's templates cannot refer to elements)"] = None
            walk(element.get("elements"), f"{path}.*.elements")

    walk(doc.get("elements"), "content.elements")
    return list(seen)


@dataclass(frozen=True)
class ElementalOutput:
    """One channel's rendering: the title, the text body, and the HTML body (email only, else None)."""

    title: str
    body: str
    html: str | None


class ElementalError(ValueError):
    """The document has nothing to render for the channel (the message is UNROUTABLE with this reason)."""


def _pick(elements: list[Any], channel: str) -> tuple[list[Any], Mapping[str, Any] | None]:
    """The elements to render on ``channel`` (and a channel element's raw), resolving channel elements."""
    blocks = [e for e in elements if isinstance(e, Mapping) and e.get("type") == "channel"]
    if not blocks:
        return elements, None
    chosen = next((b for b in blocks if b.get("channel") == channel), None) or \
        next((b for b in blocks if b.get("channel") == "default"), None)
    if chosen is None:
        raise ElementalError(f"content has no channel element for {channel} (nor a default one)")
    return list(chosen.get("elements") or []), chosen.get("raw")


def _flatten(elements: list[Any], channel: str) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for e in elements:
        if not isinstance(e, Mapping):
            continue
        wanted = e.get("channels")
        if isinstance(wanted, list) and wanted and channel not in wanted:
            continue
        if e.get("type") == "group":
            out += _flatten(list(e.get("elements") or []), channel)
        elif e.get("type") != "comment":
            out.append(e)
    return out


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


def _md_text(text: str) -> str:
    return _LINK.sub(r"\1 (\2)", _BOLD.sub(r"\1", text))


def _md_html(text: str) -> str:
    escaped = html_lib.escape(text)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>' if _SAFE_URL.match(html_lib.unescape(
        m.group(2))) else m.group(0), escaped).replace("\n", "<br>")


def _href(url: str) -> str | None:
    return html_lib.escape(url, quote=True) if _SAFE_URL.match(url) else None


def render_elemental(doc: Mapping[str, Any], channel: str, render_text: Callable[[str], str]) -> ElementalOutput:
    """Render ``doc`` for ``channel``.

    Parameters
    ----------
    doc
        A checked Elemental document (:func:`check_elemental` found nothing).
    channel
        ``email`` gets HTML beside the text; every other channel gets text only.
    render_text
        Renders one template string with the message's data (Jinja2 in the sandbox); its errors propagate.

    Raises
    ------
    ElementalError
        When the document has no content for ``channel``.
    """
    elements, raw = _pick(list(doc.get("elements") or []), channel)
    email = channel == "email"
    if raw is not None:
        title = render_text(str(raw.get("subject") or raw.get("title") or ""))
        body = render_text(str(raw.get("text") or raw.get("body") or ""))
        page = render_text(str(raw["html"])) if email and raw.get("html") else None
        return ElementalOutput(title, body, _document(title, page) if page is not None else None)
    title = ""
    texts: list[str] = []
    parts: list[str] = []
    for e in _flatten(elements, channel):
        kind = e.get("type")
        if kind == "meta":
            title = title or render_text(str(e.get("title") or ""))
        elif kind == "text":
            t = render_text(str(e.get("content") or ""))
            texts.append(_md_text(t))
            parts.append(f"<p>{_md_html(t)}</p>")
        elif kind == "quote":
            t = render_text(str(e.get("content") or ""))
            texts.append("> " + t.replace("\n", "\n> "))
            parts.append(f"<blockquote>{_md_html(t)}</blockquote>")
        elif kind == "action":
            label, url = render_text(str(e.get("content") or "")), render_text(str(e.get("href") or ""))
            texts.append(f"{label}: {url}")
            href = _href(url)
            parts.append(f'<p><a href="{href}">{html_lib.escape(label)}</a></p>' if href
                         else f"<p>{html_lib.escape(label)}</p>")
        elif kind == "image":
            src, alt = render_text(str(e.get("src") or "")), render_text(str(e.get("alt_text") or ""))
            if alt:
                texts.append(alt)
            img = f'<img src="{html_lib.escape(src, quote=True)}" alt="{html_lib.escape(alt, quote=True)}">'
            link = _href(render_text(str(e["href"]))) if e.get("href") else None
            parts.append(f'<p><a href="{link}">{img}</a></p>' if link else f"<p>{img}</p>")
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "html" and email:
            parts.append(render_text(str(e.get("content") or "")))  # the sender's own markup, email only
    body = "\n\n".join(t for t in texts if t)
    return ElementalOutput(title, body, _document(title, "\n".join(parts)) if email else None)


def _document(title: str, inner: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html_lib.escape(title)}</title></head>'
            f"<body>{inner}</body></html>")
