"""Lambda memory per function: measured defaults, relay:memory overrides, the legacy relay:memorySize, rules."""
from __future__ import annotations

import pytest

from infra.config import ConfigError, StageConfig, load_stage_config
from infra.function_sizing import FUNCTIONS, MEASURED_MEMORY_MB


def test_every_function_has_a_measured_size_and_none_needs_512():
    assert set(MEASURED_MEMORY_MB) == set(FUNCTIONS)
    assert MEASURED_MEMORY_MB["api"] == MEASURED_MEMORY_MB["log-indexer"] == 128
    assert max(MEASURED_MEMORY_MB.values()) < 512


def test_a_stage_without_memory_keys_gets_the_measured_sizes():
    cfg = StageConfig.from_mapping("dev", {})
    assert {f: cfg.memory_for(f) for f in FUNCTIONS} == dict(MEASURED_MEMORY_MB)


def test_relay_memory_overrides_one_function_from_yaml_or_pulumi_json():
    from_yaml = StageConfig.from_mapping("prod", {"relay:memory": {"log-indexer": 256}})
    from_pulumi = StageConfig.from_mapping("prod", {"memory": '{"log-indexer": "256"}'})
    for cfg in (from_yaml, from_pulumi):
        assert cfg.memory_for("log-indexer") == 256 and cfg.memory_for("api") == MEASURED_MEMORY_MB["api"]


def test_a_stage_file_from_before_keeps_its_one_size_for_unnamed_functions():
    cfg = StageConfig.from_mapping("prod", {"memorySize": 512, "memory": {"api": 128}})
    assert cfg.memory_for("api") == 128
    assert all(cfg.memory_for(f) == 512 for f in FUNCTIONS if f != "api")


@pytest.mark.parametrize(("values", "message"), [
    ({"memory": {"log-indexr": 256}}, "relay:memory.log-indexr: not a relay function"),
    ({"memory": {"api": 64}}, "relay:memory.api = 64: must be between 128 and 10240 MB"),
    ({"memory": {"api": 20_000}}, "relay:memory.api = 20000: must be between 128 and 10240 MB"),
    ({"memory": {"api": "lots"}}, "relay:memory.api = 'lots': must be a whole number of MB"),
    ({"memory": ["api", 128]}, "relay:memory = ['api', 128]: must be a map of function name to MB"),
    ({"memory": "{not json"}, "must be a map of function name to MB"),
    ({"memorySize": 100}, "relay:memorySize = 100: must be 0 (unset: relay's measured sizes) or between 128"),
])
def test_broken_memory_settings_are_refused_by_name(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        StageConfig.from_mapping("dev", values)


def test_the_committed_stage_files_size_by_function():
    prod, dev = load_stage_config("prod"), load_stage_config("dev")
    assert prod.memory_size == dev.memory_size == 0, "no one-size-fits-all left in the committed stage files"
    assert prod.memory_for("log-indexer") == 256 and prod.memory_for("api") == 128
    assert dev.memory_for("log-indexer") == 128


def test_unknown_function_name_has_no_size():
    with pytest.raises(KeyError, match="'mailer' is not a relay function"):
        StageConfig.from_mapping("dev", {}).memory_for("mailer")
