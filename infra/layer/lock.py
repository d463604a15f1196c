"""Write the layer's lock files: resolve pyproject's runtime dependencies for Lambda's platforms.

Run it after changing ``[project].dependencies`` in pyproject.toml (it needs the registry)::

    .venv/bin/python -m infra.layer.lock

For each architecture pip resolves the dependencies as Lambda's ``python3.13`` would install them
(``--platform manylinux2014_<cpu> --python-version 3.13 --implementation cp --only-binary=:all:``) and
every wheel it chose is hashed into ``infra/layer/requirements-<arch>.lock``. The second architecture is
resolved under the first one's pins, so both locks name the same versions and differ only in the
hashes of compiled wheels. The wheels are also copied into the wheel cache, so the next build needs
no download.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Callable, Sequence

from infra.layer.lambda_platform import ARCHITECTURES, PYTHON_VERSION, pip_platform
from infra.layer.lockfile import LockedWheel, format_lock, lock_path
from infra.layer.wheel_cache import cache_dir, sha256_file, wheel_name

__all__ = ["runtime_requirements", "pip_resolve_command", "resolve", "write_locks", "main"]

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

Runner = Callable[[Sequence[str]], None]


def runtime_requirements(pyproject: Path | None = None) -> list[str]:
    """pyproject.toml's ``[project].dependencies``, sorted: what the functions import at run time.

    boto3 is among them on purpose: the layer ships the SDK version the tests ran with, instead of
    whatever version the Lambda runtime happens to carry that day.
    """
    return sorted(tomllib.loads((pyproject or PYPROJECT).read_text())["project"]["dependencies"])


def pip_resolve_command(architecture: str, requirements: Sequence[str], dest: Path,
                        constraints: Path | None = None, python: str = sys.executable) -> list[str]:
    """The pip invocation that resolves and downloads ``requirements`` for ``architecture`` into ``dest``."""
    cmd = [python, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
           "--platform", pip_platform(architecture), "--python-version", PYTHON_VERSION, "--implementation", "cp",
           "--dest", str(dest)]
    if constraints is not None:
        cmd += ["--constraint", str(constraints)]
    return cmd + list(requirements)


def _run(cmd: Sequence[str]) -> None:
    subprocess.run(list(cmd), check=True)


def resolve(architecture: str, requirements: Sequence[str], dest: Path, constraints: Path | None = None,
            run: Runner = _run) -> list[LockedWheel]:
    """Resolve into the empty folder ``dest`` and describe each wheel pip chose (name, version, sha256)."""
    run(pip_resolve_command(architecture, requirements, dest, constraints))
    wheels = []
    for path in sorted(dest.glob("*.whl")):
        name, version = wheel_name(path)
        wheels.append(LockedWheel(name, version, (sha256_file(path),)))
    return wheels


def write_locks(architectures: Sequence[str] = ARCHITECTURES, *, pyproject: Path | None = None,
                lock_dir: Path | None = None, cache_root: Path | None = None, run: Runner = _run) -> list[Path]:
    """Resolve every architecture and write its lock file; return the files written.

    Raises
    ------
    RuntimeError
        If two architectures resolve to different versions (a dependency with platform markers);
        the lock files are then left as they were.
    """
    requirements = runtime_requirements(pyproject)
    resolved: dict[str, list[LockedWheel]] = {}
    with tempfile.TemporaryDirectory(prefix="relay-lock-") as tmp:
        pins = Path(tmp) / "pins.txt"
        for architecture in architectures:
            dest = Path(tmp) / architecture
            dest.mkdir()
            resolved[architecture] = resolve(architecture, requirements, dest,
                                             constraints=pins if pins.exists() else None, run=run)
            if not pins.exists():
                pins.write_text("".join(f"{w.requirement}\n" for w in resolved[architecture]))
            target = cache_dir(architecture, cache_root)
            target.mkdir(parents=True, exist_ok=True)
            for wheel in dest.glob("*.whl"):
                shutil.copy2(wheel, target / wheel.name)
    versions = {arch: {(w.name, w.version) for w in wheels} for arch, wheels in resolved.items()}
    first, *others = architectures
    for other in others:
        if versions[other] != versions[first]:
            raise RuntimeError(f"{first} and {other} resolve to different pins: "
                               f"{sorted(versions[first] ^ versions[other])}")
    written = []
    for architecture, wheels in resolved.items():
        path = lock_path(architecture, lock_dir)
        path.write_text(format_lock(architecture, wheels, requirements))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: rewrite every lock file from pyproject.toml."""
    parser = argparse.ArgumentParser(prog="python -m infra.layer.lock", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    for path in write_locks():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
