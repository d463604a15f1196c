"""AWS's UpdateEventSourceMapping rules that moto does not check (the emulator applies them)."""
from __future__ import annotations

import pytest

from relay.local.esm_validation import validate_esm_update


@pytest.mark.parametrize("factor", [1, 4, 10])
def test_stream_factor_in_range_accepted(factor):
    assert validate_esm_update("dynamodb", {"ParallelizationFactor": factor}) is None


def test_stream_factor_eleven_refused_as_validation_error():
    code, message = validate_esm_update("dynamodb", {"ParallelizationFactor": 11})
    assert code == "ValidationException"
    assert message == ("1 validation error detected: Value '11' at 'parallelizationFactor' failed to satisfy "
                       "constraint: Member must have value less than or equal to 10")


def test_stream_factor_zero_refused_as_validation_error():
    code, message = validate_esm_update("dynamodb", {"ParallelizationFactor": 0})
    assert code == "ValidationException"
    assert "Member must have value greater than or equal to 1" in message


def test_factor_on_sqs_source_refused_as_invalid_parameter():
    code, message = validate_esm_update("sqs", {"ParallelizationFactor": 2})
    assert code == "InvalidParameterValueException"
    assert message == "Unsupported ParallelizationFactor parameter for given event source mapping type."


def test_sqs_batch_over_ten_without_window_refused():
    code, message = validate_esm_update("sqs", {"BatchSize": 50})
    assert code == "InvalidParameterValueException"
    assert "greater than 0 if maximum batch size is greater than 10" in message
    assert validate_esm_update("sqs", {"BatchSize": 50, "MaximumBatchingWindowInSeconds": 1}) is None


def test_batch_size_over_limit_refused():
    code, message = validate_esm_update("dynamodb", {"BatchSize": 10_001})
    assert code == "ValidationException"
    assert "'batchSize'" in message
