"""The console's verbs in one namespace: plain functions over boto3 clients (no streamlit, no caching).

Each verb lives in the module of its concern; this module only gathers them, so pages, loaders, tests
and tools keep writing ``ops.peek(...)``:

| module | verbs |
|---|---|
| :mod:`dashboard.outputs` | ``discover_stages``, ``dlqs`` |
| :mod:`dashboard.queues` | ``queue_depth``, ``peek``, ``oldest_sample_age`` |
| :mod:`dashboard.redrive` | ``redrive`` (the one loop), ``redrive_selected``, ``redrive_async``, ``redrive_stream``, ``delete_selected``, ``resend_edited`` |
| :mod:`dashboard.move_tasks` | ``start_redrive_all``, ``redrive_tasks``, ``cancel_redrive``, ``check_rate`` |
| :mod:`dashboard.mappings` | ``event_source_mapping``, ``set_parallelization_factor``, ``check_factor``, ``mapping_states``, ``set_mapping_enabled``, ``record_pause`` |
| :mod:`dashboard.resend` | ``resend_message`` (send a message again through the API's path) |
| :mod:`dashboard.run_state` | ``run_canceled``, ``explain_job_failures`` |
| :mod:`dashboard.message_log` | ``search_message_log``, ``message_timeline`` |
| :mod:`dashboard.metrics` | ``metrics_batch``, ``alarm_states`` |
| :mod:`dashboard.api_keys` | ``list_api_keys``, ``revoke_api_key`` |
| :mod:`dashboard.suppressions` | ``list_suppressions``, ``clear_suppressions`` |

Every verb takes the clients it needs as arguments, so tests hand in real boto3 clients bound to
moto (or the local stage's emulator) and the pages hand in :class:`dashboard.aws.Aws` clients.
"""
from __future__ import annotations

from dashboard.api_keys import list_api_keys, revoke_api_key
from dashboard.suppressions import clear_suppressions, list_suppressions
from dashboard.mappings import (
    MAPPINGS, check_factor, event_source_mapping, mapping_states, record_pause, set_mapping_enabled,
    set_parallelization_factor,
)
from dashboard.message_log import message_timeline, search_message_log
from dashboard.metrics import MetricSpec, alarm_states, metrics_batch
from dashboard.move_tasks import MAX_REDRIVE_RATE, cancel_redrive, check_rate, redrive_tasks, start_redrive_all
from dashboard.outputs import OUTPUTS_PREFIX, discover_stages, dlqs
from dashboard.queues import PEEK_HIDE_SECONDS, QueueDepth, oldest_sample_age, peek, queue_depth
from dashboard.redrive import (
    RedriveReport, delete_selected, redrive, redrive_async, redrive_selected, redrive_stream, resend_edited,
)
from dashboard.resend import resend_message
from dashboard.run_state import explain_job_failures, run_canceled

__all__ = [
    "QueueDepth", "RedriveReport", "MetricSpec", "discover_stages", "dlqs", "queue_depth", "peek",
    "oldest_sample_age", "explain_job_failures", "redrive_selected", "redrive_async", "redrive_stream",
    "delete_selected", "start_redrive_all", "redrive_tasks", "cancel_redrive", "check_rate", "check_factor",
    "event_source_mapping", "set_parallelization_factor", "run_canceled", "alarm_states", "metrics_batch",
    "search_message_log", "message_timeline", "MAX_REDRIVE_RATE", "OUTPUTS_PREFIX", "PEEK_HIDE_SECONDS",
    "MAPPINGS", "mapping_states", "set_mapping_enabled", "record_pause", "redrive", "resend_edited", "resend_message",
    "list_api_keys", "revoke_api_key", "list_suppressions", "clear_suppressions",
]
