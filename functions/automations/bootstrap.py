"""Wire the automation ports to their boto3 adapters from the function's settings (once per container).

The automations pipeline has two entry points, the request worker and the job worker; both wire here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.shared.warm import cached
from functions.automations.adapters import DynamoRunStore, GuardedHttpFetcher, S3RequestHandoff, SqsJobQueue
from functions.automations.ports import HttpFetcher, JobQueue, RequestHandoff, RunStore
from functions.shared.settings import get_settings

__all__ = ["Deps", "get_deps", "reset_deps", "validate_send_message"]


@dataclass
class Deps:
    """The adapters behind the automation ports."""

    runs: RunStore
    queue: JobQueue
    requests: RequestHandoff
    http: HttpFetcher


@cached
def get_deps() -> Deps:
    """The adapters for the current settings (cached; tests call :func:`reset_deps`)."""
    s = get_settings()
    return Deps(runs=DynamoRunStore(s.state_table, s.request_bucket), queue=SqsJobQueue(s.job_queue_url),
                requests=S3RequestHandoff(s.request_bucket), http=GuardedHttpFetcher(s.fetch_allow))


def reset_deps() -> None:
    """Forget the wiring (after the environment changed)."""
    get_deps.cache_clear()


def validate_send_message(message: dict[str, Any]) -> dict[str, Any]:
    """Validate with the API's own ``SendMessage`` so a step's send is exactly a POST /send message.

    Raises
    ------
    ValueError
        pydantic's ValidationError (a ValueError) naming every bad field.
    """
    from functions.shared.send_schema import SendMessage  # pydantic only on the send path

    return SendMessage.model_validate(message).model_dump(mode="json", exclude_none=True)
