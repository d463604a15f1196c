"""Deploy relay's Pulumi program into the emulator: the same program, no pulumi CLI, no cloud.

The program (``infra.program.build``) runs under Pulumi's mocks. Our ``EmulatorMocks``
(:mod:`.deploy_program`, imported only when the deploy is not replayed) answers each ``new_resource`` by creating (or updating) the resource in the emulator with boto3 and handing
back the real ids, ARNs and URLs, so the program's outputs — and the ``/relay/<stage>/outputs`` SSM
parameter the program writes itself — name resources that exist.

A deploy is recorded and replayed while the program is unchanged (:mod:`relay.local.deploy_cache`):
the first ``relay up`` runs the program, the next ones take well under a second to deploy.

Pulumi's Python runtime keeps its settings per process and runs its own event loop, so each deploy
runs on a fresh thread (which gets a fresh loop) and deploys are serialised.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Mapping

from relay.local import deploy_cache
from relay.local.emulated import EmulatedResources

__all__ = ["deploy", "DeployError"]

log = logging.getLogger(__name__)

_deploy_lock = threading.Lock()


class DeployError(RuntimeError):
    """The program failed under the emulator; the message names the resource when one failed."""


def _run_program(mocks: Any, stage: str, cfg: Any) -> dict[str, Any]:
    from relay.local.deploy_program import run_program

    return run_program(mocks, stage, cfg)


def deploy(stage: str, endpoint_url: str, api_url: str, region: str = "us-east-1",
           overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Deploy ``Pulumi.<stage>.yaml``'s platform into the emulator at ``endpoint_url``.

    Parameters
    ----------
    stage
        ``local`` (default stage of ``relay up``), or ``dev``/``prod`` to rehearse their settings.
    endpoint_url
        The emulator (``http://127.0.0.1:4566``).
    api_url
        The local HTTP API's URL; the program's Function URL resolves to it (output ``api_url``).
    region
        Region of every resource.
    overrides
        Config values over ``Pulumi.<stage>.yaml`` for this deploy (as ``pulumi config set`` would).

    Returns
    -------
    dict
        The stage outputs (docs/CONTRACTS.md keys), also published by the program as the SSM
        parameter ``/relay/<stage>/outputs``.

    Raises
    ------
    DeployError
        If any resource could not be created; the message names the first that failed.
    """
    from infra.config import load_stage_config

    cfg = load_stage_config(stage, overrides=overrides)
    key = deploy_cache.cache_key(stage, overrides, region)
    recording = deploy_cache.load(key)
    if recording is not None:
        try:
            return deploy_cache.replay(recording, EmulatedResources(endpoint_url, region, api_url),
                                       endpoint_url, api_url)
        except Exception:  # noqa: BLE001 - a stale or broken recording: deploy for real and record again
            log.warning("local deploy: replaying the cached deploy failed; running the program", exc_info=True)
    resources = EmulatedResources(endpoint_url, region, api_url)
    recorder = deploy_cache.DeployRecorder()
    recorder.wrap(resources)
    from relay.local.deploy_program import EmulatorMocks

    mocks = EmulatorMocks(resources)
    result: dict[str, Any] = {}
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.update(_run_program(mocks, stage, cfg))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    with _deploy_lock:
        thread = threading.Thread(target=target, name=f"relay-deploy-{stage}", daemon=True)
        thread.start()
        thread.join()
    if mocks.errors:
        raise DeployError(f"local deploy of {stage!r} failed: {mocks.errors[0]}"
                          + (f" (and {len(mocks.errors) - 1} more)" if len(mocks.errors) > 1 else ""))
    if failure:
        raise DeployError(f"local deploy of {stage!r} failed: {failure[0]}") from failure[0]
    if resources.unmapped:
        log.warning("local deploy: no emulator mapping for %s", sorted(set(resources.unmapped)))
    deploy_cache.save(key, recorder, result, endpoint_url, api_url)
    return result
