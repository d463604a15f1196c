"""Message log: search by recipient, status, run or request; a message's timeline."""
import pandas as pd
import streamlit as st

from dashboard import loaders, shell
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
        events = loaders.timeline(table, pick)
        st.dataframe(pd.DataFrame(events), hide_index=True, width="stretch", key="log_timeline")
else:
    st.caption("Enter a recipient, status, run id or request id.")
