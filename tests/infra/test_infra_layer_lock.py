"""The lock files pin every runtime dependency with its hash; the wheel cache is filled from them.

Nothing here reaches a registry: pip is replaced by fakes that copy fixture wheels, and the checks of
the committed lock files read pyproject.toml and (when `make setup` filled it) the wheel cache.
"""
from __future__ import annotations

import email.parser
import re
import shutil
import zipfile
from pathlib import Path
from typing import Sequence

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from infra.layer import download_wheels, lock
from infra.layer.lambda_platform import ARCHITECTURES
from infra.layer.lockfile import (
    LockedWheel, LockFileError, format_lock, lock_path, normalize_name, parse_lock, read_lock,
)
from infra.layer.wheel_cache import cache_dir, match_wheels
from tests.infra.layer_fixtures import FIXTURE_WHEELS, make_fixture_layer_inputs, make_wheel

SHA = re.compile(r"^[0-9a-f]{64}$")
# Compiled wheels: one file per CPU, so their hashes differ between the two lock files.
COMPILED = {"pydantic-core", "markupsafe"}


# ---- the committed lock files ------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_committed_lock_pins_every_top_level_dependency_of_pyproject(architecture: str) -> None:
    path = lock_path(architecture)
    pins = {w.name: w for w in read_lock(path)}
    top_level = lock.runtime_requirements()
    for requirement in map(Requirement, top_level):
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"pyproject pins {requirement} exactly"
        locked = pins.get(normalize_name(requirement.name))
        assert locked is not None and locked.version == spec.version, (
            f"{requirement} changed in pyproject.toml: rewrite the locks (`.venv/bin/python -m infra.layer.lock`)")
    header = [line[4:] for line in path.read_text().splitlines() if line.startswith("#   ")]
    assert header == top_level, "the lock was written from other requirements than pyproject.toml's"
    assert {"boto3", "botocore", "urllib3", "pydantic-core", "typing-extensions"} <= set(pins)
    assert all(len(w.hashes) == 1 and SHA.match(w.hashes[0]) for w in pins.values())


