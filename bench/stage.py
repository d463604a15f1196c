"""``relay up``'s start (cold and cached) and its SIGINT exit with a backlog, against moto server's own start.

Run: ``.venv/bin/python bench/stage.py [--rounds 3] [--backlog 300]``

* **moto server start** (the floor): ``moto_server`` as a subprocess until it answers HTTP.
* **relay up, cold**: the Pulumi program runs under mocks (deploy cache off: ``RELAY_NO_DEPLOY_CACHE=1``).
* **relay up, cached**: the program is unchanged, so the recorded deploy is replayed
  (:mod:`relay.local.deploy_cache`). Target: ≤ 3 × moto server's start.
* **exit with a backlog**: ``--backlog`` sends posted at once, then SIGINT: seconds until the process
  has exited (the backlog is carried over, not drained). Target ≤ 5 s.

Rounds alternate the sides so the machine's load hits them alike; medians are reported. Every process
listens on free loopback ports and is stopped by this script.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_start() -> float:
    port = _free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1).read()
                return time.monotonic() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("moto_server exited")
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(10)


class Up:
    """``relay up`` as a user starts it; ``ready`` seconds until its ready line."""

    def __init__(self, state: Path, cached: bool) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if not cached:
            env["RELAY_NO_DEPLOY_CACHE"] = "1"
        t0 = time.monotonic()
        self.proc = subprocess.Popen([str(BIN / "relay"), "up", "--port", "0", "--no-console", "--state-dir",
                                      str(state)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env, cwd=ROOT)
        self.lines: list[str] = []
        self.api = self.aws = ""
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            if line.startswith("ready"):
                self.api = line.split(" api=", 1)[1].split()[0]
                self.aws = line.split(" aws=", 1)[1].split()[0]
                break
        else:
            raise RuntimeError("relay up did not get ready:\n" + "".join(self.lines[-20:]))
        self.ready = time.monotonic() - t0
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()  # type: ignore[arg-type]

    def backlog(self, n: int) -> None:
        body = json.dumps({"message": {"to": {"email": "bench@example.com"},
                                       "content": {"title": "t", "body": "b {{ n }}"}, "data": {"n": 1},
                                       "routing": {"method": "single", "channels": ["email"]}}}).encode()

        import boto3

        ssm = boto3.client("ssm", endpoint_url=self.aws, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        key = ssm.get_parameter(Name="/relay/local/api-key", WithDecryption=True)["Parameter"]["Value"]

        def post(_: int) -> int:
            req = urllib.request.Request(f"{self.api}/send", data=body, method="POST",
                                         headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status

        with ThreadPoolExecutor(8) as pool:
            assert all(s == 202 for s in pool.map(post, range(n)))

    def sigint_exit(self) -> float:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(60)
        if code != 0:
            raise RuntimeError(f"relay up exited {code}:\n" + "".join(self.lines[-20:]))
        return time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=300)
    args = parser.parse_args()
    moto, cold, cached, exits = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        Up(Path(tmp) / "warm", cached=True).sigint_exit()  # make sure a recording exists for this program
        for r in range(args.rounds):
            moto.append(moto_start())
            up = Up(Path(tmp) / f"cold{r}", cached=False)
            cold.append(up.ready)
            up.sigint_exit()
            up = Up(Path(tmp) / f"cached{r}", cached=True)
            cached.append(up.ready)
            up.backlog(args.backlog)
            exits.append(up.sigint_exit())
    m = statistics.median
    print(f"moto server start (floor)        {m(moto):6.2f} s")
    print(f"relay up ready, cold             {m(cold):6.2f} s   {m(cold) / m(moto):5.2f} x moto")
    print(f"relay up ready, cached deploy    {m(cached):6.2f} s   {m(cached) / m(moto):5.2f} x moto   (target <= 3)")
    print(f"SIGINT to exit, {args.backlog} sends queued  {m(exits):6.2f} s   (target <= 5)")
    print(f"({args.rounds} rounds, medians; cold {[round(x, 2) for x in cold]}, cached {[round(x, 2) for x in cached]}, "
          f"exit {[round(x, 2) for x in exits]}, moto {[round(x, 2) for x in moto]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
