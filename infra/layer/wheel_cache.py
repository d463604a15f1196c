"""The local wheel cache: the lock files' wheels, downloaded once, found again by their hashes.

``build/wheels/<architecture>/`` holds the ``.whl`` files ``infra.layer.download_wheels`` fetched.
A wheel is taken for a lock entry only if its sha256 is one the lock lists, so a stale or tampered
file in the cache is never built into a layer.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from infra.layer.lockfile import LockedWheel, normalize_name

__all__ = ["DEFAULT_CACHE_ROOT", "cache_dir", "sha256_file", "wheel_name", "match_wheels"]

# build/ is git-ignored and removed by `make clean`; the wheels are fetched again by `make setup`.
DEFAULT_CACHE_ROOT = Path(__file__).resolve().parents[2] / "build" / "wheels"


def cache_dir(architecture: str, root: Path | None = None) -> Path:
    """``<root>/<architecture>``: wheels of different platforms never share a folder."""
    return (root or DEFAULT_CACHE_ROOT) / architecture


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def wheel_name(path: Path) -> tuple[str, str]:
    """``(normalised name, version)`` from a wheel's file name (``pydantic_core-2.50.5-cp313-...whl``)."""
    name, version, *_ = path.name.split("-")
    return normalize_name(name), version


def match_wheels(wheels: Sequence[LockedWheel], directory: Path) -> tuple[dict[str, Path], list[LockedWheel]]:
    """Find the cached wheel for every lock entry.

    Parameters
    ----------
    wheels
        The lock file's entries.
    directory
        The architecture's cache folder (it may not exist yet).

    Returns
    -------
    found, missing
        ``found`` maps each entry's name to the one file whose sha256 the lock accepts; ``missing`` lists
        the entries with no such file.
    """
    by_name: dict[str, list[Path]] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.whl")):
            by_name.setdefault(wheel_name(path)[0], []).append(path)
    found: dict[str, Path] = {}
    missing: list[LockedWheel] = []
    for wheel in wheels:
        match = next((p for p in by_name.get(wheel.name, []) if sha256_file(p) in wheel.hashes), None)
        if match is None:
            missing.append(wheel)
        else:
            found[wheel.name] = match
    return found, missing
