"""Suite-wide: the longest files start first.

``make test`` spreads files over workers (``--dist loadfile``) in collection order, and the order is
alphabetical by folder — so the chaos runs in ``tests/reliability`` would start last and end the run alone.
A file marked ``pytest.mark.heavy(seconds=N)`` (N: what it takes on 2 busy cores) is moved to the front,
longest first; the rest keep their order.
"""
from __future__ import annotations

import pytest


def _weight(item: pytest.Item) -> float:
    marker = item.get_closest_marker("heavy")
    return float(marker.kwargs.get("seconds", 1)) if marker is not None else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # stable: a file's tests stay together and in order
    items.sort(key=lambda item: -_weight(item))
