"""AWS list prices for us-east-1 (N. Virginia), in US dollars per single unit.

Checked on 2026-11-27 against the public pricing pages named beside each constant. Free tiers
(Lambda 1M requests + 400,000 GB-s, SQS 1M requests, DynamoDB Streams 2.5M reads per month) and
volume tiers (Lambda duration over 6B GB-s, SQS over 100B requests) are ignored on purpose: the model
prices the marginal notification of a stage that is already past the free tier.
"""
from __future__ import annotations

__all__ = [
    "PRICES_CHECKED", "REGION",
    "LAMBDA_GB_SECOND_X86", "LAMBDA_GB_SECOND_ARM64", "LAMBDA_REQUEST", "lambda_gb_second",
    "SQS_STANDARD_REQUEST", "SQS_REQUEST_CHUNK_BYTES",
    "S3_STANDARD_PUT_TIER", "S3_STANDARD_GET_TIER",
    "DYNAMODB_ON_DEMAND_WRU", "DYNAMODB_ON_DEMAND_RRU", "DYNAMODB_STREAMS_READ_REQUEST",
    "CLOUDWATCH_PUT_METRIC_DATA_REQUEST",
]

PRICES_CHECKED = "2026-11-27"
REGION = "us-east-1"

# https://aws.amazon.com/lambda/pricing/ — x86, first 6B GB-s/month: $0.0000166667 per GB-s;
# requests $0.20 per 1M. Duration is billed per 1 ms, rounded up, per invocation.
LAMBDA_GB_SECOND_X86 = 0.0000166667
# Same page, "Arm Price": $0.0000133334 per GB-s for the first 7.5B GB-s/month (20 % under x86); the
# request price is the same for both architectures. relay's stages run arm64 (relay:architecture).
LAMBDA_GB_SECOND_ARM64 = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000


def lambda_gb_second(architecture: str) -> float:
    """The GB-second price of a Lambda architecture (``arm64`` or ``x86_64``).

    Raises
    ------
    ValueError
        For any other architecture name.
    """
    prices = {"arm64": LAMBDA_GB_SECOND_ARM64, "x86_64": LAMBDA_GB_SECOND_X86}
    if architecture not in prices:
        raise ValueError(f"architecture {architecture!r}: Lambda runs arm64 or x86_64")
    return prices[architecture]

# https://aws.amazon.com/sqs/pricing/ — standard queue, first 100B requests/month: $0.40 per 1M.
# Every 64 KB chunk of a payload is billed as one request. Lambda's event source mapping polls
# (ReceiveMessage, DeleteMessageBatch) are billed as ordinary SQS requests.
SQS_STANDARD_REQUEST = 0.40 / 1_000_000
SQS_REQUEST_CHUNK_BYTES = 64 * 1024

# https://aws.amazon.com/s3/pricing/ — S3 Standard: PUT, COPY, POST, LIST $0.005 per 1,000;
# GET, SELECT and all other requests $0.0004 per 1,000; DELETE is free. Event notifications are free.
S3_STANDARD_PUT_TIER = 0.005 / 1_000
S3_STANDARD_GET_TIER = 0.0004 / 1_000

# https://aws.amazon.com/dynamodb/pricing/on-demand/ — Standard table class, on-demand (after the
# November 2024 price cut): $0.625 per 1M write request units (1 KB each, 2 per KB transactional),
# $0.125 per 1M read request units (4 KB strongly consistent; eventually consistent reads cost half).
DYNAMODB_ON_DEMAND_WRU = 0.625 / 1_000_000
DYNAMODB_ON_DEMAND_RRU = 0.125 / 1_000_000
# Same page, "DynamoDB Streams": $0.02 per 100,000 streams read request units (GetRecords calls).
# GetRecords calls made by a Lambda trigger (event source mapping) are NOT charged: relay's only
# consumer is the log indexer's mapping, so this price applies only to extra non-Lambda consumers.
DYNAMODB_STREAMS_READ_REQUEST = 0.02 / 100_000

# https://aws.amazon.com/cloudwatch/pricing/ — PutMetricData: $0.01 per 1,000 requests. The AWS/Lambda
# metrics (Invocations, Duration, IteratorAge, ...) are vended by Lambda for free.
CLOUDWATCH_PUT_METRIC_DATA_REQUEST = 0.01 / 1_000
