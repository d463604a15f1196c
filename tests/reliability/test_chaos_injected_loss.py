"""A deliberately injected loss makes the chaos run fail and name the lost item.

A test-only fault (``RELAY_CHAOS`` ``drop_carried=1``) discards one async event carried over the SIGINT restart:
the run must count exactly one item lost and its diagnosis must name it, with the journal's last word on it.
"""
from __future__ import annotations

import pytest

from tests.reliability.chaos_run import chaos_run

pytestmark = [pytest.mark.timeout(600), pytest.mark.heavy(seconds=40)]


def test_chaos_names_an_injected_loss(tmp_path) -> None:
    """A test-only fault discards one event carried over the restart: the run must see it lost and name it."""
    result = chaos_run(tmp_path, n_runs=10, n_sends=40,
                       # only the loss: no poison (5 visibility cycles to a DLQ) or step errors to wait out
                       extra_chaos="poison=0,step_error=0,die_mid_batch=0,drop_carried=1,", redrive=False)
    assert result.injected.get("drop_carried") == 1, result.report()
    assert result.carried_at_restart >= 1, "the burst left events in flight at the stop"
    assert result.under_faults.lost == 1, result.report()
    (line,) = [d for d in result.diagnosis if d.startswith("LOST")]
    assert result.under_faults.lost_ids[0] in line and "async.dropped-by-injected-fault" in line, line
