"""Deliver a destination record (on-failure / on-success) to the ARN a function or mapping names."""
from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable

__all__ = ["DestinationSender"]

log = logging.getLogger(__name__)


class DestinationSender:
    """Sends JSON records to an SQS queue or SNS topic ARN (the destinations relay uses)."""

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._clients = clients
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _queue_url(self, arn: str) -> str:
        with self._lock:
            url = self._urls.get(arn)
        if url is None:
            _, _, _, _, account, name = arn.split(":", 5)
            url = self._clients("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            with self._lock:
                self._urls[arn] = url
        return url

    def send(self, destination_arn: str, record: dict) -> None:
        """Send ``record`` as JSON; raises ``ValueError`` for a destination type relay does not use."""
        body = json.dumps(record, default=str)
        service = destination_arn.split(":")[2]
        if service == "sqs":
            self._clients("sqs").send_message(QueueUrl=self._queue_url(destination_arn), MessageBody=body)
        elif service == "sns":
            self._clients("sns").publish(TopicArn=destination_arn, Message=body)
        else:
            raise ValueError(f"destination {destination_arn}: only SQS and SNS destinations are supported locally")
