"""What every emulated resource handler shares: the handler signature and the small input converters."""
from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Any, Callable, Mapping

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # pragma: no cover
    from relay.local.emulated import EmulatedResources

__all__ = ["Outputs", "Handler", "PLACEHOLDER_CODE_ZIP", "code_of", "one", "ints", "tag_list"]

Outputs = dict[str, Any]
Handler = Callable[["EmulatedResources", str, dict], tuple[str, Outputs]]


def _placeholder_zip() -> bytes:
    # The emulator never runs this code: the local data plane runs the handlers from the repo.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README.txt", "relay local stage: handlers run in-process from the repository\n")
    return buf.getvalue()


PLACEHOLDER_CODE_ZIP = _placeholder_zip()


def code_of(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def one(value: Any) -> dict:
    """pulumi-aws nests single blocks as a dict or as a one-element list; accept both."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def ints(value: Any) -> Any:
    """Pulumi's wire format carries every number as a float; AWS's APIs want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ints(v) for v in value]
    return value


def tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]
