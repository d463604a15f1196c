"""Templates: the named notification templates (``message.template``) and automation templates of the stage."""
import pandas as pd
import streamlit as st

from dashboard import loaders, shell

ctx, access = shell.current()
st.title("Templates")
bucket = ctx.outputs["request_bucket"]
for title, prefix, command, used_by in (
        ("Notification templates", "templates", "templates", "a send's `template` (Courier's too)"),
        ("Automation templates", "automation-templates", "automations",
         "`POST /automations/{name}/invoke` and an invoke step's `template`")):
    names = loaders.named_templates(bucket, prefix)
    st.subheader(title)
    st.caption(f"{len(names)} in `s3://{bucket}/{prefix}/`, named by {used_by}. Store one with "
               f"`relay {command} put --stage {ctx.name} NAME FILE` (checked before it is stored).")
    st.dataframe(pd.DataFrame({"name": names}), hide_index=True, width="stretch", key=f"table_{prefix}")
