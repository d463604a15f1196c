"""The dependency layer is built offline from the lock file and the wheel cache, and reproducibly.

The real path (the committed lock files and the wheels `make setup` downloaded) runs whenever the
cache is there; tiny wheels made on the spot cover the same build everywhere, registry or not.
"""
from __future__ import annotations

import hashlib
import importlib.util
import marshal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.layer import build as layer_build
from infra.layer.build import LayerBuildError, build_layer, layer_key
from infra.layer.lambda_platform import DEFAULT_ARCHITECTURE
from infra.layer.lockfile import lock_path, read_lock
from infra.layer.wheel_cache import cache_dir, match_wheels
from tests.infra.layer_fixtures import FIXTURE_WHEELS, make_fixture_layer_inputs, make_wheel


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_complete(architecture: str) -> bool:
    return not match_wheels(read_lock(lock_path(architecture)), cache_dir(architecture))[1]


def _pyc_header(data: bytes) -> tuple[bytes, int]:
    return data[:4], int.from_bytes(data[4:8], "little")


# ---- the real path -----------------------------------------------------------------------------------
@pytest.mark.skipif(not _cache_complete(DEFAULT_ARCHITECTURE),
                    reason="no wheel cache: `.venv/bin/python -m infra.layer.download_wheels` (make setup) fills it")
def test_real_layer_built_twice_from_cached_wheels_has_one_hash(tmp_path: Path) -> None:
    # GIVEN the committed lock file and the wheels make setup downloaded (no registry from here on)
    # WHEN the layer is built twice, in two different build folders
    first = build_layer(DEFAULT_ARCHITECTURE, build_root=tmp_path / "one")
    second = build_layer(DEFAULT_ARCHITECTURE, build_root=tmp_path / "two")
    # THEN the archives are the same bytes, and the hash Lambda will report is that of the file
    assert first.key == second.key
    assert first.sha256 == second.sha256 == _sha256(first.zip_path) == _sha256(second.zip_path)
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()
    with zipfile.ZipFile(first.zip_path) as archive:
        names = archive.namelist()
        assert names == sorted(names) and all(n.startswith("python/") for n in names)
        assert {i.date_time for i in archive.infolist()} == {layer_build.ZIP_TIMESTAMP}
        for package in ("boto3", "botocore", "pydantic", "pydantic_core", "jinja2", "markupsafe",
                        "aws_lambda_powertools", "urllib3"):
            assert f"python/{package}/__init__.py" in names, package
            pyc = f"python/{package}/__pycache__/__init__.cpython-313.pyc"
            magic, flags = _pyc_header(archive.read(pyc))
            assert magic == importlib.util.MAGIC_NUMBER and flags == 0b01  # hash-based, unchecked
        assert any(n.startswith("python/pydantic_core/") and "aarch64" in n and n.endswith(".so") for n in names)
        assert not [n for n in names if n.startswith("python/bin/")]
        assert first.zip_path.stat().st_size < 50 * 1024 * 1024  # Lambda's direct-upload limit for a layer


# ---- the same build on fixture wheels ------------------------------------------------------------------
def test_fixture_layer_built_twice_in_different_folders_has_one_hash(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    first = build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "a" / "deep")
    second = build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "b")
    assert first.sha256 == second.sha256 == _sha256(second.zip_path)
    assert first.source_code_hash == second.source_code_hash
    assert str(tmp_path).encode() not in first.zip_path.read_bytes()  # no build path inside


