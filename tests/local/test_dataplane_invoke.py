"""Synchronous invoke: function timeout, environment conflicts, reserved concurrency, function errors."""
from __future__ import annotations

import threading
import time

import pytest

from relay.local.dataplane import EnvironmentConflictError, FunctionError
from relay.local.dataplane.invoker import HandlerImportError, load_handler
from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures


def test_handler_slower_than_timeout_times_out_as_error(aws, plane_factory):
    fn = aws.function("job-worker", timeout=1)
    release = threading.Event()
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda e, c: release.wait(5)
    plane = plane_factory().start()
    try:
        started = time.monotonic()
        result = plane.invoke_result(fn["FunctionName"], {})
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert result.timed_out
    assert result.error_type == "Sandbox.Timedout"
    assert result.error_message.endswith("Task timed out after 1.00 seconds")
    assert 0.9 <= elapsed < 2.0


def test_function_error_raises_with_type_and_message(aws, plane_factory):
    fn = aws.function("api")

    def fail(event, ctx):
        raise KeyError("recipient")

    recorder.BEHAVIOUR[fn["FunctionName"]] = fail
    plane = plane_factory().start()
    with pytest.raises(FunctionError) as info:
        plane.invoke(fn["FunctionName"], {})
    assert info.value.result.error_type == "KeyError"
    assert "recipient" in str(info.value)


def test_sync_invoke_returns_handler_response(aws, plane_factory):
    fn = aws.function("api")
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda e, c: {"statusCode": 202, "body": e["x"]}
    plane = plane_factory().start()
    assert plane.invoke(fn["FunctionArn"], {"x": "ok"}) == {"statusCode": 202, "body": "ok"}


def test_conflicting_environment_values_refused_with_names(aws, plane_factory):
    aws.function("api", env={"STAGE": "local"})
    other = aws.function("send-worker", env={"STAGE": "dev"})
    plane = plane_factory()
    with pytest.raises(EnvironmentConflictError) as info:
        plane.start()
    message = str(info.value)
    assert "STAGE" in message and "'dev'" in message and "'local'" in message
    assert other["FunctionName"] in message or aws.name("api") in message


def test_bad_handler_setting_names_the_module():
    with pytest.raises(HandlerImportError) as info:
        load_handler("functions.nowhere.handler.lambda_handler")
    assert "Unable to import module 'functions.nowhere.handler'" in str(info.value)


def test_reserved_concurrency_one_runs_async_events_one_at_a_time(aws, plane_factory):
    fn = aws.function("send-worker")
    aws("lambda").put_function_concurrency(FunctionName=fn["FunctionName"], ReservedConcurrentExecutions=1)
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda e, c: time.sleep(0.05)
    plane = plane_factory().start()
    for i in range(6):
        plane.invoke_async(fn["FunctionName"], {"i": i})
    wait_for(lambda: len(recorder.CALLS[fn["FunctionName"]]) == 6)
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] == 1


def test_unreserved_function_runs_async_events_concurrently(aws, plane_factory):
    fn = aws.function("send-worker")
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda e, c: time.sleep(0.1)
    plane = plane_factory().start()
    for i in range(6):
        plane.invoke_async(fn["FunctionName"], {"i": i})
    wait_for(lambda: len(recorder.CALLS[fn["FunctionName"]]) == 6)
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] > 1


def test_per_function_service_name_set_at_import_not_refused(aws, plane_factory):
    import sys

    fn_a = aws.function("api", env={"POWERTOOLS_SERVICE_NAME": "api"},
                        handler="tests.local.handlers.service_name.handler")
    aws.function("send-worker", env={"POWERTOOLS_SERVICE_NAME": "send_worker"})
    sys.modules.pop("tests.local.handlers.service_name", None)
    plane = plane_factory().start()  # different service names are not a conflict
    assert plane.invoke(fn_a["FunctionName"], {}) == {"service_at_import": "api",
                                                      "function_at_import": fn_a["FunctionName"]}
    assert "POWERTOOLS_SERVICE_NAME" not in __import__("os").environ


def test_missing_handler_module_is_import_module_error(aws, plane_factory):
    fn = aws.function("api", handler="functions.not_written_yet.handler.lambda_handler")
    plane = plane_factory().start()
    result = plane.invoke_result(fn["FunctionName"], {})
    assert result.error_type == "Runtime.ImportModuleError"
    assert "Unable to import module 'functions.not_written_yet.handler'" in result.error_message


def test_init_longer_than_the_timeout_does_not_count_against_it(aws, plane_factory):
    # Lambda's Init phase (the module import) has its own 10 s limit: a cold start on a loaded machine
    # must not time out an invocation whose handler itself is quick
    import sys

    fn = aws.function("job-worker", timeout=1, handler="tests.local.handlers.slow_init.handler")
    sys.modules.pop("tests.local.handlers.slow_init", None)
    plane = plane_factory().start()
    started = time.monotonic()
    result = plane.invoke_result(fn["FunctionName"], {})
    assert result.ok, result.error_payload
    assert time.monotonic() - started >= 1.5, "the import ran in this invocation"
    assert result.payload["remaining_ms_at_start"] > 800, "the timeout starts with the handler"
    assert result.duration_ms < 1000, "Duration is the handler's time, not Init's"