def test_committed_locks_agree_on_versions_and_differ_only_in_compiled_wheels() -> None:
    arm, x86 = ({w.name: w for w in read_lock(lock_path(a))} for a in ("arm64", "x86_64"))
    assert {n: w.version for n, w in arm.items()} == {n: w.version for n, w in x86.items()}
    assert {n for n in arm if arm[n].hashes != x86[n].hashes} == COMPILED


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_committed_lock_is_closed_under_the_wheels_own_requirements(architecture: str) -> None:
    wheels = read_lock(lock_path(architecture))
    found, missing = match_wheels(wheels, cache_dir(architecture))
    if missing:
        pytest.skip("no wheel cache: `.venv/bin/python -m infra.layer.download_wheels` (make setup) fills it")
    versions = {w.name: w.version for w in wheels}
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    env = {**default_environment(), "python_version": "3.13", "python_full_version": "3.13.0",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": machine,
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix"}
    wanted = [(Requirement(r), "") for r in lock.runtime_requirements()]
    seen: set[tuple[str, str]] = set()
    while wanted:
        requirement, extra = wanted.pop()
        name = normalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate({**env, "extra": extra}):
            continue
        assert name in versions, f"{name} is needed ({requirement}) but not locked"
        assert requirement.specifier.contains(versions[name], prereleases=True), (
            f"{name}=={versions[name]} does not meet {requirement}")
        for wanted_extra in {""} | set(requirement.extras):
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            with zipfile.ZipFile(found[name]) as wheel:
                meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
                metadata = email.parser.BytesParser().parsebytes(wheel.read(meta))
            wanted += [(Requirement(r), wanted_extra) for r in metadata.get_all("Requires-Dist") or []]
    needed = {name for name, _ in seen}
    assert needed == set(versions), f"locked but never needed: {sorted(set(versions) - needed)}"


# ---- the format ----------------------------------------------------------------------------------------
def test_lock_format_round_trips_sorted_with_a_header() -> None:
    wheels = [LockedWheel("pydantic-core", "2.50.5", ("b" * 64,)), LockedWheel("jinja2", "3.1.6", ("a" * 64, "c" * 64))]
    text = format_lock("arm64", wheels, ["jinja2==3.1.6"])
    assert text.startswith("# The functions' runtime dependencies for Lambda python3.13 on arm64\n")
    assert "(manylinux2014_aarch64, cp313)" in text
    assert parse_lock(text) == sorted(wheels, key=lambda w: w.name)


@pytest.mark.parametrize(("text", "message"), [
    ("jinja2>=3.1\n", "not pinned as name==version"),
    ("jinja2==3.1.6\n", "needs --hash=sha256"),
    ("jinja2==3.1.6 --hash=md5:abc\n", "needs --hash=sha256"),
    (f"jinja2==3.1.6 --hash=sha256:{'a' * 64}\nJinja2==3.1.5 --hash=sha256:{'b' * 64}\n",
     "pinned more than once: jinja2"),
])
def test_malformed_lock_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(LockFileError, match=message):
        parse_lock(text)


def test_missing_lock_names_the_command_that_writes_it(tmp_path: Path) -> None:
    with pytest.raises(LockFileError, match=r"python -m infra.layer.lock"):
        read_lock(lock_path("arm64", tmp_path))


# ---- writing the locks (pip replaced) ----------------------------------------------------------------------
class FakeResolver:
    """Plays `pip download`: copies the fixture wheels into --dest and records each command."""

    def __init__(self, source: Path, skew: str | None = None) -> None:
        self.source, self.skew, self.commands = source, skew, []

    def __call__(self, cmd: Sequence[str]) -> None:
        self.commands.append(list(cmd))
        dest = Path(cmd[cmd.index("--dest") + 1])
        for wheel in self.source.glob("*.whl"):
            shutil.copy(wheel, dest / wheel.name)
        if self.skew and "manylinux2014_x86_64" in cmd:  # a platform marker pulled another version
            core = dest / "relay_fixture_core-1.0.0-py3-none-any.whl"
            core.rename(dest / "relay_fixture_core-1.0.1-py3-none-any.whl")


def test_write_locks_resolves_each_platform_under_the_first_ones_pins(tmp_path: Path) -> None:
    _, source_root, wheels = make_fixture_layer_inputs(tmp_path / "src")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["relay-fixture-extras==2.1.0"]\n')
    resolver = FakeResolver(cache_dir("arm64", source_root))
    (tmp_path / "locks").mkdir()
    written = lock.write_locks(pyproject=pyproject, lock_dir=tmp_path / "locks", cache_root=tmp_path / "cache",
                               run=resolver)
    assert [p.name for p in written] == ["requirements-arm64.lock", "requirements-x86_64.lock"]
    first, second = resolver.commands
    assert "manylinux2014_aarch64" in first and "--constraint" not in first
    assert "manylinux2014_x86_64" in second and "--constraint" in second
    assert first[-1] == second[-1] == "relay-fixture-extras==2.1.0"
    assert "--only-binary=:all:" in first and first[first.index("--python-version") + 1] == "3.13"
    for path in written:
        assert read_lock(path) == sorted(wheels, key=lambda w: w.name)
        assert "#   relay-fixture-extras==2.1.0" in path.read_text()
    for architecture in ARCHITECTURES:  # the resolved wheels are cached: no second download
        assert not match_wheels(wheels, cache_dir(architecture, tmp_path / "cache"))[1]


def test_write_locks_refuses_platforms_that_resolve_differently_and_keeps_old_locks(tmp_path: Path) -> None:
    _, source_root, _ = make_fixture_layer_inputs(tmp_path / "src")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["relay-fixture-extras==2.1.0"]\n')
    locks = tmp_path / "locks"
    locks.mkdir()
    lock_path("arm64", locks).write_text("# old\n")
    with pytest.raises(RuntimeError, match="resolve to different pins"):
        lock.write_locks(pyproject=pyproject, lock_dir=locks, cache_root=tmp_path / "cache",
                         run=FakeResolver(cache_dir("arm64", source_root), skew="x86_64"))
    assert lock_path("arm64", locks).read_text() == "# old\n"


# ---- filling the wheel cache (pip replaced) ----------------------------------------------------------------
def test_ensure_wheels_with_complete_cache_asks_no_registry(tmp_path: Path) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    directory, fetched = download_wheels.ensure_wheels(
        "arm64", cache_root=cache_root, lock_dir=lock_dir, run=lambda cmd: pytest.fail(f"ran {cmd}"))
    assert directory == cache_dir("arm64", cache_root) and fetched == []


def test_ensure_wheels_downloads_missing_ones_with_hash_checking(tmp_path: Path) -> None:
    lock_dir, source_root, wheels = make_fixture_layer_inputs(tmp_path / "src")
    commands: list[list[str]] = []

    def pip(cmd: Sequence[str]) -> None:
        commands.append(list(cmd))
        for wheel in cache_dir("arm64", source_root).glob("*.whl"):
            shutil.copy(wheel, Path(cmd[cmd.index("--dest") + 1]) / wheel.name)

    directory, fetched = download_wheels.ensure_wheels("arm64", cache_root=tmp_path / "cache", lock_dir=lock_dir,
                                                       run=pip)
    assert fetched == wheels and not match_wheels(wheels, directory)[1]
    (cmd,) = commands
    assert {"download", "--no-deps", "--require-hashes", "--only-binary=:all:"} <= set(cmd)
    assert cmd[cmd.index("--platform") + 1] == "manylinux2014_aarch64"
    assert cmd[cmd.index("-r") + 1] == str(lock_path("arm64", lock_dir))


def test_ensure_wheels_fails_when_pip_leaves_a_wheel_missing(tmp_path: Path) -> None:
    lock_dir, _, _ = make_fixture_layer_inputs(tmp_path / "src")
    with pytest.raises(LockFileError, match="still missing after download: relay-fixture-core==1.0.0"):
        download_wheels.ensure_wheels("arm64", cache_root=tmp_path / "cache", lock_dir=lock_dir,
                                      run=lambda cmd: make_wheel(Path(cmd[cmd.index("--dest") + 1]),
                                                                 "relay_fixture_extras",
                                                                 FIXTURE_WHEELS["relay_fixture_extras"]))


def test_download_command_is_quiet_when_the_cache_is_complete(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    lock_dir, cache_root, _ = make_fixture_layer_inputs(tmp_path)
    monkeypatch.setattr(download_wheels, "lock_path", lambda arch, _=None: lock_path(arch, lock_dir))
    assert download_wheels.main(["--arch", "arm64", "--cache-dir", str(cache_root)]) == 0
    assert capsys.readouterr().out == ""
