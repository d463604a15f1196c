"""Dead letters: peek (without consuming), filter, export, redrive all / selected, delete, edit and redrive."""
import json

import pandas as pd
import streamlit as st

from dashboard import confirm, loaders, ops, shell
from dashboard.actions import Action
from dashboard.errors import ConsoleError
from dashboard.letter_edit import EDITABLE, check_edit, diff, pretty
from dashboard.letters import filter_letters, to_export_json

ctx, access = shell.current()
o = ctx.outputs
queues = ops.dlqs(o)
st.title("Dead letters")

kind = st.radio("Dead-letter queue", list(queues), format_func=lambda k: queues[k]["label"], horizontal=True,
                key="dlq_kind")
q = queues[kind]
qname = q["url"].rstrip("/").rsplit("/", 1)[-1]
count = loaders.dlq_count(q["url"])
top = st.columns([1, 1, 2])
top[0].metric(f"Messages in {q['label']}", count)
limit = int(top[1].number_input("Peek up to", min_value=1, max_value=5000, value=200, step=50, key="peek_limit"))
top[2].caption(f"`{qname}` — a redrive sends messages to {q['target']}. Peeking hides each message for a moment "
               "and makes it visible again at once: nothing is consumed.")

with st.expander("Filter", expanded=False):
    f = st.columns(4)
    text = f[0].text_input("Text in body or reason", key="filter_text")
    attr = f[1].text_input("Attribute (e.g. ApproximateReceiveCount)", key="filter_attr")
    attr_value = f[2].text_input("Attribute value contains", key="filter_attr_value")
    min_age = f[3].number_input("Older than (s)", min_value=0, value=0, key="filter_min_age")

letters = loaders.dead_letters(q["url"], kind, limit, o.get("state_table", ""))
shown = filter_letters(letters, text=text, attribute=attr, attribute_value=attr_value, min_age_s=float(min_age))
st.caption(f"Showing {len(shown)} of {len(letters)} peeked ({count} in the queue).")
rows = [x.as_row() for x in shown]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="dlq_table")
st.download_button("Export shown as JSON", to_export_json(shown), file_name=f"{qname}.json",
                   mime="application/json", key="dlq_export")

ids = [x.message_id for x in shown]
select_all = st.checkbox("Select all shown", key="select_all")
picked = st.multiselect("Selected messages", ids, key="selected_ids",
                        format_func=lambda i: next((f"{i[:8]}… {x.run_id or x.reason[:40]}" for x in shown
                                                    if x.message_id == i), i))
selected = ids if select_all else [i for i in picked if i in ids]
if shown:
    with st.expander("Decoded body"):
        pick = st.selectbox("Message", ids, key="inspect_id")
        letter = next(x for x in shown if x.message_id == pick)
        st.write(f"receive count {letter.receive_count} · sent {letter.sent_at:%Y-%m-%d %H:%M:%S} UTC · "
                 f"{letter.reason or 'no reason recorded'}" + (f" · run `{letter.run_id}` step {letter.step}"
                                                                if letter.run_id else ""))
        st.json(letter.decoded if letter.decoded is not None else letter.body)

if shown and kind in EDITABLE:
    with st.expander("Edit and redrive one letter"):
        eid = st.selectbox("Letter", ids, key="edit_id")
        original = next(x for x in shown if x.message_id == eid)
        edited = st.text_area("Body (JSON)", value=pretty(original.body), height=260, key=f"edit_body_{eid}")
        verdict = check_edit(kind, edited, o)
        contract = "the job message contract" if kind == "job" else "the async event contract"
        if verdict.ok:
            st.success(f"Valid against {contract}.")
        else:
            st.error(f"Not valid against {contract}: " + "; ".join(verdict.errors))
        change = diff(original.body, edited)
        st.code(change or "(no change yet)", language="diff")
        if st.button("Redrive the edited copy", key="btn_redrive_edited",
                     disabled=not access.can_act or not verdict.ok or not change):
            body = json.dumps(verdict.doc, separators=(",", ":"))
            confirm.request(Action("redrive_edited", {"dlq": kind, "message_id": eid, "body": body, "diff": change},
                                   f"Send the edited copy of `{eid}` ({q['target']}) and delete the original from "
                                   f"`{qname}`; the audit record keeps the diff.", ctx.name,
                                   tuple(f"`{line}`" for line in change.splitlines()[2:30])))
            st.rerun()

