"""Audit: who did what, on which stage, when, with which result (before and after records)."""
import pandas as pd
import streamlit as st

from dashboard import loaders, shell

ctx, access = shell.current()
st.title("Audit")
records = loaders.audit_records(ctx.outputs["audit_table"], ctx.name)
st.caption(f"{len(records)} record(s) for stage `{ctx.name}`, newest first (each action has a `before` and an `after`).")
cols = ["at", "phase", "actor", "action", "params", "result", "auditId"]
st.dataframe(pd.DataFrame(records, columns=cols), hide_index=True, width="stretch", key="audit_table")
