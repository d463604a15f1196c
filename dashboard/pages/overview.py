"""Overview: every published stage's health at a glance (green / amber / red against its config)."""
import json

import pandas as pd
import streamlit as st

from dashboard import health, loaders, shell

ctx, access = shell.current()
st.title("Overview")
st.caption("Job queue depth, dead letters, stream IteratorAge (max, last 15 min), function errors and alarms; "
           "colours against each stage's `relay:iteratorAgeAlarmMs` / `relay:oldestJobAlarmSeconds`.")


def _age(s: float | None, lower: bool = False) -> str:
    if s is None:
        return "—"
    return ("≥ " if lower else "") + (f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min")


published = loaders.stages()
# the selected stage first, then the others
for name, outputs in sorted(published.items(), key=lambda kv: kv[0] != ctx.name):
    if "error" in outputs:
        st.error(f"stage `{name}`: {outputs['error']}")
        continue
    try:
        snap = loaders.snapshot(name, json.dumps(outputs, sort_keys=True))
    except Exception as err:  # noqa: BLE001 - one broken stage must not hide the others
        st.error(f"stage `{name}`: cannot read its health: {type(err).__name__}: {err}")
        continue
    marker = " (selected)" if name == ctx.name else ""
    with st.container(border=True, key=f"stage-{name}"):
        st.subheader(f"{health.BADGE[snap.state]} {name}{marker}")
        try:  # a paused mapping first, above the numbers: it explains them
            paused = [m for m in loaders.mapping_states(json.dumps(outputs, sort_keys=True)) if m.paused]
        except Exception as err:  # noqa: BLE001 - the rest of the stage's health still shows
            paused = []
            st.caption(f"Mappings unreadable: {type(err).__name__}: {err}")
        for m in paused:
            who = f" — by {m.paused_by}: {m.reason}" if m.paused_by else ""
            st.error(f"PAUSED: the {m.label} mapping{m.paused_for()}{who}. Nothing is consumed from it until it is "
                     "resumed (Mappings page).", icon=":material/pause_circle:")
        cols = st.columns(4)
        d = snap.job_depth
        cols[0].metric(f"{health.BADGE[snap.job_state]} Job queue", f"{d.visible} visible",
                       f"{d.in_flight} in flight · {d.delayed} delayed", delta_color="off")
        cols[1].metric(f"{health.BADGE[snap.iterator_state]} Max IteratorAge (15 min)",
                       "—" if snap.iterator_age_ms is None else f"{snap.iterator_age_ms:,.0f} ms",
                       f"alarm at {snap.thresholds['iterator_age_alarm_ms']:,} ms", delta_color="off")
        total_dlq = sum(x.count for x in snap.dlqs)
        cols[2].metric(f"{health.BADGE[health.worst(*[x.state for x in snap.dlqs])]} Dead letters", total_dlq)
        errors = sum(snap.function_errors.values())
        cols[3].metric(f"{health.BADGE[snap.errors_state]} Function errors (15 min)", f"{errors:.0f}")
        st.dataframe(pd.DataFrame([{"DLQ": x.kind, "messages": x.count, "oldest": _age(x.oldest_age_s, x.age_is_lower_bound),
                                    "health": x.state} for x in snap.dlqs]),
                     hide_index=True, width="stretch", key=f"dlq-{name}")
        tasks = loaders.bulk_tasks(outputs["audit_table"], name) if outputs.get("audit_table") else []
        for t in (x for x in tasks if x.active):
            st.caption(f"Bulk {t.kind} on the {t.dlq} DLQ running: {t.summary()}")
        alarms = ", ".join(f"{a['alarm']}={a['state']}" for a in snap.alarms) or "none defined"
        st.caption(f"Oldest job: {_age(snap.job_oldest_age_s)} (alarm at {snap.thresholds['oldest_job_alarm_seconds']} s) · "
                   f"alarms: {alarms}")
