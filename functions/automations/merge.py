"""Merge strategies for fetch-data and update-profile (pure)."""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["merge_data", "merge_profile"]


def merge_data(data: Mapping[str, Any], fetched: Any, strategy: str) -> dict[str, Any]:
    """Combine the run's ``data`` with a fetched JSON document.

    Parameters
    ----------
    strategy
        ``overwrite``: fetched keys win; ``soft-merge``: only keys ``data`` lacks are added;
        ``replace``: the fetched document becomes the data; ``none``: ``data`` unchanged.

    Raises
    ------
    ValueError
        When a merging strategy gets something other than a JSON object, or the strategy is unknown.
    """
    if strategy == "none":
        return dict(data)
    if not isinstance(fetched, Mapping):
        raise ValueError(f"merge_strategy {strategy!r} needs a JSON object response, got {type(fetched).__name__}")
    if strategy == "overwrite":
        return {**data, **fetched}
    if strategy == "soft-merge":
        return {**fetched, **data}
    if strategy == "replace":
        return dict(fetched)
    raise ValueError(f"unknown merge_strategy {strategy!r}")


def merge_profile(current: Mapping[str, Any] | None, update: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """``merge``/``overwrite``: a shallow merge, update wins; ``soft-merge``: only keys the profile lacks;
    ``replace``: the update is the profile; ``none``: the update only when there is no profile yet."""
    if mode == "replace":
        return dict(update)
    if mode in ("merge", "overwrite"):
        return {**(current or {}), **update}
    if mode == "soft-merge":
        return {**update, **(current or {})}
    if mode == "none":
        return dict(update) if current is None else dict(current)
    raise ValueError(f"unknown profile merge mode {mode!r}")
