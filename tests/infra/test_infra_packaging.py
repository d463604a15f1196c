"""Function code, and which dependency layer the program publishes: the real build or the placeholder."""
from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from infra import lambda_packaging as lp
from infra.layer.build import LayerBuild
from tests.infra.recording_mocks import RecordingMocks


@pytest.mark.parametrize(("environ", "under_mocks", "skip"), [
    ({"RELAY_SKIP_LAYER_BUILD": "1"}, False, True),
    ({"RELAY_SKIP_LAYER_BUILD": "true"}, False, True),
    ({"RELAY_SKIP_LAYER_BUILD": "0"}, False, False),
    ({}, False, False),
    ({}, True, True),
])
def test_layer_build_skip_switch(environ: dict[str, str], under_mocks: bool, skip: bool) -> None:
    assert lp.should_skip_layer_build(environ, under_mocks=under_mocks) is skip


def test_layer_under_mocks_is_placeholder_naming_its_lock_and_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi.runtime.set_mocks(RecordingMocks(), project="relay", stack="dev", preview=False)
    monkeypatch.delenv(lp.SKIP_ENV, raising=False)
    monkeypatch.setattr(lp, "build_layer", lambda *a, **k: pytest.fail("layer build ran under mocks"))
    monkeypatch.setattr(lp, "ensure_wheels", lambda *a, **k: pytest.fail("wheels downloaded under mocks"))
    code = lp.layer_code("arm64")
    assert isinstance(code.archive, pulumi.AssetArchive) and code.source_code_hash is None
    assert list(code.archive.assets) == ["python/relay_layer_skipped.txt"]
    text = code.archive.assets["python/relay_layer_skipped.txt"].text
    assert "infra/layer/requirements-arm64.lock (sha256 " in text


def test_layer_outside_mocks_fetches_missing_wheels_then_publishes_the_build_with_its_hash(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(lp.SKIP_ENV, raising=False)
    monkeypatch.setattr(lp, "_under_mocks", lambda: False)
    calls: list[str] = []
    monkeypatch.setattr(lp, "ensure_wheels", lambda arch: calls.append(f"wheels {arch}"))
    zip_path = tmp_path / "x86_64-abc" / "layer.zip"

    def build(arch: str) -> LayerBuild:
        calls.append(f"build {arch}")
        return LayerBuild(arch, "abc", zip_path, "00" * 32)

    monkeypatch.setattr(lp, "build_layer", build)
    code = lp.layer_code("x86_64")
    assert calls == ["wheels x86_64", "build x86_64"]
    assert isinstance(code.archive, pulumi.FileArchive)
    assert not Path(code.archive.path).is_absolute()  # no machine path in the stack state
    assert Path(code.archive.path).resolve() == zip_path.resolve()
    assert code.source_code_hash == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def test_unknown_architecture_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown Lambda architecture 'sparc'"):
        lp.layer_code("sparc")


def test_function_code_is_functions_package_at_archive_root() -> None:
    code = lp.function_code()
    assert list(code.assets) == ["functions"]
    path = Path(code.assets["functions"].path)
    assert not path.is_absolute()
    assert (path / "__init__.py").exists() or (Path.cwd() / path / "__init__.py").exists()
