"""Pure recommendation of a stream mapping's parallelization factor."""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Recommendation", "recommend_factor", "ORDERING_CAVEAT"]

ORDERING_CAVEAT = (
    "With a factor above 1, Lambda runs several batches of one shard at once: order is kept per "
    "partition key (one message's events stay in order), but not across keys in the shard."
)


@dataclass(frozen=True)
class Recommendation:
    factor: int
    needed_concurrency: float
    reason: str


def recommend_factor(
    arrival_per_s: float,
    batch_duration_s: float,
    batch_size: int,
    shards: int = 1,
    headroom: float = 1.5,
) -> Recommendation:
    """Smallest factor (1..10) whose concurrent batches keep up with the arrivals, with headroom.

    One batch of ``batch_size`` records takes ``batch_duration_s``; so one concurrent batch
    drains ``batch_size / batch_duration_s`` records/s. A shard with factor F runs F batches at
    once, so we need ``F >= arrival * duration / (batch_size * shards)`` (times ``headroom``).
    """
    if arrival_per_s <= 0 or batch_duration_s <= 0:
        return Recommendation(1, 0.0, "no traffic measured: factor 1 keeps strict shard order")
    shards = max(1, shards)
    needed = arrival_per_s * batch_duration_s / (max(1, batch_size) * shards) * headroom
    factor = max(1, min(10, math.ceil(needed)))
    reason = (f"{arrival_per_s:.1f} records/s × {batch_duration_s:.2f} s per batch over {shards} shard(s) "
              f"needs {needed:.2f} concurrent batches per shard (with {headroom:.1f}× headroom)")
    if needed > 10:
        reason += "; over 10: raise the batch size or make batches faster"
    return Recommendation(factor, needed, reason)
