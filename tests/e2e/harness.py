"""Start ``relay up`` as a user would (a subprocess on free loopback ports) and talk to it over HTTP and boto3.

Also a loopback HTTP server whose answers a test can switch between failing and healthy: the fetch-data
target the stage is told to allow (``--set relay:fetchAllow``), so faults can be injected and lifted.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[2]
RELAY = ROOT / ".venv" / "bin" / "relay"
TERMINAL = {"DELIVERED", "UNDELIVERABLE", "UNROUTABLE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FaultServer:
    """A loopback JSON endpoint; ``failing=True`` answers 500 so every fetch-data attempt fails."""

    def __init__(self) -> None:
        outer = self
        self.failing = False
        self.hits: Counter[str] = Counter()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                run = self.path.rsplit("/", 1)[-1]
                outer.hits[run] += 1
                status, body = (500, {"error": "injected"}) if outer.failing else (200, {"tier": "gold", "score": 7})
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self.port}/profile/{tag}"

    def __enter__(self) -> "FaultServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class LocalStage:
    proc: subprocess.Popen
    endpoint: str
    outputs: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    api_key: str = ""  # the stage's key from SSM /relay/local/api-key, read once after start

    @property
    def api(self) -> str:
        return self.outputs["api_url"].rstrip("/")

    @property
    def auth(self) -> dict[str, str]:
        """The header every API call needs (``stage.post``/``stage.get`` add it; raw clients use this)."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def post(self, path: str, body: dict, headers: dict | None = None) -> requests.Response:
        return requests.post(f"{self.api}{path}", json=body, headers={**self.auth, **(headers or {})}, timeout=30)

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.api}{path}", params=params, headers=self.auth, timeout=30)

    def wait_for(self, predicate, timeout: float, interval: float = 1.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            assert self.proc.poll() is None, f"relay up exited: {''.join(self.lines[-20:])}"
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")

    def stop(self, timeout: float = 60) -> int:
        """SIGINT, then the exit code (-9 if it had to be killed after ``timeout`` seconds)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return -9
        return self.proc.returncode


def start_stage(overrides: dict[str, str], state_dir: Path, timeout: float = 240,
                extra_args: tuple[str, ...] = (), fresh: bool = True,
                env_extra: dict[str, str] | None = None) -> LocalStage:
    """``relay up`` on free loopback ports; ``fresh=False`` restores ``state_dir``; ``env_extra`` for the child only."""
    port = free_port()
    args = [str(RELAY), "up", "--stage", "local", "--port", str(port), "--no-console",
            "--state-dir", str(state_dir), *(["--fresh"] if fresh else []), *extra_args]
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "RELAY_CHAOS"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(env_extra or {})
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("ready"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"relay up did not get ready: {''.join(lines[-30:])}")
    endpoint = f"http://127.0.0.1:{port}"
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    outputs = json.loads(ssm.get_parameter(Name="/relay/local/outputs")["Parameter"]["Value"])
    api_key = ssm.get_parameter(Name="/relay/local/api-key", WithDecryption=True)["Parameter"]["Value"]
    return LocalStage(proc, endpoint, outputs, lines, api_key)