def test_fixture_layer_lays_out_python_dir_byte_compiled_for_opt_python(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    built = build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")
    with zipfile.ZipFile(built.zip_path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert "python/relay_fixture_extras_plugin.py" in names       # .data/purelib moved to the root
        assert not [n for n in names if "relay-fixture" in n or ".data/" in n]  # scripts left out
        assert "python/relay_fixture_core-1.0.0.dist-info/METADATA" in names
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0) and info.external_attr >> 16 == 0o100644
        pyc = archive.read("python/relay_fixture_core/__pycache__/render.cpython-313.pyc")
    magic, flags = _pyc_header(pyc)
    assert magic == importlib.util.MAGIC_NUMBER and flags == 0b01
    code = marshal.loads(pyc[16:])
    assert code.co_filename == "/opt/python/relay_fixture_core/render.py"


def test_fixture_layer_imports_from_its_pycs_without_reading_sources(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    built = build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")
    opt = tmp_path / "opt"
    with zipfile.ZipFile(built.zip_path) as archive:
        archive.extractall(opt)
    # a source changed after the build is never read: Lambda's /opt is read-only, the pyc is what runs
    (opt / "python" / "relay_fixture_core" / "render.py").write_text("raise SystemExit('source was read')\n")
    out = subprocess.run([sys.executable, "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                          "import relay_fixture_core.render as r, relay_fixture_extras_plugin as p; "
                          "print(r.TEMPLATE, p.PLUGIN)", str(opt / "python")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "hi Ada True"


def test_layer_key_follows_lock_content_and_build_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_dir, _, _ = make_fixture_layer_inputs(tmp_path)
    lock = lock_path("arm64", lock_dir)
    key = layer_key(lock, "arm64")
    assert len(key) == 16 and key == layer_key(lock, "arm64")
    assert key != layer_key(lock, "x86_64")
    monkeypatch.setattr(layer_build, "BUILD_RECIPE", "next")
    assert layer_key(lock, "arm64") != key
    monkeypatch.undo()
    lock.write_text(lock.read_text().replace("1.0.0", "1.0.1"))
    assert layer_key(lock, "arm64") != key


def test_finished_build_is_reused_without_rebuilding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    kwargs = dict(lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")
    first = build_layer("arm64", **kwargs)
    monkeypatch.setattr(layer_build, "byte_compile", lambda *a: pytest.fail("rebuilt a finished layer"))
    assert build_layer("arm64", **kwargs) == first


def test_interrupted_build_leaves_no_archive_and_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    kwargs = dict(lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")

    def killed_while_zipping(files: dict, dest: Path) -> None:
        dest.write_bytes(b"PK half a zip")
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(layer_build, "write_deterministic_zip", killed_while_zipping)
        with pytest.raises(KeyboardInterrupt):
            build_layer("arm64", **kwargs)
    assert [p for p in (tmp_path / "build").rglob("*") if p.is_file()] == []
    assert zipfile.is_zipfile(build_layer("arm64", **kwargs).zip_path)


def test_missing_wheel_refused_naming_it_and_the_download_command(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    next(cache_dir("arm64", cache_root).glob("relay_fixture_core-*.whl")).unlink()
    with pytest.raises(LayerBuildError) as err:
        build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")
    assert "relay-fixture-core==1.0.0" in str(err.value)
    assert "python -m infra.layer.download_wheels" in str(err.value)


def test_wheel_whose_hash_is_not_locked_is_never_built_in(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    tampered = dict(FIXTURE_WHEELS["relay_fixture_core"], **{"relay_fixture_core/__init__.py": "import os\n"})
    make_wheel(cache_dir("arm64", cache_root), "relay_fixture_core", tampered)  # same file name, other bytes
    with pytest.raises(LayerBuildError, match="relay-fixture-core==1.0.0"):
        build_layer("arm64", lock_dir=lock_dir, cache_root=cache_root, build_root=tmp_path / "build")


def test_wheel_member_escaping_the_layer_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "relay_fixture_core", {"../../etc/cron.d/evil": "* * * * * root sh\n"})
    with pytest.raises(LayerBuildError, match="unsafe member"):
        layer_build.unpack_wheel(wheel, {})


def test_byte_compile_refuses_a_python_other_than_lambdas(tmp_path: Path) -> None:
    fake = tmp_path / "python3.11"
    fake.write_text("#!/bin/sh\necho 3.11\n")
    fake.chmod(0o755)
    with pytest.raises(LayerBuildError, match="needs Python 3.13"):
        layer_build.byte_compile({"relay_fixture_core/__init__.py": b""}, python=str(fake))


def test_source_that_does_not_compile_fails_the_build_naming_it() -> None:
    with pytest.raises(LayerBuildError, match=r"broken/mod.py: .*invalid syntax|broken/mod.py"):
        layer_build.byte_compile({"broken/mod.py": b"def (:\n", "fine.py": b"x = 1\n"})
