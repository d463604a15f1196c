"""The layer's lock files: every runtime dependency of the functions, pinned, with wheel hashes.

One file per architecture, ``infra/layer/requirements-<arch>.lock``, because the compiled wheels
(pydantic-core, MarkupSafe) differ per platform. The format is pip's own requirements format with
``--hash`` options, so pip can check every download against it (``--require-hashes``)::

    pydantic-core==2.50.5 \\
        --hash=sha256:0f3c...
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from infra.layer.lambda_platform import LAMBDA_RUNTIME, PYTHON_TAG, pip_platform

__all__ = ["LOCK_DIR", "LockedWheel", "LockFileError", "lock_path", "read_lock", "parse_lock", "format_lock",
           "lock_digest", "normalize_name"]

LOCK_DIR = Path(__file__).resolve().parent
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)$")


class LockFileError(ValueError):
    """A lock file is missing, or a line is not ``name==version --hash=sha256:<hex>``."""


@dataclass(frozen=True)
class LockedWheel:
    """One pinned distribution and the sha256 of every wheel file the lock accepts for it."""

    name: str                  # normalised (PEP 503): lower case, runs of -_. as one "-"
    version: str
    hashes: tuple[str, ...]    # hex sha256 digests

    @property
    def requirement(self) -> str:
        """``name==version`` as pip reads it."""
        return f"{self.name}=={self.version}"


def normalize_name(name: str) -> str:
    """PEP 503 name: ``Jinja2`` → ``jinja2``, ``typing_extensions`` → ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_path(architecture: str, lock_dir: Path | None = None) -> Path:
    """``infra/layer/requirements-<architecture>.lock``."""
    pip_platform(architecture)  # refuses an unknown architecture by name
    return (lock_dir or LOCK_DIR) / f"requirements-{architecture}.lock"


def parse_lock(text: str, source: str = "lock file") -> list[LockedWheel]:
    """Parse a lock file's text; every entry must be pinned with ``==`` and carry at least one hash.

    Parameters
    ----------
    text
        The file's content.
    source
        Named in error messages.

    Returns
    -------
    list of LockedWheel
        In file order.

    Raises
    ------
    LockFileError
        On an unpinned or unhashed entry, or a name pinned twice.
    """
    logical = re.sub(r"\\\n", " ", text)  # pip's line continuations
    wheels: list[LockedWheel] = []
    for raw in logical.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        spec, *options = line.split()
        match = _PIN.match(spec)
        if match is None:
            raise LockFileError(f"{source}: {spec!r} is not pinned as name==version")
        hashes = tuple(o.split(":", 1)[1] for o in options if o.startswith("--hash=sha256:"))
        if not hashes or len(hashes) != len(options):
            raise LockFileError(f"{source}: {spec} needs --hash=sha256:<hex> options only")
        wheels.append(LockedWheel(normalize_name(match.group(1)), match.group(2), hashes))
    names = [w.name for w in wheels]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LockFileError(f"{source}: pinned more than once: {', '.join(twice)}")
    return wheels


def read_lock(path: Path) -> list[LockedWheel]:
    """:func:`parse_lock` of a file; a missing file names the command that writes it."""
    if not path.is_file():
        raise LockFileError(f"no lock file {path}: write it with `.venv/bin/python -m infra.layer.lock`")
    return parse_lock(path.read_text(), source=path.name)


def format_lock(architecture: str, wheels: Iterable[LockedWheel], top_level: Sequence[str]) -> str:
    """The text of a lock file: a header saying what it is for, then the pins sorted by name."""
    header = [
        f"# The functions' runtime dependencies for Lambda {LAMBDA_RUNTIME} on {architecture}",
        f"# ({pip_platform(architecture)}, {PYTHON_TAG}): every transitive pin, with the sha256 of its wheel.",
        "# Written by `.venv/bin/python -m infra.layer.lock` from pyproject.toml's [project].dependencies:",
        *(f"#   {req}" for req in top_level),
        "# Do not edit by hand; the dependency layer is built from this file and keyed by its hash.",
    ]
    body = []
    for w in sorted(wheels, key=lambda w: w.name):
        body.append(" \\\n".join([w.requirement, *(f"    --hash=sha256:{h}" for h in sorted(w.hashes))]))
    return "\n".join(header + body) + "\n"


def lock_digest(path: Path) -> str:
    """sha256 (hex) of a lock file's bytes: what the layer's cache key is made from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
