"""Template rendering in a sandbox.

``ImmutableSandboxedEnvironment`` blocks attribute tricks (``{{ ''.__class__.__mro__ }}``) and
mutation of the context; ``StrictUndefined`` turns a missing variable into an error instead of an
empty string. Every failure becomes :class:`RenderError` with a reason the message log shows
(UNROUTABLE), never an exception out of the handler.
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["RenderError", "Rendered", "render", "render_text", "courier_variables", "MAX_RENDERED_CHARS"]

MAX_RENDERED_CHARS = 262_144  # per field: a template that expands beyond this is refused
_env: Any = None


class RenderError(ValueError):
    """A template could not be rendered; ``str(exc)`` is the reason recorded as UNROUTABLE."""


@dataclass(frozen=True)
class Rendered:
    """The rendered title and body (text), and an HTML body when the content has one (Elemental, email)."""

    title: str
    body: str
    html: str | None = None


# Courier's designer templates write variables as {name} or {data.path}; relay's as {{ name }}
_COURIER_VARIABLE = re.compile(r"(?<![{%#])\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}(?!\})")


def _resolves(path: str, context: dict[str, Any]) -> bool:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def courier_variables(source: str, context: dict[str, Any]) -> str:
    """``{name}`` → ``{{ name }}`` for every name ``context`` has; other braces stay as written.

    Only names that resolve are converted, so literal braces in a message ("{a}" in a code sample) are
    kept rather than failing as a missing variable.
    """
    if "{" not in source:
        return source
    return _COURIER_VARIABLE.sub(
        lambda m: "{{ " + m.group(1) + " }}" if _resolves(m.group(1), context) else m.group(0), source)


MAX_POWER_EXPONENT = 1_000  # 9 ** 10**9 would pin the CPU: exponents beyond this are refused
MAX_RENDER_SECONDS = 1.0  # per field: a template that loops silently (no output to cap) is stopped here


class _RenderTimeout(Exception):
    pass


def _deadline_tracer(deadline: float) -> Any:
    """A trace function that stops template code (only) once ``deadline`` (monotonic) has passed.

    Output size is capped in :func:`_render_one`, but ``{% for a in range(10**5) %}{% for b in
    range(10**5) %}{% endfor %}{% endfor %}`` yields nothing while it spins for hours. Jinja compiles a
    template to Python whose code objects are named ``<template>``: only those frames get the per-line
    check, so the rest of the worker runs untraced.
    """
    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > deadline:
            raise _RenderTimeout
        return local

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == "<template>" else None

    return on_call


def _environment() -> Any:
    global _env
    if _env is None:
        from jinja2 import StrictUndefined
        from jinja2.exceptions import SecurityError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class _Bounded(ImmutableSandboxedEnvironment):
            """The sandbox keeps code out; this also keeps ``'a' * 10**12`` from eating the memory."""

            intercepted_binops = frozenset({"*", "**"})

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                if operator == "*":
                    for seq, n in ((left, right), (right, left)):
                        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_RENDERED_CHARS:
                            raise SecurityError(f"repetition result would exceed {MAX_RENDERED_CHARS} items")
                if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_POWER_EXPONENT:
                    raise SecurityError(f"exponent {right} is larger than {MAX_POWER_EXPONENT}")
                return super().call_binop(context, operator, left, right)

        # autoescape off: providers decide the output format; the sandbox is what keeps code out
        _env = _Bounded(undefined=StrictUndefined, autoescape=False, cache_size=256)
    return _env


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    # from_string compiles every time (only loader templates are cached): a warm worker reuses them
    return _environment().from_string(source)


def _render_one(name: str, source: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    previous = sys.gettrace()
    try:
        template = _compile(source)
        out: list[str] = []
        size = 0
        sys.settrace(_deadline_tracer(time.monotonic() + MAX_RENDER_SECONDS))
        # generate() lets us stop a template that expands without bound before it eats the memory
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise RenderError(f"{name}: rendered output exceeds {MAX_RENDERED_CHARS} characters")
            out.append(chunk)
        return "".join(out)
    except RenderError:
        raise
    except _RenderTimeout:
        raise RenderError(f"{name}: template ran longer than {MAX_RENDER_SECONDS:g} s (loops without bound?)") from None
    except SecurityError as exc:
        raise RenderError(f"{name}: unsafe template: {exc}") from None
    except TemplateError as exc:
        raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, OverflowError,
            RecursionError, MemoryError) as exc:
        raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.settrace(previous)


def render_text(name: str, source: str, context: dict[str, Any]) -> str:
    """Render one template string (Courier's ``{name}`` and Jinja2's ``{{ name }}``) in the sandbox.

    Raises
    ------
    RenderError
        As :func:`render`.
    """
    return _render_one(name, courier_variables(source, context), context)


def render(template: dict[str, Any], context: dict[str, Any]) -> Rendered:
    """Render ``{"title", "body"}`` with ``context``.

    Parameters
    ----------
    template
        ``{"title": str?, "body": str}`` (Jinja2 sources).
    context
        Variables: the request's ``data`` plus ``recipient`` and ``profile``.

    Raises
    ------
    RenderError
        On a syntax error, a missing variable, a sandbox violation or an oversize result.
    """
    body = template.get("body")
    if not isinstance(body, str):
        raise RenderError("template has no body")
    title = template.get("title") or ""
    if not isinstance(title, str):
        raise RenderError("template title is not a string")
    return Rendered(title=render_text("title", title, context), body=render_text("body", body, context))
