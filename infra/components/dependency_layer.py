"""The Lambda layer with the functions' runtime dependencies (built by infra/layer/build.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from infra.layer.lambda_platform import LAMBDA_RUNTIME

__all__ = ["DependencyLayer", "DependencyLayerArgs"]


@dataclass
class DependencyLayerArgs:
    layer_name: str
    code: pulumi.Archive
    architecture: str                      # the wheels inside are compiled for this CPU only
    source_code_hash: Optional[str] = None  # base64 sha256 of the zip; None for the placeholder


class DependencyLayer(pulumi.ComponentResource):
    """One ``LayerVersion``; a new version is published only when the archive changes."""

    def __init__(self, name: str, args: DependencyLayerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:DependencyLayer", name, None, opts)
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer", layer_name=args.layer_name, code=args.code,
            source_code_hash=args.source_code_hash,
            compatible_runtimes=[LAMBDA_RUNTIME], compatible_architectures=[args.architecture],
            description="relay runtime dependencies (boto3, aws-lambda-powertools, pydantic, jinja2)",
            opts=pulumi.ResourceOptions(parent=self))
        self.arn = self.layer.arn
        self.register_outputs({"arn": self.arn})
