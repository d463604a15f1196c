"""AWS's event source mapping limits, which moto 5.2 stores without checking.

The local stage lets an operator change ``ParallelizationFactor`` or ``BatchSize`` live (console,
``aws lambda update-event-source-mapping``); a value AWS would refuse must be refused here too, or the
local stage would teach settings that fail in dev. Checked on create and update:

* ``ParallelizationFactor``: 1..10, and only for stream sources (DynamoDB, Kinesis) — an SQS source
  is refused;
* ``BatchSize``: 1..10000; for SQS, more than 10 needs ``MaximumBatchingWindowInSeconds`` ≥ 1.

Errors are moto's own Lambda error types, so clients see AWS's codes (``ValidationException`` for a
value out of the API's range, ``InvalidParameterValueException`` for a combination AWS refuses).
"""
from __future__ import annotations

import threading
from typing import Any

__all__ = ["install", "check"]

_lock = threading.Lock()
_installed = False


def check(source_arn: str, spec: dict[str, Any], current: Any = None) -> None:
    """Raise moto's Lambda error if ``spec`` breaks AWS's rules for a mapping on ``source_arn``.

    ``current`` is the existing mapping on update (its settings fill what ``spec`` leaves out).
    """
    from moto.awslambda.exceptions import InvalidParameterValueException, ValidationException

    is_sqs = source_arn.startswith("arn:aws:sqs:")
    factor = spec.get("ParallelizationFactor")
    if factor is not None:
        if isinstance(factor, bool) or not isinstance(factor, int) or factor > 10:
            raise ValidationException(str(factor), "parallelizationFactor",
                                      "Member must have value less than or equal to 10")
        if factor < 1:
            raise ValidationException(str(factor), "parallelizationFactor",
                                      "Member must have value greater than or equal to 1")
        if is_sqs:
            raise InvalidParameterValueException(
                "Unsupported parameter for Amazon SQS event sources: ParallelizationFactor")
    batch = spec.get("BatchSize")
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch > 10_000:
            raise ValidationException(str(batch), "batchSize", "Member must have value less than or equal to 10000")
        if batch < 1:
            raise ValidationException(str(batch), "batchSize", "Member must have value greater than or equal to 1")
    if is_sqs:
        size = batch if batch is not None else getattr(current, "batch_size", None) or 10
        window = spec.get("MaximumBatchingWindowInSeconds")
        if window is None:
            window = getattr(current, "max_batch_window", None) or 0
        if int(size) > 10 and int(window) < 1:
            raise InvalidParameterValueException(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")


def install() -> None:
    """Wrap ``LambdaBackend.create/update_event_source_mapping`` with :func:`check` (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.awslambda.models import LambdaBackend

        original_create = LambdaBackend.create_event_source_mapping
        original_update = LambdaBackend.update_event_source_mapping

        def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
            check(str(spec.get("EventSourceArn") or ""), spec)
            return original_create(self, spec)

        def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
            current = self.get_event_source_mapping(uuid)
            if current is not None:
                check(str(current.event_source_arn), spec, current)
            return original_update(self, uuid, spec)

        LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
        LambdaBackend.update_event_source_mapping = update_event_source_mapping  # type: ignore[method-assign]
        _installed = True
