"""The Pulumi side of a local deploy: mocks whose resources are real resources in the emulator, and the
program run under them. Imported only when a deploy is not replayed from the cache (:mod:`.deploy`), so a
cached ``relay up`` never pays for importing Pulumi.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pulumi

from relay.local.emulated import EmulatedResources

__all__ = ["EmulatorMocks", "run_program"]

log = logging.getLogger("relay.local.deploy")


class EmulatorMocks(pulumi.runtime.Mocks):
    """Pulumi mocks whose resources are real resources in the emulator.

    Parameters
    ----------
    resources
        The per-type handlers bound to an emulator endpoint.
    """

    def __init__(self, resources: EmulatedResources) -> None:
        self.resources = resources
        self.created: list[tuple[str, str, str]] = []   # (type, logical name, id) in creation order
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            # component resources only group children; nothing exists for them in AWS
            return f"{args.name}", {}
        try:
            rid, state = self.resources.create(args.typ, args.name, dict(args.inputs))
        except Exception as exc:
            msg = f"{args.typ} {args.name}: {type(exc).__name__}: {exc}"
            with self._lock:
                self.errors.append(msg)
            log.error("local deploy failed at %s", msg)
            raise
        with self._lock:
            self.created.append((args.typ, args.name, rid))
        log.debug("local deploy: %s %s -> %s", args.typ, args.name, rid)
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return self.resources.call(args.token, dict(args.args))


def run_program(mocks: EmulatorMocks, stage: str, cfg: Any) -> dict[str, Any]:
    """Run ``build(cfg)`` under ``mocks`` and return its outputs resolved (in this thread's loop)."""
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.program import build

    # A fresh thread has no event loop (Pulumi creates futures while registering the root stack) and
    # an empty contextvars context, so these settings never leak into the caller's own Pulumi mocks.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(mocks, project="relay", stack=stage, preview=False)
        SETTINGS.rpc_manager.clear()
        SETTINGS.outputs.clear()
        resolved: dict[str, Any] = {}

        def program() -> None:
            outputs = build(cfg)
            done = pulumi.Output.all(**outputs).apply(lambda values: resolved.update(values) or values)
            _sync_await(done.future())

        _sync_await(run_pulumi_func(program))
        return resolved
    finally:
        asyncio.set_event_loop(None)
        loop.close()
