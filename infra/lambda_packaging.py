"""Function code and the runtime-dependency layer (not named packaging.py: pulumi runs the program
with infra/ on sys.path, where that name would shadow the PyPI `packaging` the SDK imports).

The functions' code is the repo's ``functions/`` package, zipped by Pulumi as ``functions/...`` so the
handler path ``functions.<name>.handler.lambda_handler`` resolves in the Lambda runtime.

Their runtime dependencies (aws-lambda-powertools, pydantic, jinja2 — boto3 ships with the runtime)
go in one Lambda layer built with pip for Lambda's platform::

    pip install --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.11 \
        --implementation cp --target build/layer/<hash>/python <pinned requirements>

cached under ``build/layer/<hash>`` where ``<hash>`` is a hash of the pinned requirements, so an
unchanged pyproject never rebuilds it. The build needs the network, so it is skipped (a small
placeholder layer is used instead) when ``RELAY_SKIP_LAYER_BUILD=1`` or when the program runs under
Pulumi's mocks (the tests and the local stage, whose handlers run in-process with the venv).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Callable, Sequence

import pulumi

from infra.config import PROJECT_ROOT

__all__ = [
    "SKIP_ENV",
    "LAMBDA_RUNTIME",
    "runtime_requirements",
    "requirements_hash",
    "pip_command",
    "build_layer",
    "should_skip_layer_build",
    "layer_archive",
    "function_code",
]

SKIP_ENV = "RELAY_SKIP_LAYER_BUILD"
LAMBDA_RUNTIME = "python3.11"
# boto3/botocore come with the Lambda runtime; packaging them would only add cold-start weight.
_IN_RUNTIME = {"boto3", "botocore", "s3transfer"}

Runner = Callable[[Sequence[str]], None]


def runtime_requirements(pyproject: Path | None = None) -> list[str]:
    """The pinned ``[project].dependencies`` of pyproject.toml, minus what the runtime provides."""
    path = pyproject or PROJECT_ROOT / "pyproject.toml"
    deps = tomllib.loads(path.read_text())["project"]["dependencies"]
    out = []
    for dep in deps:
        name = dep.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()
        if name not in _IN_RUNTIME:
            out.append(dep)
    return sorted(out)


def requirements_hash(requirements: Sequence[str]) -> str:
    """A short, order-independent hash of the pinned requirements (the cache key)."""
    text = "\n".join(sorted(requirements)) + f"\n{LAMBDA_RUNTIME}\nmanylinux2014_x86_64\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pip_command(target: Path, requirements: Sequence[str]) -> list[str]:
    """The pip invocation that installs Lambda-compatible wheels into ``target``."""
    return [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--platform", "manylinux2014_x86_64", "--only-binary=:all:",
            "--python-version", "3.11", "--implementation", "cp",
            "--target", str(target), *requirements]


def _run(cmd: Sequence[str]) -> None:
    subprocess.run(list(cmd), check=True)


def build_layer(requirements: Sequence[str], build_root: Path | None = None, run: Runner = _run) -> Path:
    """Build (or reuse) the layer directory for ``requirements``; return the directory to zip.

    The directory contains ``python/`` (Lambda adds ``/opt/python`` to ``sys.path``). A finished build
    is marked with a ``.complete`` file, so an interrupted build is redone rather than reused.
    """
    root = (build_root or PROJECT_ROOT / "build" / "layer") / requirements_hash(requirements)
    marker = root / ".complete"
    if marker.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    run(pip_command(root / "python", requirements))
    marker.write_text("\n".join(requirements) + "\n")
    return root


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


def layer_archive(requirements: Sequence[str] | None = None) -> pulumi.Archive:
    """The dependency layer's code: a real build, or a placeholder when the build is skipped."""
    reqs = list(requirements) if requirements is not None else runtime_requirements()
    if should_skip_layer_build():
        # A valid one-file zip so an emulator can still publish the layer version; the local stage
        # runs handlers in-process with the venv, which already has these dependencies.
        return pulumi.AssetArchive({
            "python/relay_layer_skipped.txt": pulumi.StringAsset(
                f"layer build skipped ({SKIP_ENV} or mocks); requirements:\n" + "\n".join(reqs) + "\n"),
        })
    return pulumi.FileArchive(_relative(build_layer(reqs)))


def function_code() -> pulumi.Archive:
    """The handlers: the repo's ``functions/`` package at the archive root's ``functions/``."""
    return pulumi.AssetArchive({"functions": pulumi.FileArchive(_relative(PROJECT_ROOT / "functions"))})


def _relative(path: Path) -> str:
    # Relative to where pulumi runs the program: keeps machine paths out of the stack state.
    return os.path.relpath(path, os.getcwd())
