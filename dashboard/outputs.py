"""What a stage published: its outputs in SSM, and its three DLQs by kind (no streamlit)."""
from __future__ import annotations

import json
from typing import Any, Mapping

__all__ = ["OUTPUTS_PREFIX", "discover_stages", "dlqs"]

OUTPUTS_PREFIX = "/relay/"


def discover_stages(ssm: Any) -> dict[str, dict[str, Any]]:
    """Every stage that published ``/relay/<stage>/outputs``: ``{stage: outputs}``.

    Unparseable parameters are reported as ``{"error": ...}`` rather than hidden, so a broken deploy
    is visible in the stage picker.
    """
    found: dict[str, dict[str, Any]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=OUTPUTS_PREFIX, Recursive=True):
        for p in page.get("Parameters", []):
            parts = p["Name"].strip("/").split("/")
            if len(parts) != 3 or parts[2] != "outputs":
                continue
            try:
                found[parts[1]] = json.loads(p["Value"])
            except ValueError as err:
                found[parts[1]] = {"stage": parts[1], "error": f"outputs are not JSON: {err}"}
    return dict(sorted(found.items()))


def dlqs(outputs: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The stage's three DLQs by kind, with their URL, ARN and where a redrive sends messages."""
    return {
        "job": {"url": outputs.get("job_dlq_url", ""), "arn": outputs.get("job_dlq_arn", ""),
                "label": "job DLQ", "target": "the job queue"},
        "stream": {"url": outputs.get("stream_dlq_url", ""), "arn": outputs.get("stream_dlq_arn", ""),
                   "label": "stream DLQ", "target": "the log indexer (re-invoked with the batch's records)"},
        "async": {"url": outputs.get("async_dlq_url", ""), "arn": outputs.get("async_dlq_arn", ""),
                  "label": "async-invoke DLQ", "target": "the failed function (re-invoked with its event)"},
    }
