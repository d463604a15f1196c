"""The stage's outputs as one SSM parameter, so tools find a stage with AWS credentials alone."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

__all__ = ["StageOutputs", "StageOutputsArgs"]


@dataclass
class StageOutputsArgs:
    parameter_name: str                         # /relay/<stage>/outputs
    outputs: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]


class StageOutputs(pulumi.ComponentResource):
    """``aws.ssm.Parameter`` holding the JSON of the stage outputs (docs/CONTRACTS.md keys)."""

    def __init__(self, name: str, args: StageOutputsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:StageOutputs", name, None, opts)
        self.parameter = aws.ssm.Parameter(
            f"{name}-parameter", name=args.parameter_name, type="String",
            # insecure_value: nothing here is secret, and `value` would be wrapped as a Pulumi secret
            insecure_value=pulumi.Output.all(**args.outputs).apply(lambda v: json.dumps(v, sort_keys=True)),
            description="relay stage outputs (JSON)", tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"parameter": self.parameter.name})
