"""The request store: a private, encrypted, TLS-only S3 bucket with lifecycle expiry."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from infra import policies

__all__ = ["RequestStore", "RequestStoreArgs", "EXPIRING_PREFIXES"]

# Processed requests and outbox deliveries are kept for requestRetentionDays; payloads/ are kept
# as long as the messages that reference them might be read again, so they are not expired here.
EXPIRING_PREFIXES = ("send/", "automations/", "outbox/")


@dataclass
class RequestStoreArgs:
    bucket_name: pulumi.Input[str]
    retention_days: int
    versioning: bool
    tags: Mapping[str, str]


class RequestStore(pulumi.ComponentResource):
    """Bucket + public access block + SSE + TLS-only policy + versioning + lifecycle."""

    def __init__(self, name: str, args: RequestStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:RequestStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, tags=dict(args.tags), opts=child)
        # The design relay grew from made its bucket PublicRead; relay blocks every public path.
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=self.bucket.id, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=self.bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"))],
            opts=child)
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(policies.tls_only_bucket_policy(arn))),
            # S3 rejects policies while the public access block is being applied
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]))
        # Only stages that want versioning get the resource: "Suspended" on a new bucket would turn
        # versioning machinery on, and "Disabled" cannot be set once it ever was. Deleting the resource
        # later (versioning: false) suspends versioning, which is what AWS allows.
        lifecycle_after: list[pulumi.Resource] = []
        if args.versioning:
            lifecycle_after.append(aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=self.bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child))
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=f"expire-{prefix.rstrip('/')}", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                # with versioning on, expiry leaves noncurrent versions: expire those too
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.retention_days),
            )
            for prefix in EXPIRING_PREFIXES
        ]
        rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-uploads", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1)))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=lifecycle_after))

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucket": self.bucket_name, "arn": self.bucket_arn})
