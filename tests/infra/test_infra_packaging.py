"""The dependency layer: pinned requirements, Lambda-platform pip command, cache, and the skip switch."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pulumi
import pytest

from infra import lambda_packaging as lp
from tests.infra.recording_mocks import RecordingMocks


def test_runtime_requirements_pinned_without_runtime_provided_boto3() -> None:
    reqs = lp.runtime_requirements()
    names = {r.split("[")[0].split("==")[0] for r in reqs}
    assert names == {"aws-lambda-powertools", "pydantic", "jinja2"}
    assert all("==" in r for r in reqs)


def test_requirements_hash_order_independent_and_changes_with_a_pin() -> None:
    a = lp.requirements_hash(["jinja2==3.1.6", "pydantic==2.14.4"])
    assert a == lp.requirements_hash(["pydantic==2.14.4", "jinja2==3.1.6"])
    assert a != lp.requirements_hash(["jinja2==3.1.5", "pydantic==2.14.4"])
    assert len(a) == 16


def test_pip_command_installs_lambda_platform_binary_wheels(tmp_path: Path) -> None:
    cmd = lp.pip_command(tmp_path / "python", ["jinja2==3.1.6"])
    joined = " ".join(cmd)
    assert "--platform manylinux2014_x86_64" in joined and "--only-binary=:all:" in cmd
    assert "--python-version 3.11" in joined and f"--target {tmp_path / 'python'}" in joined
    assert cmd[-1] == "jinja2==3.1.6"


class FakePip:
    """Stands in for pip: records calls and creates the target like pip would."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, cmd: Sequence[str]) -> None:
        self.calls.append(list(cmd))
        target = Path(cmd[cmd.index("--target") + 1])
        (target / "jinja2").mkdir(parents=True)
        if self.fail:
            raise RuntimeError("network down")


def test_build_layer_runs_pip_once_then_reuses_cache(tmp_path: Path) -> None:
    pip = FakePip()
    first = lp.build_layer(["jinja2==3.1.6"], tmp_path, run=pip)
    second = lp.build_layer(["jinja2==3.1.6"], tmp_path, run=pip)
    assert first == second == tmp_path / lp.requirements_hash(["jinja2==3.1.6"])
    assert len(pip.calls) == 1
    assert (first / "python" / "jinja2").is_dir()
    lp.build_layer(["jinja2==3.1.5"], tmp_path, run=pip)
    assert len(pip.calls) == 2  # a new pin is a new cache entry


def test_build_layer_interrupted_build_is_redone_not_reused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="network down"):
        lp.build_layer(["jinja2==3.1.6"], tmp_path, run=FakePip(fail=True))
    pip = FakePip()
    lp.build_layer(["jinja2==3.1.6"], tmp_path, run=pip)
    assert len(pip.calls) == 1


@pytest.mark.parametrize(("environ", "under_mocks", "skip"), [
    ({"RELAY_SKIP_LAYER_BUILD": "1"}, False, True),
    ({"RELAY_SKIP_LAYER_BUILD": "true"}, False, True),
    ({"RELAY_SKIP_LAYER_BUILD": "0"}, False, False),
    ({}, False, False),
    ({}, True, True),
])
def test_layer_build_skip_switch(environ: dict[str, str], under_mocks: bool, skip: bool) -> None:
    assert lp.should_skip_layer_build(environ, under_mocks=under_mocks) is skip


def test_layer_archive_under_mocks_is_placeholder_and_runs_no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi.runtime.set_mocks(RecordingMocks(), project="relay", stack="dev", preview=False)
    monkeypatch.delenv(lp.SKIP_ENV, raising=False)
    monkeypatch.setattr(lp, "build_layer", lambda *a, **k: pytest.fail("layer build ran under mocks"))
    archive = lp.layer_archive()
    assert isinstance(archive, pulumi.AssetArchive)
    assert list(archive.assets) == ["python/relay_layer_skipped.txt"]
    assert "pydantic==" in archive.assets["python/relay_layer_skipped.txt"].text


def test_layer_archive_outside_mocks_zips_the_cached_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(lp.SKIP_ENV, raising=False)
    monkeypatch.setattr(lp, "_under_mocks", lambda: False)
    monkeypatch.setattr(lp, "build_layer", lambda reqs: tmp_path / "abc")
    archive = lp.layer_archive(["jinja2==3.1.6"])
    assert isinstance(archive, pulumi.FileArchive)
    assert Path(archive.path).resolve() == (tmp_path / "abc").resolve()


def test_function_code_is_functions_package_at_archive_root() -> None:
    code = lp.function_code()
    assert list(code.assets) == ["functions"]
    path = Path(code.assets["functions"].path)
    assert not path.is_absolute()
    assert (path / "__init__.py").exists() or (Path.cwd() / path / "__init__.py").exists()
