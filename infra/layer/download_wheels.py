"""Fill the wheel cache from the lock files: the only step of the layer that needs the network.

``make setup`` runs it once; afterwards the layer builds, and its tests, read only the cache::

    .venv/bin/python -m infra.layer.download_wheels            # every architecture
    .venv/bin/python -m infra.layer.download_wheels --arch arm64

pip checks each download against the lock's hashes (``--require-hashes``). A cache that already holds
every locked wheel is left alone without asking the registry, so the command is cheap to repeat.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

from infra.layer.lambda_platform import ARCHITECTURES, PYTHON_VERSION, pip_platform
from infra.layer.lockfile import LockedWheel, LockFileError, lock_path, read_lock
from infra.layer.wheel_cache import cache_dir, match_wheels

__all__ = ["pip_download_command", "ensure_wheels", "main"]

Runner = Callable[[Sequence[str]], None]


def pip_download_command(architecture: str, lock: Path, dest: Path, python: str = sys.executable) -> list[str]:
    """The pip invocation that downloads exactly the locked wheels for ``architecture`` into ``dest``."""
    return [python, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes", "--only-binary=:all:",
            "--platform", pip_platform(architecture), "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--dest", str(dest), "-r", str(lock)]


def _run(cmd: Sequence[str]) -> None:
    subprocess.run(list(cmd), check=True)


def ensure_wheels(architecture: str, *, cache_root: Path | None = None, lock_dir: Path | None = None,
                  run: Runner = _run) -> tuple[Path, list[LockedWheel]]:
    """Make sure the cache holds every wheel of ``architecture``'s lock file; download what is missing.

    Parameters
    ----------
    architecture
        ``arm64`` or ``x86_64``.
    cache_root
        The cache's root (default ``build/wheels``).
    lock_dir
        Where the lock files are (default ``infra/layer``).
    run
        Runs the pip command (replaced in tests).

    Returns
    -------
    directory, fetched
        The architecture's cache folder, and the lock entries that had to be downloaded (empty when the
        cache was complete and the registry was not asked).

    Raises
    ------
    LockFileError
        If the lock file is missing or malformed, or pip left a locked wheel missing.
    """
    lock = lock_path(architecture, lock_dir)
    wheels = read_lock(lock)
    directory = cache_dir(architecture, cache_root)
    _, fetched = match_wheels(wheels, directory)
    if fetched:
        directory.mkdir(parents=True, exist_ok=True)
        run(pip_download_command(architecture, lock, directory))
        _, missing = match_wheels(wheels, directory)
        if missing:
            raise LockFileError(f"{lock.name}: still missing after download: "
                                f"{', '.join(w.requirement for w in missing)}")
    return directory, fetched


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--arch`` (repeatable; default every architecture) and ``--cache-dir``."""
    parser = argparse.ArgumentParser(prog="python -m infra.layer.download_wheels", description=__doc__.split("\n")[0])
    parser.add_argument("--arch", action="append", choices=ARCHITECTURES, help="default: every architecture")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: build/wheels")
    args = parser.parse_args(argv)
    for architecture in args.arch or ARCHITECTURES:
        try:
            directory, fetched = ensure_wheels(architecture, cache_root=args.cache_dir)
        except (LockFileError, subprocess.CalledProcessError) as err:
            print(f"download_wheels: {architecture}: {err}", file=sys.stderr)
            return 1
        if fetched:  # quiet when nothing changed: `make setup` runs this before every `make test`
            print(f"layer wheels for {architecture}: downloaded {len(fetched)} into {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
