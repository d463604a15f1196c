"""The local stage: :class:`LocalStage` assembles the whole platform on this machine (the one place that
does); :func:`run_local_stage` is ``relay up`` — serve until SIGINT/SIGTERM, then stop within seconds.
"""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from infra.config import PROJECT_ROOT, load_stage_config
from relay.local.api_key import api_key_parameter, ensure_api_key

if TYPE_CHECKING:  # pragma: no cover
    from relay.local.dataplane import DataPlane

__all__ = ["LocalStage", "run_local_stage", "LOCAL_CREDENTIALS", "local_aws_env"]

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
    from relay.local.dataplane.invoker import FunctionError

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


def _discard_warm_environments() -> None:
    from functions.shared.warm import reset_all

    reset_all()


_running_lock = threading.Lock()
_running: "LocalStage | None" = None  # the stage running in this process, if any


class LocalStage:
    """The whole platform on this machine, assembled in one place: ``relay up``, the benches, the capacity
    measurement and every test harness start it through this class.

    Order matters: the API server binds first (its URL is a stage output), then the emulator (restoring the
    state dir), then the Pulumi program is deployed into it, then the data plane reads what was deployed
    and runs handlers (replaying the carry-over), then demo traffic and the console. :meth:`stop` runs the
    same list backwards: the front door closes first, then the data plane stops within its bound —
    carrying over what is in flight instead of draining it — then the emulator snapshots and stops.

    Usage::

        with LocalStage(state_dir=None) as stage:      # no state dir: in memory only
            requests.post(f"{stage.api_url}/send", json=..., headers={"Authorization": f"Bearer {stage.api_key}"})
            stage.client("s3").list_objects_v2(Bucket=stage.outputs["request_bucket"])

    Parameters
    ----------
    stage
        Stage config to deploy (``Pulumi.<stage>.yaml``): ``local``, or ``dev``/``prod`` to rehearse them.
    port, api_port
        Loopback ports of the emulated AWS endpoint and the HTTP API (0 = a free port).
    state_dir
        Where the emulator's snapshot and the data plane's carry-over live between runs; ``None`` keeps
        nothing (tests, benches, measurements). ``fresh=True`` empties it first.
    overrides
        Config values over the stage file, as ``pulumi config set`` would.
    aws_latency_ms
        Modelled AWS round trip per handler call (see :mod:`relay.local.dataplane.latency`).
    plane_options
        Extra :class:`~relay.local.dataplane.DataPlane` settings (poll intervals, metrics interval…).
    demo, console, console_port
        Demo traffic; the Streamlit console as a child process.
    prepare
        Called after the deploy, before the data plane starts (a measurement trims or retunes what runs).
    say
        Progress lines (``relay up`` prints them); silent by default.
    """

    def __init__(self, stage: str = "local", *, port: int = 0, api_port: int = 0,
                 state_dir: str | Path | None = None, fresh: bool = False, overrides: dict | None = None,
                 aws_latency_ms: float = DEFAULT_AWS_LATENCY_MS, plane_options: dict | None = None,
                 demo: bool = False, console: bool = False, console_port: int = 8501,
                 prepare: Callable[["LocalStage"], None] | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        self.stage = stage
        self.port, self.api_port = port, api_port
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.fresh = fresh
        self.overrides = dict(overrides or {})
        self.aws_latency_ms = aws_latency_ms
        self.plane_options = dict(plane_options or {})
        self.demo, self.console, self.console_port = demo, console, console_port
        self._prepare = prepare
        self._say = say or (lambda _msg: None)
        self._stack: ExitStack | None = None
        self._frozen = False  # gc.freeze() after the start (see start())
        self._saved_env: dict[str, str] | None = None
        self.outputs: dict = {}
        self.api_key = ""  # every scope; also in SSM /relay/<stage>/api-key (never printed)
        self.endpoint_url = ""
        self.api: Any = None
        self.emulator: Any = None
        self.plane: "DataPlane | None" = None
        self.console_url = ""
        self.ready_s = 0.0

    @property
    def api_url(self) -> str:
        return self.api.url

    def client(self, service: str) -> Any:
        """A boto3 client for the stage's emulated AWS."""
        return self.emulator.client(service)

    def __enter__(self) -> "LocalStage":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "LocalStage":
        # A start makes ~250,000 objects that live as long as the stage (modules, service models, moto's
        # backends), and CPython's collector traverses the whole heap each time it has grown by a quarter:
        # ~80 ms of a ~0.7 s start (issue 13), finding next to nothing to free. So it is paused during the
        # start, and what the start made is then frozen (gc.freeze: the collector's documented way to keep
        # long-lived objects out of every later pass; one more pass would cost ~100 ms). The price is the
        # start's cyclic leftovers (~20,000 objects, a few MB, on a cached start; more when the Pulumi program
        # ran) kept until stop(), which unfreezes and collects them, so a process running many stages (the
        # tests) does not pile them up.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._start()
            if collecting:
                gc.freeze()
                self._frozen = True
            return self
        finally:
            if collecting:
                gc.enable()

    def _start(self) -> "LocalStage":
        from relay.local.api_server import ApiServer
        from relay.local.dataplane import DataPlane
        from relay.local.deploy import deploy
        from relay.local.emulator import Emulator

        load_stage_config(self.stage, overrides=self.overrides)  # a broken stage file fails before anything starts
        t0 = time.monotonic()
        self._claim_process()  # before anything is touched: a refused stage must not empty a running one's state
        stack = self._stack = ExitStack()
        stack.callback(self._release_process)
        try:
            if self.fresh and self.state_dir is not None and self.state_dir.exists():
                import shutil

                shutil.rmtree(self.state_dir)
            self.api = ApiServer(port=self.api_port)
            self.api.start()
            stack.callback(self.api.stop)
            self._say(f"api: listening on {self.api.url}")

            self.emulator = Emulator(port=self.port, state_dir=self.state_dir)
            self.endpoint_url = self.emulator.start()
            stack.callback(self.emulator.stop)
            if self.state_dir is None:
                # moto keeps one state per process: a stage without a state dir starts from nothing and
                # leaves nothing behind, so another stage deployed in this process (a test's) is never seen
                # by this one's data plane, nor this one's by the next
                self.emulator.reset()
                stack.callback(self.emulator.reset)
            # anything in this process that talks AWS talks to the emulator, never to a real account
            self._saved_env = dict(os.environ)
            stack.callback(self._restore_env)
            os.environ.update(local_aws_env(self.endpoint_url))
            # a fresh stage gets fresh "execution environments": nothing cached for an earlier stage in this
            # process (its endpoint, queue URLs, clients) may leak into this one's handlers
            _discard_warm_environments()
            stack.callback(_discard_warm_environments)
            where = f" (state in {self.state_dir})" if self.state_dir is not None else ""
            self._say(f"emulator: AWS on {self.endpoint_url}{where}")

            self._say(f"deploy: Pulumi program, stack {self.stage}, into the emulator")
            self.outputs = deploy(self.stage, self.endpoint_url, self.api.url, region=REGION,
                                  overrides=self.overrides)
            self._say(f"deploy: done, outputs in SSM /relay/{self.stage}/outputs")
            self.api_key = ensure_api_key(self.client("ssm"), self.client("dynamodb"), self.stage,
                                          self.outputs["state_table"])
            self._say(f"api key: every scope, in SSM {api_key_parameter(self.stage)} (SecureString)")
            if self._prepare is not None:
                self._prepare(self)

            carry = self.state_dir / "dataplane-carry-over.json" if self.state_dir is not None else None
            plane = self.plane = DataPlane(self.endpoint_url, region=REGION, aws_latency_ms=self.aws_latency_ms,
                                           carry_over=carry, **self.plane_options)
            self.emulator.on_s3_notification(plane.on_s3_notification)
            self.emulator.on_sns_notification(plane.on_sns_notification)  # SES feedback → SNS → function
            self.emulator.on_lambda_invoke(_invoke_through(plane))  # the console's async-DLQ redrive re-invokes
            plane.start()
            stack.callback(plane.stop)
            self.api.set_invoke(lambda event: plane.invoke(self.outputs["api_function"], event))
            # on the way out the front door closes before the data plane stops: nothing is accepted that
            # the stopping data plane could no longer carry over
            stack.callback(self.api.stop)
            self._say(f"data plane: running {len(plane.functions())} functions")

            if self.demo:
                from relay.local.demo import DemoTraffic

                traffic = DemoTraffic(self.api.url, self.outputs, api_key=self.api_key)
                traffic.start()
                stack.callback(traffic.stop)
                self._say("demo: steady traffic, a share of it failing into the DLQs")
            if self.console:
                proc = _start_console(self.endpoint_url, self.console_port)
                stack.callback(_stop_process, proc)
                self.console_url = f"http://127.0.0.1:{self.console_port}"
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop everything (safe to call twice); the state dir keeps the snapshot and the carry-over."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
            gc.collect()  # now, not at the next start (which pauses the collector again): off the start's path

    def _claim_process(self) -> None:
        # moto's state, the environment the handlers read and the botocore hooks are one per process: a
        # second stage started beside a running one would reset or redeploy the first one's AWS under it
        global _running
        with _running_lock:
            if _running is not None:
                raise RuntimeError(f"a local stage ({_running.stage}, AWS on {_running.endpoint_url or 'starting'}) "
                                   "is already running in this process: stop it before starting another")
            _running = self

    def _release_process(self) -> None:
        global _running
        with _running_lock:
            if _running is self:
                _running = None

    def _restore_env(self) -> None:
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            self._saved_env = None


def run_local_stage(stage: str = "local", port: int = 4566, api_port: int = 0, demo: bool = False,
                    console: bool = True, console_port: int = 8501, fresh: bool = False,
                    stop_event: threading.Event | None = None,
                    on_ready: Callable[[dict], None] | None = None,
                    overrides: dict | None = None, state_dir: str | Path | None = None,
                    aws_latency_ms: float = DEFAULT_AWS_LATENCY_MS) -> int:
    """``relay up``: run the local stage in the foreground until SIGINT/SIGTERM; 0 on a clean stop."""
    load_stage_config(stage, overrides=overrides)  # fail on a broken stage file before anything starts
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())

    local = LocalStage(stage, port=port, api_port=api_port,
                       state_dir=Path(state_dir) if state_dir else PROJECT_ROOT / ".relay" / stage,
                       fresh=fresh, overrides=overrides, aws_latency_ms=aws_latency_ms, demo=demo,
                       console=console, console_port=console_port, say=_say)
    with local:
        console_url = f" console={local.console_url}" if local.console_url else ""
        _say(f"ready in {local.ready_s:.1f}s: stage={stage} api={local.api_url} aws={local.endpoint_url}{console_url} "
             f"(job queue {local.outputs['job_queue_url']}; API key in SSM {api_key_parameter(stage)}; "
             f"try: curl -X POST {local.api_url}/send -H \"Authorization: Bearer $KEY\" ...)")
        if on_ready:
            on_ready(local.outputs)
        while not stop.wait(0.2):
            pass
        t_stop = time.monotonic()
        _say("stopping: carrying over what is in flight")
    _say(f"stopped in {time.monotonic() - t_stop:.1f}s")
    return 0
