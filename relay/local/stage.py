"""``relay up``: bring the whole platform up on this machine, serve until SIGINT/SIGTERM, stop cleanly.

Order matters: the API server binds first (its URL is a stage output), then the emulator, then the
Pulumi program is deployed into the emulator, then the data plane reads what was deployed and starts
running handlers, then demo traffic and the console. Stopping runs the same list backwards.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from infra.config import PROJECT_ROOT, load_stage_config

if TYPE_CHECKING:  # pragma: no cover
    from relay.local.dataplane import DataPlane

__all__ = ["run_local_stage", "LOCAL_CREDENTIALS", "local_aws_env"]

REGION = "us-east-1"
# A typical in-region round trip to DynamoDB/SQS/S3, added to each call a handler makes (see
# relay/local/dataplane/latency.py): it keeps I/O-bound work I/O-bound against the in-process emulator.
DEFAULT_AWS_LATENCY_MS = 4.0
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def local_aws_env(endpoint_url: str) -> dict[str, str]:
    """Environment for anything (boto3, AWS CLI, the console) that should talk to the local stage."""
    return {"AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
            **LOCAL_CREDENTIALS}


def _say(msg: str) -> None:
    print(msg, flush=True)


def _start_console(endpoint_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, **local_aws_env(endpoint_url)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboard" / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    return subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _invoke_through(plane: "DataPlane") -> Callable[[str, object, str], object]:
    """The Lambda ``Invoke`` API of the emulator, answered by the data plane (moto alone runs nothing)."""
    from relay.local.triggers import FunctionError

    def invoke(function_arn: str, event: object, invocation_type: str) -> object:
        if invocation_type == "Event":
            plane.invoke_async(function_arn, event)
            return None
        result = plane.invoke_result(function_arn, event)
        if not result.ok:
            err = result.error_payload
            raise FunctionError(str(err.get("errorMessage", "")), str(err.get("errorType", "Exception")))
        return result.payload

    return invoke


def run_local_stage(stage: str = "local", port: int = 4566, api_port: int = 0, demo: bool = False,
                    console: bool = True, console_port: int = 8501, fresh: bool = False,
                    stop_event: threading.Event | None = None,
                    on_ready: Callable[[dict], None] | None = None,
                    overrides: dict | None = None, state_dir: str | Path | None = None,
                    aws_latency_ms: float = DEFAULT_AWS_LATENCY_MS) -> int:
    """Run the local stage in the foreground; returns the process exit status (0 on a clean stop)."""
    from relay.local.api_server import ApiServer
    from relay.local.dataplane import DataPlane
    from relay.local.deploy import deploy
    from relay.local.emulator import Emulator

    load_stage_config(stage, overrides=overrides)  # fail on a broken stage file before anything starts
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())

    # Anything in this process that talks AWS talks to the emulator, never to a real account.
    state_dir = Path(state_dir) if state_dir else PROJECT_ROOT / ".relay" / stage
    if fresh and state_dir.exists():
        import shutil

        shutil.rmtree(state_dir)
    t0 = time.monotonic()
    with ExitStack() as stack:
        api = ApiServer(port=api_port)
        api.start()
        stack.callback(api.stop)
        _say(f"api: listening on {api.url}")

        emulator = Emulator(port=port, state_dir=state_dir)
        endpoint = emulator.start()
        stack.callback(emulator.stop)
        os.environ.update(local_aws_env(endpoint))
        _say(f"emulator: AWS on {endpoint} (state in {state_dir})")

        _say(f"deploy: Pulumi program, stack {stage}, into the emulator")
        outputs = deploy(stage, endpoint, api.url, region=REGION, overrides=overrides)
        _say(f"deploy: done, outputs in SSM /relay/{stage}/outputs")

        plane = DataPlane(endpoint, region=REGION, aws_latency_ms=aws_latency_ms,
                          carry_over=state_dir / "dataplane-carry-over.json")
        emulator.on_s3_notification(plane.on_s3_notification)
        emulator.on_lambda_invoke(_invoke_through(plane))  # the console's async-DLQ redrive re-invokes
        plane.start()
        stack.callback(plane.stop)
        api.set_invoke(lambda event: plane.invoke(outputs["api_function"], event))
        # on the way out the front door closes before the data plane drains: nothing is accepted that
        # the stopping data plane could no longer carry over
        stack.callback(api.stop)
        _say(f"data plane: running {len(plane.functions())} functions")

        if demo:
            from relay.local.demo import DemoTraffic

            traffic = DemoTraffic(api.url, outputs)
            traffic.start()
            stack.callback(traffic.stop)
            _say("demo: steady traffic, a share of it failing into the DLQs")

        console_url = ""
        if console:
            proc = _start_console(endpoint, console_port)
            stack.callback(_stop_process, proc)
            console_url = f" console=http://127.0.0.1:{console_port}"

        _say(f"ready in {time.monotonic() - t0:.1f}s: stage={stage} api={api.url} aws={endpoint}{console_url} "
             f"(job queue {outputs['job_queue_url']}; try: curl -X POST {api.url}/send ...)")
        if on_ready:
            on_ready(outputs)
        while not stop.wait(0.5):
            pass
        _say("stopping: draining in-flight invocations")
    _say("stopped")
    return 0
