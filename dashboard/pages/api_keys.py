"""API keys: who may call the stage's API (names, scopes, created, last used — never a key), and revoke one."""
import pandas as pd
import streamlit as st

from dashboard import confirm, loaders, shell
from dashboard.actions import Action
from dashboard.api_keys import KEY_COLUMNS

ctx, access = shell.current()
st.title("API keys")
rows = loaders.api_keys(ctx.outputs["state_table"])
live = [r["name"] for r in rows if r["status"] == "live"]
st.caption(f"{len(live)} live key(s) of {len(rows)} for stage `{ctx.name}`. Keys are stored only as a hash; "
           f"create one with `relay keys create --stage {ctx.name} --name <who> [--scopes send,read]` (it is "
           "printed once). `last used` is updated at most once a minute.")
st.dataframe(pd.DataFrame(rows, columns=list(KEY_COLUMNS)), hide_index=True, width="stretch", key="keys_table")

st.subheader("Revoke a key")
if not live:
    st.caption("No live key to revoke.")
else:
    name = st.selectbox("Key", live, key="revoke_key_name")
    if st.button("Revoke key", key="btn_revoke_key", disabled=not access.can_act):
        confirm.request(Action(
            "revoke_api_key", {"name": name},
            f"Revoke API key `{name}`: every API call with it is refused with 401 from then on (API containers "
            "may accept it for up to 30 s more, the time they cache a key). This cannot be undone; a caller "
            "that still needs access gets a new key.",
            ctx.name, details=(f"scopes: {next(r['scopes'] for r in rows if r['name'] == name)}",)))
        st.rerun()
