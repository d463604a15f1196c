"""The DynamoDB table shape every relay table shares: pk/sk strings, on-demand, SSE, PITR, protection."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

__all__ = ["TableSettings", "Index", "key_value_table"]

TTL_ATTRIBUTE = "expiresAt"


@dataclass(frozen=True)
class TableSettings:
    """Stage-dependent table protection (from config)."""

    point_in_time_recovery: bool
    deletion_protection: bool


@dataclass(frozen=True)
class Index:
    """A GSI keyed ``hash_key`` (S) and ``range_key`` (N), projecting all attributes."""

    name: str
    hash_key: str
    range_key: str


def key_value_table(logical: str, physical: str, settings: TableSettings, tags: Mapping[str, str],
                    opts: pulumi.ResourceOptions, *, ttl: bool, stream_view_type: str | None = None,
                    indexes: Sequence[Index] = ()) -> aws.dynamodb.Table:
    """Create one table keyed ``pk``/``sk`` (strings), pay-per-request, encrypted with the AWS KMS key."""
    attributes = [aws.dynamodb.TableAttributeArgs(name="pk", type="S"),
                  aws.dynamodb.TableAttributeArgs(name="sk", type="S")]
    seen = {"pk", "sk"}
    for ix in indexes:
        for attr, kind in ((ix.hash_key, "S"), (ix.range_key, "N")):
            if attr not in seen:
                seen.add(attr)
                attributes.append(aws.dynamodb.TableAttributeArgs(name=attr, type=kind))
    return aws.dynamodb.Table(
        logical,
        name=physical,
        billing_mode="PAY_PER_REQUEST",
        hash_key="pk",
        range_key="sk",
        attributes=attributes,
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=ix.name, projection_type="ALL",
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=ix.hash_key, key_type="HASH"),
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=ix.range_key, key_type="RANGE"),
                ])
            for ix in indexes
        ] or None,
        stream_enabled=stream_view_type is not None,
        stream_view_type=stream_view_type,
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=TTL_ATTRIBUTE, enabled=True) if ttl else None,
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=settings.point_in_time_recovery),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        deletion_protection_enabled=settings.deletion_protection,
        tags=dict(tags),
        opts=opts,
    )
