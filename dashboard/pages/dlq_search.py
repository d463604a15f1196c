"""Dead-letter search and bulk actions: find every letter that matters in a whole DLQ, then act on all of them."""
import pandas as pd
import streamlit as st

from dashboard import bulk, confirm, loaders, ops, shell
from dashboard.actions import Action
from dashboard.errors import ConsoleError
from dashboard.letter_query import JsonPathError, LetterQuery

ctx, access = shell.current()
o = ctx.outputs
queues = ops.dlqs(o)
table = o["audit_table"]
st.title("Dead-letter search")
st.caption("Searches scan every letter of a DLQ on the server side (each is received and made visible again: "
           "nothing is consumed, but the DLQ looks empty to other readers while a scan holds it). The result is a "
           "saved selection: act on it — or on everything — at a chosen rate, with progress, cancel and resume. "
           "Actions run in the console's server and live in the stage: closing this tab stops nothing.")

kind = st.radio("Dead-letter queue", list(queues), format_func=lambda k: queues[k]["label"], horizontal=True,
                key="bulk_dlq")
q = queues[kind]
count = loaders.dlq_count(q["url"])
st.metric(f"Letters in {q['label']}", count)


def _int(text: str) -> int | None:
    return int(text) if text.strip().lstrip("-").isdigit() else None


with st.expander("Search", expanded=True):
    f = st.columns(4)
    run_id = f[0].text_input("Run id", key="q_run_id", placeholder="run_…")
    message_id = f[1].text_input("Message id (or prefix)", key="q_message_id")
    step = f[2].text_input("Step", key="q_step", placeholder="job letters: 0, 1, …")
    function = f[3].text_input("Function", key="q_function", placeholder="send-worker")
    f = st.columns(4)
    error = f[0].text_input("Error text", key="q_error", placeholder="HTTP 500")
    text = f[1].text_input("Body text", key="q_text")
    json_path = f[2].text_input("JSON path", key="q_json_path", placeholder="requestPayload.Records[0].s3.object.key")
    json_value = f[3].text_input("… equals", key="q_json_value")
    f = st.columns(6)
    min_age = f[0].number_input("Older than (s)", min_value=0, value=0, key="q_min_age")
    max_age = f[1].number_input("Younger than (s, 0 = any)", min_value=0, value=0, key="q_max_age")
    min_rc = f[2].number_input("Receives ≥", min_value=0, value=0, key="q_min_receives")
    max_rc = f[3].number_input("Receives ≤ (0 = any)", min_value=0, value=0, key="q_max_receives")
    budget_messages = int(f[4].number_input("Scan at most (letters)", min_value=1, value=50_000, step=1000,
                                            key="q_budget_messages"))
    budget_seconds = int(f[5].number_input("… for at most (s)", min_value=1, value=300, step=30, key="q_budget_seconds"))
    if st.button("Search", type="primary", key="btn_search"):
        try:
            query = LetterQuery(message_id=message_id, run_id=run_id, step=_int(step), function=function, error=error,
                                text=text, json_path=json_path, json_value=json_value,
                                min_age_s=float(min_age) or None, max_age_s=float(max_age) or None,
                                min_receives=int(min_rc) or None, max_receives=int(max_rc) or None)
        except JsonPathError as err:
            st.error(f"InvalidJsonPath: {err}")
        else:
            task = bulk.start_search(loaders.aws(), o, kind, query,
                                     {"messages": budget_messages, "seconds": budget_seconds}, access.actor)
            st.session_state[f"selection_{kind}"] = st.session_state[f"sel_pick_{kind}"] = task.task_id
            loaders.clear()

tasks = [t for t in loaders.bulk_tasks(table, ctx.name) if t.dlq == kind]
searches = [t for t in tasks if t.kind == "search"]
running = any(t.active for t in tasks)


def _label(t: object) -> str:
    return f"{t.task_id[-8:]} · {LetterQuery.from_dict(t.query).describe()} · {t.count('matched')} matched"


def _act(name: str, what: str, params: dict, verb: str, typed: str = "") -> None:
    try:
        ops.check_rate(int(params["rate"]))
    except ConsoleError as err:
        st.error(f"{err.code}: {err}")
        return
    how = {"bulk_redrive": f"each is re-sent to {q['target']} first and deleted from the DLQ only after that",
           "bulk_delete": "each is deleted for good; it cannot be recovered",
           "bulk_export": "each is written to an export file in the request store (nothing leaves the DLQ)"}[name]
    confirm.request(Action(name, {"dlq": kind, **params}, f"{verb} {what} of `{q['label']}` at {params['rate']} "
                                                         f"letters/s: {how}. It runs on after this dialog closes, with "
                                                         "progress, cancel and resume below.", ctx.name, typed=typed))
    st.rerun()


