"""Message log: search by recipient, status, run or request; a message's timeline; send a message again."""
import pandas as pd
import streamlit as st

from dashboard import confirm, loaders, shell
from dashboard.actions import Action
from functions.shared.statuses import MessageStatus

ctx, access = shell.current()
table = ctx.outputs["log_table"]
st.title("Message log")
c = st.columns([1, 2, 1])
by = c[0].selectbox("Search by", ["recipient", "status", "run", "request"], key="log_by")
value = c[1].text_input("Value", key="log_value", placeholder={"recipient": "user@example.com",
                                                                 "status": MessageStatus.UNDELIVERABLE,
                                                                 "run": "run_…", "request": "req_…"}[by])
limit = int(c[2].number_input("Limit", min_value=1, max_value=1000, value=100, key="log_limit"))
if value.strip():
    found = loaders.log_search(table, by, value.strip(), limit)
    st.caption(f"{len(found)} message(s), newest first.")
    views = found
    st.dataframe(pd.DataFrame(views), hide_index=True, width="stretch", key="log_results")
    ids = [r.get("messageId") for r in views if r.get("messageId")]
    if ids:
        pick = st.selectbox("Timeline of", ids, key="log_pick")
        events = loaders.timeline(ctx.outputs["message_table"], pick)  # the events are the timeline
        st.dataframe(pd.DataFrame(events), hide_index=True, width="stretch", key="log_timeline")
        view = next(r for r in views if r.get("messageId") == pick)
        original = loaders.resend_of(ctx.outputs["request_bucket"], str(view.get("requestId", "")))
        if original:
            st.caption(f"This message is a resend of `{original}`.")
        if st.button("Send again", key="btn_resend", disabled=not access.can_act):
            confirm.request(Action("resend_message", {"message_id": pick},
                                   f"Send message `{pick}` again: a new request with the same content to "
                                   f"`{view.get('recipient')}` on {view.get('channel')}, linked to this one "
                                   "(its request's source names it). The recipient gets it a second time.",
                                   ctx.name))
            st.rerun()
else:
    st.caption("Enter a recipient, status, run id or request id.")
