"""The one error a broken stage setting raises (its own module: the config and the rules it applies both need it)."""
from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A stage config value breaks a rule; the message names the key (``relay:<key>``) and the rule."""
