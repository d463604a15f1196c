"""``infra/__main__.py`` as the pulumi CLI runs it: stack config in, exports out; broken config, nothing."""
from __future__ import annotations

import dataclasses
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.config import PROJECT_ROOT, ConfigError, load_stage_config
from infra.program import OUTPUT_KEYS
from tests.infra.infra_stacks import build_stage, run_program, stage_config
from tests.infra.recording_mocks import RecordingMocks

MAIN = str(PROJECT_ROOT / "infra" / "__main__.py")


def _run_main(stage: str, config: dict[str, str], monkeypatch: pytest.MonkeyPatch,
              mocks: RecordingMocks | None = None, preview: bool = False):
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda key, value: exported.__setitem__(key, value))

    def program() -> dict[str, Any]:
        runpy.run_path(MAIN, run_name="__main__")
        return exported

    mocks, resolved = run_program(stage, program, config=config, mocks=mocks, preview=preview)
    return mocks, resolved


def test_main_reads_stack_config_and_exports_contract_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    config = stage_config("prod").as_pulumi_values()
    mocks, exported = _run_main("prod", config, monkeypatch)
    assert list(exported) == list(OUTPUT_KEYS)
    assert exported["stage"] == "prod"
    (job_mapping,) = [r for r in mocks.resources if r.type.endswith("EventSourceMapping")
                      and r.inputs["eventSourceArn"] == exported["job_queue_arn"]]
    assert job_mapping.inputs["batchSize"] == 25  # Pulumi.prod.yaml's relay:jobBatchSize
    tables = [r for r in mocks.resources if r.type == "aws:dynamodb/table:Table"]
    assert tables and all(t.inputs["deletionProtectionEnabled"] is True for t in tables)


def test_main_preview_from_infra_dir_packages_the_functions_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    # the pulumi CLI runs `main: infra/` with infra/ as the working directory
    monkeypatch.chdir(PROJECT_ROOT / "infra")
    mocks, exported = _run_main("dev", load_stage_config("dev").as_pulumi_values(), monkeypatch, preview=True)
    assert list(exported) == list(OUTPUT_KEYS)
    functions = [r for r in mocks.resources if r.type == "aws:lambda/function:Function"]
    assert len(functions) == 5
    for f in functions:
        path = Path(f.inputs["code"].assets["functions"].path)
        assert not path.is_absolute() and (path / "shared" / "settings.py").is_file()


@pytest.mark.parametrize(("key", "value", "message"), [
    ("relay:jobMaxReceiveCount", "3", "relay:jobMaxReceiveCount = 3: must be at least 5"),
    ("relay:jobVisibilityTimeout", "60", "relay:jobVisibilityTimeout = 60: must be at least 6 x relay:jobWorkerTimeout"),
    ("relay:parallelizationFactor", "11", "relay:parallelizationFactor = 11: must be between 1 and 10"),
    ("relay:architecture", "sparc", "relay:architecture = 'sparc': must be one of arm64, x86_64"),
])
def test_main_broken_stack_config_rejected_before_any_resource(monkeypatch: pytest.MonkeyPatch, key: str,
                                                                value: str, message: str) -> None:
    config = {**load_stage_config("dev").as_pulumi_values(), key: value}
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as err:
        _run_main("dev", config, monkeypatch, mocks)
    assert message in str(err.value)
    assert mocks.resources == [] and mocks.calls == []


def test_main_prod_as_committed_without_alarm_recipient_refused_before_any_resource(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN Pulumi.prod.yaml as the repo ships it: alarm actions on, no recipient named yet
    config = load_stage_config("prod").as_pulumi_values()
    assert config["relay:alarmActions"] == "true" and config["relay:alarmEmail"] == ""
    mocks = RecordingMocks()
    # WHEN the pulumi CLI runs the program THEN it stops, naming the key to set, before any resource
    with pytest.raises(ConfigError) as err:
        _run_main("prod", config, monkeypatch, mocks)
    message = str(err.value)
    assert message.startswith("relay:alarmEmail is not set: relay:alarmActions is true in stage 'prod'")
    assert "relay:alarmTopicArn" in message and "relay-prod-alarms" in message
    assert mocks.resources == [] and mocks.calls == []


def test_main_prod_with_existing_topic_as_only_recipient_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    pager = "arn:aws:sns:us-east-1:123456789012:acme-pager"
    config = {**load_stage_config("prod").as_pulumi_values(), "relay:alarmTopicArn": pager}
    mocks, exported = _run_main("prod", config, monkeypatch)
    alarms = [r for r in mocks.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert alarms and all(a.inputs["alarmActions"] == [exported["alarm_topic_arn"], pager] for a in alarms)
    assert not [r for r in mocks.resources if r.type == "aws:sns/topicSubscription:TopicSubscription"]


def test_build_hand_made_invalid_config_rejected_before_any_resource() -> None:
    bad = dataclasses.replace(load_stage_config("dev"), parallelization_factor=0)
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="relay", stack="dev", preview=False)
    from infra.program import build

    with pytest.raises(ConfigError, match=r"relay:parallelizationFactor = 0: must be between 1 and 10"):
        build(bad)
    assert mocks.resources == []


def test_build_bucket_name_override_used_verbatim() -> None:
    stack = build_stage(load_stage_config("dev"), bucket_name="relay-dev-requests-rehearsal")
    assert stack.outputs["request_bucket"] == "relay-dev-requests-rehearsal"
    assert stack.calls == []  # no account lookup needed
