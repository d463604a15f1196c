"""Pulumi.yaml runs this program from .venv, and docs/configuration.md documents every stage key."""
from __future__ import annotations

import dataclasses
import re

import yaml

from infra.config import PROJECT_ROOT, StageConfig, config_key, load_stage_config


def test_pulumi_project_runs_infra_with_repo_virtualenv() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "relay"
    assert project["main"].rstrip("/") == "infra"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (PROJECT_ROOT / "infra" / "__main__.py").exists()


def test_configuration_doc_lists_every_key_with_its_default_and_stage_values() -> None:
    doc = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    rows = {m.group(1): [c.strip().strip("`") for c in m.group(2).split("|")]
            for m in re.finditer(r"^\| `([a-z]+:[A-Za-z]+)` \|(.*)\|$", doc, re.M)}
    stages = {s: load_stage_config(s) for s in ("dev", "prod", "local")}
    for f in dataclasses.fields(StageConfig):
        if f.name == "stage":
            continue
        key = "aws:region" if f.name == "region" else config_key(f.name)
        assert key in rows, f"{key} is not documented"
        cells = rows[key]
        for stage, column in (("dev", 1), ("prod", 2), ("local", 3)):
            value = getattr(stages[stage], f.name)
            if isinstance(value, (int, str)) and not isinstance(value, bool) and value != "":
                assert cells[column] == str(value), f"{key} {stage}: doc says {cells[column]}, file says {value}"
        assert cells[-1], f"{key} has no explanation"