@st.fragment(run_every=1.0 if running else None)
def _results() -> None:
    """The saved selection and the bulk actions' progress (refreshed every second while one runs)."""
    fresh = {t.task_id: t for t in loaders.bulk_tasks(table, ctx.name) if t.dlq == kind}
    st.subheader("Saved selection")
    ids = [t.task_id for t in searches]
    chosen = st.session_state.get(f"selection_{kind}")
    if chosen and chosen not in ids:
        ids.insert(0, chosen)
    if not ids:
        st.caption("No search yet for this DLQ.")
        sel = None
    else:  # a new search selects itself (the Search button set this widget's state)
        sel_id = st.selectbox("Selection", ids, key=f"sel_pick_{kind}",
                              format_func=lambda i: _label(fresh[i]) if i in fresh else i)
        sel = fresh.get(sel_id)
    if sel is not None:
        state = "scanning" if sel.active else sel.status.lower()
        st.markdown(f"**{sel.count('matched')}** letter(s) match `{LetterQuery.from_dict(sel.query).describe()}` — "
                    f"{state}: {sel.summary()}")
        if sel.active:
            st.progress(sel.progress, text=f"scanned {sel.count('scanned')} of ~{sel.total}")
        rows = loaders.task_rows(table, ctx.name, sel.task_id)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="search_results")
        if sel.count("matched") > len(rows):
            st.caption(f"Showing the first {len(rows)}; the selection holds all {sel.count('matched')}.")

    st.subheader("Act")
    rate = int(st.number_input("Rate (letters/s, 1–500)", value=50, step=10, key="bulk_rate"))
    n = sel.count("matched") if sel is not None and not sel.active else 0
    can = access.can_act
    b = st.columns(3)
    scope = {"selection": sel.task_id if sel else "", "rate": rate, "count": n}
    if b[0].button(f"Redrive selection ({n})", key="btn_bulk_redrive_sel", disabled=not can or not n):
        _act("bulk_redrive", f"the {n} selected letter(s)", scope, "Redrive")
    if b[1].button(f"Delete selection ({n})", key="btn_bulk_delete_sel", disabled=not can or not n):
        _act("bulk_delete", f"the {n} selected letter(s)", scope, "Delete")
    if b[2].button(f"Export selection ({n})", key="btn_bulk_export_sel", disabled=not can or not n):
        _act("bulk_export", f"the {n} selected letter(s)", scope, "Export")
    every = {"selection": "", "rate": rate, "count": count}
    b = st.columns(3)
    if b[0].button(f"Redrive all ({count})", key="btn_bulk_redrive_all", disabled=not can or not count):
        _act("bulk_redrive", f"every letter ({count})", every, "Redrive")
    if b[1].button(f"Export all ({count})", key="btn_bulk_export_all", disabled=not can or not count):
        _act("bulk_export", f"every letter ({count})", every, "Export")
    if b[2].button(f"Purge ({count})", key="btn_bulk_purge", disabled=not can or not count):
        _act("bulk_delete", f"every letter ({count})", every, "Purge: delete", typed=f"purge {ctx.name}")

    st.subheader("Bulk actions")
    acts = [t for t in fresh.values() if t.kind != "search"]
    if not acts:
        st.caption("None yet for this DLQ.")
    for t in acts:
        state = "interrupted (its console stopped) — resume it" if t.interrupted else t.status.lower()
        what = "selection " + t.scope[-8:] if t.scope else "every letter"
        st.progress(t.progress, text=f"{t.kind} {what} at {t.rate}/s — {state}: {t.summary()}")
        c = st.columns(4)
        if t.active and c[0].button("Cancel", key=f"btn_task_cancel_{t.task_id}", disabled=not can):
            confirm.request(Action("cancel_bulk", {"task_id": t.task_id}, f"Cancel the {t.kind} of {what} after its "
                                   "current chunk: letters already done stay done, the rest stay in the DLQ; it can be "
                                   "resumed.", ctx.name))
            st.rerun()
        if t.resumable and c[1].button("Resume", key=f"btn_task_resume_{t.task_id}", disabled=not can):
            confirm.request(Action(bulk.ACTIONS[t.kind], {"dlq": t.dlq, "resume": t.task_id, "rate": t.rate},
                                   f"Resume the {t.kind} of {what} at {t.rate} letters/s from where it stopped "
                                   f"({t.count('moved')} of {t.total} done).", ctx.name))
            st.rerun()
        if t.export_key and t.status != "RUNNING":
            c[2].download_button("Download export", loaders.export_body(o["request_bucket"], t.export_key),
                                 file_name=f"{t.task_id}.json", mime="application/json",
                                 key=f"btn_task_download_{t.task_id}")
        if t.samples:
            c[3].caption("; ".join(f"{k[:8]}…: {v}" for k, v in list(t.samples.items())[:3]))


_results()
