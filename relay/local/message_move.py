"""SQS message-move API on the emulator (placeholder: passes requests through to moto)."""
from __future__ import annotations

from typing import Any, Callable


class MessageMoveService:
    def wrap(self, app: Callable) -> Callable:
        return app

    def shutdown(self) -> None:
        return None
