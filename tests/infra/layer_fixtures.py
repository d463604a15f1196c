"""Tiny wheels and lock files made on the spot, so the layer build is tested without any registry."""
from __future__ import annotations

import zipfile
from pathlib import Path

from infra.layer.lockfile import LockedWheel, format_lock, lock_path
from infra.layer.wheel_cache import cache_dir, sha256_file

# name -> {path in the wheel: content}; one wheel relocates .data/purelib and ships a script, like
# real wheels do, so both paths of the unpacker are exercised.
FIXTURE_WHEELS: dict[str, dict[str, str]] = {
    "relay_fixture_core": {
        "relay_fixture_core/__init__.py":
            "KINDS = {'email', 'sms', 'push'}\n\ndef greet(name):\n    return f'hi {name}'\n",
        "relay_fixture_core/render.py": "from relay_fixture_core import greet\n\nTEMPLATE = greet('Ada')\n",
        "relay_fixture_core-1.0.0.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: relay-fixture-core\nVersion: 1.0.0\n",
        "relay_fixture_core-1.0.0.dist-info/RECORD": "",
    },
    "relay_fixture_extras": {
        "relay_fixture_extras/__init__.py": "VALUE = 42\n",
        "relay_fixture_extras-2.1.0.data/purelib/relay_fixture_extras_plugin.py": "PLUGIN = True\n",
        "relay_fixture_extras-2.1.0.data/scripts/relay-fixture": "#!python\nprint('script')\n",
        "relay_fixture_extras-2.1.0.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: relay-fixture-extras\nVersion: 2.1.0\nRequires-Dist: relay-fixture-core\n",
        "relay_fixture_extras-2.1.0.dist-info/RECORD": "",
    },
}
VERSIONS = {"relay_fixture_core": "1.0.0", "relay_fixture_extras": "2.1.0"}


def make_wheel(directory: Path, dist: str, files: dict[str, str]) -> Path:
    """Write ``<dist>-<version>-py3-none-any.whl`` with ``files`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{dist}-{VERSIONS[dist]}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
    return path


def make_fixture_layer_inputs(root: Path, architecture: str = "arm64") -> tuple[Path, Path, list[LockedWheel]]:
    """A lock dir and a wheel cache root holding the fixture wheels; returns (lock_dir, cache_root, wheels)."""
    lock_dir, cache_root = root / "locks", root / "wheels"
    lock_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for dist, files in FIXTURE_WHEELS.items():
        path = make_wheel(cache_dir(architecture, cache_root), dist, files)
        wheels.append(LockedWheel(dist.replace("_", "-"), VERSIONS[dist], (sha256_file(path),)))
    lock_path(architecture, lock_dir).write_text(format_lock(architecture, wheels, ["relay-fixture-extras==2.1.0"]))
    return lock_dir, cache_root, wheels
