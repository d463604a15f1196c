"""The Lambda layer with the functions' runtime dependencies (built by infra/packaging.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from infra.lambda_packaging import LAMBDA_RUNTIME

__all__ = ["DependencyLayer", "DependencyLayerArgs"]


@dataclass
class DependencyLayerArgs:
    layer_name: str
    code: pulumi.Archive


class DependencyLayer(pulumi.ComponentResource):
    """One ``LayerVersion``; a new version is published only when the requirements change."""

    def __init__(self, name: str, args: DependencyLayerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:DependencyLayer", name, None, opts)
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer", layer_name=args.layer_name, code=args.code,
            compatible_runtimes=[LAMBDA_RUNTIME], compatible_architectures=["x86_64"],
            description="relay runtime dependencies (aws-lambda-powertools, pydantic, jinja2)",
            opts=pulumi.ResourceOptions(parent=self))
        self.arn = self.layer.arn
        self.register_outputs({"arn": self.arn})
