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

from typing import Any

from relay.local.patches import once

__all__ = ["install", "check"]



def check(source_arn: str, spec: dict[str, Any], current: Any = None) -> None:
    """Raise moto's Lambda error if ``spec`` breaks AWS's rules for a mapping on ``source_arn``.

    ``current`` is the existing mapping on update (its settings fill what ``spec`` leaves out). The rules
    themselves are :func:`relay.local.esm_validation.validate_esm_update` (pure, one home).
    """
    from moto.awslambda.exceptions import LambdaClientError

    from relay.local.esm_validation import validate_esm_update

    kind = source_arn.split(":", 3)[2] if source_arn.count(":") >= 3 else ""
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {"BatchSize": getattr(current, "batch_size", None),
                  "MaximumBatchingWindowInSeconds": getattr(current, "max_batch_window", None)}
    for key in ("ParallelizationFactor", "BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRetryAttempts"):
        if spec.get(key) is not None:
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, int):
                from moto.awslambda.exceptions import ValidationException

                field = key[0].lower() + key[1:]
                raise ValidationException(str(value), field, "Member must be an integer")
            merged[key] = value
    if kind == "sqs" and merged.get("BatchSize") is None:
        merged["BatchSize"] = 10
    refusal = validate_esm_update(kind, {k: v for k, v in merged.items() if v is not None})
    if refusal is not None:
        raise LambdaClientError(*refusal)


@once
def install() -> None:
    """Wrap ``LambdaBackend.create/update_event_source_mapping`` with :func:`check` (idempotent)."""
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
