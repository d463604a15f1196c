"""Function code and the runtime-dependency layer (not named packaging.py: pulumi runs the program
with infra/ on sys.path, where that name would shadow the PyPI `packaging` the SDK imports).

The functions' code is the repo's ``functions/`` package, zipped by Pulumi as ``functions/...`` so the
handler path ``functions.<name>.handler.lambda_handler`` resolves in the Lambda runtime.

Their runtime dependencies go in one Lambda layer per stage, built by :mod:`infra.layer.build` from
``infra/layer/requirements-<architecture>.lock`` and the wheel cache ``build/wheels/<architecture>``
(filled by ``make setup``; a missing wheel is downloaded here, which needs the registry). The build
is skipped (a small placeholder layer is used instead) when ``RELAY_SKIP_LAYER_BUILD=1`` or when the
program runs under Pulumi's mocks (the tests and the local stage, whose handlers run in-process with
the venv).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra.config import PROJECT_ROOT
from infra.layer.build import build_layer
from infra.layer.download_wheels import ensure_wheels
from infra.layer.lambda_platform import LAMBDA_RUNTIME
from infra.layer.lockfile import lock_digest, lock_path

__all__ = ["SKIP_ENV", "LAMBDA_RUNTIME", "LayerCode", "should_skip_layer_build", "layer_code", "function_code"]

SKIP_ENV = "RELAY_SKIP_LAYER_BUILD"


@dataclass(frozen=True)
class LayerCode:
    """What a ``LayerVersion`` is published from.

    ``source_code_hash`` (base64 sha256 of the zip) is set for a real build, so a new layer version is
    published exactly when the archive changes; ``None`` for the placeholder.
    """

    archive: pulumi.Archive
    source_code_hash: str | None = None


def _under_mocks() -> bool:
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return isinstance(get_monitor(), MockMonitor)


def should_skip_layer_build(environ: dict[str, str] | None = None, under_mocks: bool | None = None) -> bool:
    """True when the layer must not be built: ``RELAY_SKIP_LAYER_BUILD=1`` or Pulumi's mocks."""
    env = os.environ if environ is None else environ
    if env.get(SKIP_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    return _under_mocks() if under_mocks is None else under_mocks


def layer_code(architecture: str) -> LayerCode:
    """The dependency layer for ``architecture``: the reproducible build, or a placeholder when skipped.

    Parameters
    ----------
    architecture
        ``arm64`` or ``x86_64``; the stage's ``relay:architecture``.

    Returns
    -------
    LayerCode
        The archive (a relative path, so no machine path enters the stack state) and its hash.
    """
    lock = lock_path(architecture)
    if should_skip_layer_build():
        # A valid one-file zip so an emulator can still publish the layer version; the local stage
        # runs handlers in-process with the venv, which already has these dependencies.
        return LayerCode(pulumi.AssetArchive({
            "python/relay_layer_skipped.txt": pulumi.StringAsset(
                f"layer build skipped ({SKIP_ENV} or mocks); it would be built from "
                f"infra/layer/{lock.name} (sha256 {lock_digest(lock)})\n"),
        }))
    ensure_wheels(architecture)
    build = build_layer(architecture)
    return LayerCode(pulumi.FileArchive(_relative(build.zip_path)), build.source_code_hash)


def function_code() -> pulumi.Archive:
    """The handlers: the repo's ``functions/`` package at the archive root's ``functions/``."""
    return pulumi.AssetArchive({"functions": pulumi.FileArchive(_relative(PROJECT_ROOT / "functions"))})


def _relative(path: Path) -> str:
    # Relative to where pulumi runs the program: keeps machine paths out of the stack state.
    return os.path.relpath(path, os.getcwd())
