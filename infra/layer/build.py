"""Build the dependency layer's zip from a lock file and the wheel cache, reproducibly and offline.

The same lock file and the same wheels give the same archive, byte for byte:

* every wheel is picked by the sha256 the lock lists, and unpacked in memory by this module (not
  ``pip install``, which writes machine paths into script shebangs and RECORD files);
* the sources are byte-compiled for Lambda's Python into ``unchecked-hash`` pycs: no source mtimes in
  them, and the runtime loads them without reading the source (it could not write pycs of its own:
  Lambda's ``/opt`` is read-only). Their code names ``/opt/python/...``, where Lambda unpacks the layer,
  so no build folder leaks in; they are compiled by a child interpreter with a fixed hash seed;
* the zip lists files in sorted order with one fixed timestamp and mode.

A build is cached as ``build/layer/<architecture>-<key>/layer.zip``, ``<key>`` being a hash of the lock
file, the runtime, the architecture and :data:`BUILD_RECIPE`; the zip appears only once it is complete.
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from infra.layer.lambda_platform import LAMBDA_RUNTIME, PYTHON_VERSION
from infra.layer.lockfile import lock_path, read_lock
from infra.layer.wheel_cache import cache_dir, match_wheels

__all__ = ["BUILD_RECIPE", "DEFAULT_BUILD_ROOT", "LayerBuild", "LayerBuildError", "layer_key", "build_layer",
           "unpack_wheel", "byte_compile", "write_deterministic_zip"]

# Bump when the way a layer is assembled changes, so cached builds of an unchanged lock are redone.
BUILD_RECIPE = "1"
DEFAULT_BUILD_ROOT = Path(__file__).resolve().parents[2] / "build" / "layer"
# Lambda unpacks a layer into /opt and puts /opt/python on sys.path.
SITE_DIR = "python"
RUNTIME_SITE = "/opt/python"
# zip's epoch: any fixed value works; this one says plainly that it carries no information.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--: readable by Lambda's sandbox user whatever the umask

# Runs in the child interpreter: argv = sources.zip, pycs.zip, the runtime's site folder. Each pyc is
# PEP 552's layout: magic, flags 0b01 (hash-based, unchecked), the source hash, the marshalled code.
_COMPILE = """
import importlib.util, marshal, posixpath, sys, zipfile
sources, compiled, site = sys.argv[1:]
tag, failed = sys.implementation.cache_tag, []
with zipfile.ZipFile(sources) as src, zipfile.ZipFile(compiled, "w", zipfile.ZIP_STORED) as out:
    for name in src.namelist():
        data = src.read(name)
        try:
            code = compile(data, posixpath.join(site, name), "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError) as err:
            failed.append(f"{name}: {err}")
            continue
        folder, base = posixpath.split(name)
        pyc = posixpath.join(folder, "__pycache__", f"{base[:-3]}.{tag}.pyc")
        out.writestr(pyc, importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
                     + importlib.util.source_hash(data) + marshal.dumps(code))
if failed:
    sys.exit("cannot compile:\\n" + "\\n".join(failed))
"""


class LayerBuildError(RuntimeError):
    """The layer cannot be built: a wheel is not in the cache, a wheel is unsafe, or compiling failed."""


@dataclass(frozen=True)
class LayerBuild:
    """A finished layer archive."""

    architecture: str
    key: str
    zip_path: Path
    sha256: str          # hex digest of the zip's bytes

    @property
    def source_code_hash(self) -> str:
        """base64 of the sha256 digest: Lambda's ``CodeSha256`` for this archive."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def layer_key(lock: Path, architecture: str) -> str:
    """16 hex chars identifying a build: the lock file's bytes, runtime, architecture, recipe."""
    digest = hashlib.sha256(f"{LAMBDA_RUNTIME}\n{architecture}\nrecipe {BUILD_RECIPE}\n".encode())
    digest.update(lock.read_bytes())
    return digest.hexdigest()[:16]


def unpack_wheel(wheel: Path, files: dict[str, bytes]) -> None:
    """Add one wheel's files to ``files`` (path in the layer's ``python/`` → bytes), as pip lays them out.

    ``<dist>.data/purelib`` and ``platlib`` go to the root like the rest; ``scripts``, ``headers`` and
    ``data`` are left out (nothing in a layer runs console scripts or reads sys.prefix). The layer is
    assembled in memory: thousands of small files (botocore's service models) cost far more on disk.

    Raises
    ------
    LayerBuildError
        If a member would land outside the layer or on a file another wheel already provides.
    """
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if not parts or info.filename.startswith("/") or ".." in parts:
                raise LayerBuildError(f"{wheel.name}: unsafe member {info.filename!r}")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            relative = "/".join(parts)
            if relative in files:
                raise LayerBuildError(f"{wheel.name}: {relative} is already installed by another wheel")
            files[relative] = archive.read(info)


def _python_version(python: str) -> str:
    out = subprocess.run([python, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def byte_compile(files: Mapping[str, bytes], python: str = sys.executable) -> dict[str, bytes]:
    """Compile every ``.py`` of ``files`` for Lambda's Python; return the pycs by their layer path.

    The pycs are PEP 552 ``unchecked-hash`` ones whose code names ``/opt/python/<path>`` (see the
    module docstring for why), made by a child interpreter with a clean environment (no
    ``PYTHONOPTIMIZE`` or ``PYTHONPYCACHEPREFIX`` to change them) and a fixed hash seed.

    Raises
    ------
    LayerBuildError
        If ``python`` is not Lambda's Python version (its pycs would be ignored) or a file fails to compile.
    """
    version = _python_version(python)
    if version != PYTHON_VERSION:
        raise LayerBuildError(
            f"byte-compiling for {LAMBDA_RUNTIME} needs Python {PYTHON_VERSION}; {python} is {version}")
    with tempfile.TemporaryDirectory(prefix="relay-pyc-") as tmp:
        sources, compiled = Path(tmp) / "sources.zip", Path(tmp) / "pycs.zip"
        with zipfile.ZipFile(sources, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in sorted(files):
                if name.endswith(".py"):
                    archive.writestr(name, files[name])
        result = subprocess.run([python, "-S", "-c", _COMPILE, str(sources), str(compiled), RUNTIME_SITE],
                                env={"PYTHONHASHSEED": "0"}, capture_output=True, text=True)
        if result.returncode != 0:
            raise LayerBuildError(f"byte-compiling the layer failed:\n{result.stdout}{result.stderr}")
        with zipfile.ZipFile(compiled) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


def write_deterministic_zip(files: Mapping[str, bytes], dest: Path, prefix: str = SITE_DIR) -> None:
    """Zip ``files`` under ``<prefix>/`` in sorted order, with one timestamp and one mode."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=ZIP_TIMESTAMP)
            info.create_system = 3  # unix, so external_attr is read as a mode on every platform
            info.external_attr = ZIP_FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=6)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_layer(architecture: str, *, lock_dir: Path | None = None, cache_root: Path | None = None,
                build_root: Path | None = None, python: str = sys.executable) -> LayerBuild:
    """Build (or reuse) the layer zip for ``architecture`` from its lock file and the wheel cache.

    Parameters
    ----------
    architecture
        ``arm64`` or ``x86_64``: picks ``requirements-<architecture>.lock`` and the cache folder.
    lock_dir, cache_root, build_root
        Where the lock files, the wheel cache and the builds are (defaults: ``infra/layer``,
        ``build/wheels``, ``build/layer``).
    python
        The interpreter that byte-compiles; must be Lambda's Python version.

    Returns
    -------
    LayerBuild
        The archive, its cache key and its sha256.

    Raises
    ------
    LayerBuildError
        If a locked wheel is not in the cache (run ``python -m infra.layer.download_wheels``), or the
        build fails.
    """
    lock = lock_path(architecture, lock_dir)
    wheels = read_lock(lock)
    key = layer_key(lock, architecture)
    out_dir = (build_root or DEFAULT_BUILD_ROOT) / f"{architecture}-{key}"
    zip_path = out_dir / "layer.zip"
    if zip_path.is_file():
        return LayerBuild(architecture, key, zip_path, _sha256(zip_path))
    directory = cache_dir(architecture, cache_root)
    found, missing = match_wheels(wheels, directory)
    if missing:
        raise LayerBuildError(
            f"{len(missing)} wheel(s) of {lock.name} are not in {directory} "
            f"({', '.join(w.requirement for w in missing)}): run `.venv/bin/python -m infra.layer.download_wheels`")
    files: dict[str, bytes] = {}
    for name in sorted(found):
        unpack_wheel(found[name], files)
    files.update(byte_compile(files, python))
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / f"layer.zip.{os.getpid()}.partial"
    try:
        write_deterministic_zip(files, partial)
        os.replace(partial, zip_path)  # atomic: an interrupted build never leaves a zip to reuse
    finally:
        partial.unlink(missing_ok=True)
    return LayerBuild(architecture, key, zip_path, _sha256(zip_path))
