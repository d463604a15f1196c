"""Emulator state snapshot (placeholder)."""
from __future__ import annotations

from pathlib import Path


def save(state_dir: Path) -> None:
    return None


def restore(state_dir: Path) -> bool:
    return False