disabled = not access.can_act or not selected
b = st.columns(2)
if b[0].button(f"Redrive {len(selected)} selected", key="btn_redrive_selected", disabled=disabled):
    how = {"job": "sent to the job queue first and deleted from the DLQ only after the send succeeded; jobs "
                  "of runs whose cancelation token fired are skipped and stay in the DLQ",
           "async": "re-invoked asynchronously (Lambda Invoke, InvocationType=Event) with its stored event, "
                    "then deleted from the DLQ; a failed invoke leaves it in the DLQ",
           "stream": "its batch's records are read back from the stream and the log indexer is re-invoked "
                     "with them, then it is deleted from the DLQ"}[kind]
    confirm.request(Action("redrive_selected", {"dlq": kind, "message_ids": selected},
                           f"Redrive {len(selected)} message(s) from `{qname}`: each is {how}.", ctx.name,
                           tuple(selected[:20]) + ((f"… and {len(selected) - 20} more",) if len(selected) > 20 else ())))
    st.rerun()
if b[1].button(f"Delete {len(selected)} selected", key="btn_delete_selected", disabled=disabled):
    confirm.request(Action("delete_selected", {"dlq": kind, "message_ids": selected},
                           f"Delete {len(selected)} message(s) from `{qname}` for good. They cannot be recovered.",
                           ctx.name, tuple(selected[:20])))
    st.rerun()

if kind == "job":
    st.subheader("Redrive all")
    r = st.columns([1, 1, 2])
    rate = r[0].number_input("Rate (messages/s, 1–500)", value=50, step=10, key="redrive_rate")
    if r[1].button("Redrive all", key="btn_redrive_all", disabled=not access.can_act or count == 0):
        try:
            ops.check_rate(int(rate))
        except ConsoleError as err:
            st.error(f"{err.code}: {err}")
        else:
            confirm.request(Action("redrive_all", {"rate": int(rate)},
                                   f"Move all {count} message(s) from `{qname}` back to the job queue "
                                   f"`{o['job_queue_url'].rsplit('/', 1)[-1]}` at {int(rate)} messages/s "
                                   "(SQS StartMessageMoveTask; SQS deletes each message after it is moved).",
                                   ctx.name))
            st.rerun()
    try:
        tasks = loaders.move_tasks(q["arn"])
    except Exception as err:  # noqa: BLE001 - an endpoint without the message-move API
        tasks = []
        st.caption(f"Redrive tasks unavailable: {type(err).__name__}: {err}")
    for i, t in enumerate(tasks):
        moved, total = int(t.get("ApproximateNumberOfMessagesMoved", 0)), int(t.get("ApproximateNumberOfMessagesToMove", 0) or 0)
        st.progress(min(1.0, moved / total) if total else (1.0 if t.get("Status") == "COMPLETED" else 0.0),
                    text=f"{t.get('Status')}: {moved}/{total or '?'} moved at {t.get('MaxNumberOfMessagesPerSecond', '?')}/s"
                         + (f" — {t['FailureReason']}" if t.get("FailureReason") else ""))
        if t.get("Status") == "RUNNING" and t.get("TaskHandle"):
            if st.button("Cancel redrive", key=f"btn_cancel_{i}", disabled=not access.can_act):
                confirm.request(Action("cancel_redrive", {"task_handle": t["TaskHandle"]},
                                       f"Cancel the running redrive of `{qname}`; messages already moved stay in "
                                       "the job queue, the rest stay in the DLQ.", ctx.name))
                st.rerun()
