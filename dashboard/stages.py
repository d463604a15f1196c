"""The stage the console is looking at: its outputs, its config and whether it is local (no streamlit)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from infra.config import ConfigError, StageConfig, load_stage_config

__all__ = ["StageContext", "stage_config", "default_stage"]


@dataclass(frozen=True)
class StageContext:
    name: str
    outputs: Mapping[str, Any]
    config: StageConfig
    config_note: str
    is_local: bool

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"


def stage_config(stage: str) -> tuple[StageConfig, str]:
    """``Pulumi.<stage>.yaml`` if this checkout has it, else the defaults (and say so).

    A console may watch a stage whose file it does not have (e.g. a test stage): thresholds then come
    from :class:`StageConfig`'s defaults and the drift display says the file is missing.
    """
    try:
        return load_stage_config(stage), f"Pulumi.{stage}.yaml"
    except ConfigError as err:
        return StageConfig(stage=stage), f"defaults ({err})"


def default_stage(stages: Mapping[str, Any], preferred: str = "") -> str | None:
    """``preferred`` if published, else ``local``, else the first stage (never prod by default)."""
    if preferred and preferred in stages:
        return preferred
    if "local" in stages:
        return "local"
    safe = [s for s in stages if s != "prod"]
    return (safe or list(stages) or [None])[0]
