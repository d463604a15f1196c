"""Suppression list: addresses that bounced hard or complained (no email is sent to them), and clearing them."""
import pandas as pd
import streamlit as st

from dashboard import confirm, loaders, shell
from dashboard.actions import Action
from dashboard.suppressions import SUPPRESSION_COLUMNS

ctx, access = shell.current()
st.title("Suppression list")
rows = loaders.suppressions(ctx.outputs["state_table"], "email")
st.caption(f"{len(rows)} email address(es) suppressed in stage `{ctx.name}`: a send to one ends UNDELIVERABLE with "
           "reason SUPPRESSED and the provider is not called. SES's hard bounces and complaints add them.")
st.dataframe(pd.DataFrame(rows, columns=list(SUPPRESSION_COLUMNS)), hide_index=True, width="stretch",
             key="suppression_table")

st.subheader("Clear addresses")
if not rows:
    st.caption("Nothing to clear.")
else:
    picked = st.multiselect("Addresses", [r["address"] for r in rows], key="suppression_pick")
    if st.button("Clear selected", key="btn_clear_suppression", disabled=not (picked and access.can_act)):
        reasons = {r["address"]: r["reason"] for r in rows}
        confirm.request(Action(
            "clear_suppression", {"channel": "email", "addresses": list(picked)},
            f"Remove {len(picked)} address(es) from the email suppression list: the next send to each is handed "
            "to the provider again (and suppressed again if it bounces or complains again).",
            ctx.name, details=tuple(f"{a} ({reasons.get(a, '?')})" for a in picked)))
        st.rerun()
