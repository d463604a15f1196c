"""What every status event of a message carries about its send, for ``GET /messages`` filters (pure).

The send worker writes these on each event of a message; the feedback function copies them onto the
events it adds; the log indexer keeps them on the message's VIEW. ``enqueuedAt`` is the ms time of the
message's ENQUEUED event (Courier's ``enqueued``, the ``enqueued_after`` filter).
"""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["META_ATTRIBUTES", "message_meta"]

META_ATTRIBUTES = ("tags", "traceId", "event", "template", "enqueuedAt")


def message_meta(message: Mapping[str, Any]) -> dict[str, Any]:
    """``tags``, ``traceId`` and ``event`` from the message's ``metadata``, and its template's name."""
    meta = message.get("metadata") if isinstance(message.get("metadata"), Mapping) else {}
    out: dict[str, Any] = {}
    tags = meta.get("tags")
    if isinstance(tags, list) and tags:
        out["tags"] = [str(t) for t in tags if t][:20]
    for source, name in (("trace_id", "traceId"), ("event", "event")):
        if isinstance(meta.get(source), str) and meta[source]:
            out[name] = meta[source]
    if isinstance(message.get("template"), str) and message["template"]:
        out["template"] = message["template"]
    return out
