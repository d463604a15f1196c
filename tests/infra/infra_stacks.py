"""Run the Pulumi program under recording mocks and look at what it registered."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.config import StageConfig
from infra.policy_suite import RecordedResource
from tests.infra.recording_mocks import RecordingMocks

STAGES = ("dev", "prod", "local")
# What a prod owner sets before `pulumi up --stack prod` (docs/deploy.md): who hears the alarms.
# Pulumi.prod.yaml leaves it to them, so the tests play their part.
PROD_RECIPIENT = {"relay:alarmEmail": "oncall@acme.internal"}


def stage_config(stage: str) -> StageConfig:
    """``Pulumi.<stage>.yaml`` as its owner deploys it (prod with its alarm recipient)."""
    from infra.config import load_stage_config

    return load_stage_config(stage, overrides=PROD_RECIPIENT if stage == "prod" else None)


@dataclass
class BuiltStack:
    """What one program run registered: config, resources (wire names) and resolved outputs."""

    cfg: StageConfig
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    calls: list[str] = field(default_factory=list)

    def of(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def named(self, typ: str, physical: str) -> RecordedResource:
        """The one resource of ``typ`` whose ``name`` input is ``physical``."""
        found = [r for r in self.of(typ) if r.inputs.get("name") == physical]
        assert len(found) == 1, f"expected one {typ} named {physical}, found {len(found)}"
        return found[0]

    def policy_of(self, function: str) -> dict[str, Any]:
        role = self.named("aws:iam/role:Role", self.cfg.name(function))
        policies = [r for r in self.of("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role.outputs["name"]]
        assert len(policies) == 1
        return json.loads(policies[0].inputs["policy"])


def run_program(stage: str, program, *, config: dict[str, str] | None = None,
                mocks: RecordingMocks | None = None, preview: bool = False) -> tuple[RecordingMocks, dict]:
    """Run ``program()`` (returning a dict of Outputs) under fresh mocks for ``stage``."""
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="relay", stack=stage, preview=preview)
    pulumi.runtime.set_all_config(config or {})
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run():
        outs = program() or {}
        return pulumi.Output.all(**outs).apply(resolved.update) if outs else None

    try:
        _run()
    finally:
        pulumi.runtime.set_all_config({})
    return mocks, resolved


def build_stage(cfg: StageConfig, **kwargs) -> BuiltStack:
    from infra.program import build  # imported only once mocks are in place

    mocks, outputs = run_program(cfg.stage, lambda: build(cfg, **kwargs))
    return BuiltStack(cfg=cfg, resources=mocks.resources, outputs=outputs, calls=mocks.calls)
