"""Mappings: pause and resume what feeds the job worker and the log indexer while a downstream is down."""
import json

import streamlit as st

from dashboard import confirm, loaders, shell
from dashboard.actions import Action

ctx, access = shell.current()
o = ctx.outputs
st.title("Mappings")
st.caption("Pausing a mapping (UpdateEventSourceMapping Enabled=false) stops Lambda from polling it: the job queue "
           "keeps its jobs and the stream its records (for 24 h) instead of failing them into a DLQ while a "
           "downstream is down. Resume to start again where it stopped. The next `pulumi up` re-enables a paused "
           "mapping.")

for m in loaders.mapping_states(json.dumps(dict(o), sort_keys=True)):
    with st.container(border=True, key=f"mapping-{m.key}"):
        st.subheader(f"{':red[PAUSED] — ' if m.paused else ''}{m.label}")
        st.caption(f"`{m.uuid}` · state **{m.state}**")
        if m.paused:
            st.error(f"Paused{m.paused_for()}" + (f" by {m.paused_by}: {m.reason}" if m.paused_by else " (no pause record)"),
                     icon=":material/pause_circle:")
            if st.button("Resume", key=f"btn_resume_{m.key}", type="primary", disabled=not access.can_act):
                confirm.request(Action("resume_mapping", {"mapping": m.key, "by": access.actor},
                                       f"Resume the {m.label} mapping `{m.uuid}`: Lambda polls it again and works "
                                       "through what waited.", ctx.name))
                st.rerun()
        else:
            reason = st.text_input("Reason (shown to everyone until it is resumed)", key=f"pause_reason_{m.key}",
                                   placeholder="e.g. the email provider is down (INC-123)")
            if st.button("Pause", key=f"btn_pause_{m.key}", disabled=not access.can_act or not reason.strip()):
                confirm.request(Action("pause_mapping", {"mapping": m.key, "reason": reason.strip(), "by": access.actor},
                                       f"Pause the {m.label} mapping `{m.uuid}` (Enabled=false): nothing is consumed "
                                       f"until it is resumed. Reason: {reason.strip()}", ctx.name))
                st.rerun()
