"""The streams page's factor recommendation: relay's capacity model (``relay capacity``) on live figures.

The rule lives in :mod:`relay.capacity.model` (:func:`~relay.capacity.model.smallest_factor`); this
module only turns what the console measures — arrivals per second and the mean duration of one batch —
into the model's inputs and a sentence. A batch's measured duration is taken as its cost whatever its
fill (``BatchDuration(fixed_s=d, per_record_s=0)``), so one lane drains at most ``batch_size / d``
records/s: conservative when batches run part-full.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from relay.capacity.model import MAX_UTILISATION, ORDERING_CAVEAT, BatchDuration, smallest_factor

__all__ = ["Recommendation", "recommend_factor", "ORDERING_CAVEAT"]


@dataclass(frozen=True)
class Recommendation:
    """The factor to run, the lanes per shard the load keeps busy, and why in one sentence."""

    factor: int
    needed_concurrency: float
    reason: str


def recommend_factor(arrival_per_s: float, batch_duration_s: float, batch_size: int, shards: int = 1,
                     iterator_age_target_s: float = math.inf) -> Recommendation:
    """Smallest factor (1..10) whose lanes keep up with the arrivals at the model's utilisation cap.

    ``needed_concurrency`` is the lanes per shard the load keeps busy at 100 %
    (``arrival × duration / (batch_size × shards)``); 10 when even 10 is not enough.
    """
    if arrival_per_s <= 0 or batch_duration_s <= 0:
        return Recommendation(1, 0.0, "no traffic measured: factor 1 keeps strict shard order")
    shards, batch_size = max(1, shards), max(1, batch_size)
    needed = arrival_per_s * batch_duration_s / (batch_size * shards)
    choice = smallest_factor(arrival_per_s, batch_size, BatchDuration(batch_duration_s, 0.0),
                             iterator_age_target_s, shards=shards)
    reason = (f"{arrival_per_s:.1f} records/s × {batch_duration_s:.2f} s per batch over {shards} shard(s) "
              f"keeps {needed:.2f} concurrent batches per shard busy; lanes may run at most "
              f"{MAX_UTILISATION:.0%} busy (relay capacity's rule)")
    if choice.factor is None:
        return Recommendation(10, needed, reason + "; over 10: raise the batch size or make batches faster")
    return Recommendation(choice.factor, needed, reason)
