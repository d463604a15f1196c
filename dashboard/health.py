"""Pure health classification: green / amber / red against the stage's alarm thresholds."""
from __future__ import annotations

__all__ = ["GREEN", "AMBER", "RED", "classify", "dlq_health", "worst", "BADGE"]

GREEN, AMBER, RED = "green", "amber", "red"
# Streamlit colour markdown: renders everywhere (emoji need a font headless machines often lack)
BADGE = {GREEN: ":green[●]", AMBER: ":orange[●]", RED: ":red[●]"}
_ORDER = {GREEN: 0, AMBER: 1, RED: 2}


def classify(value: float | None, red_at: float, amber_fraction: float = 0.5) -> str:
    """Red at or over the alarm threshold, amber from ``amber_fraction`` of it, else green.

    ``None`` (no data yet) is green: an idle stage publishes no IteratorAge and that is healthy.
    """
    if value is None:
        return GREEN
    if value >= red_at:
        return RED
    if value >= red_at * amber_fraction:
        return AMBER
    return GREEN


def dlq_health(count: int) -> str:
    """Any dead letter needs a human: amber for a few, red from 10."""
    if count <= 0:
        return GREEN
    return RED if count >= 10 else AMBER


def worst(*states: str) -> str:
    """The most severe of the given states."""
    return max(states, key=lambda s: _ORDER[s]) if states else GREEN

