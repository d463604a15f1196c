"""relay's on-call console: ``streamlit run dashboard/app.py``. This file only routes."""
import sys
from pathlib import Path

# `streamlit run` puts dashboard/ on sys.path; the console imports its package and infra.config.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="relay console", page_icon=":material/notifications:", layout="wide")
page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/monitor_heart:", default=True),
    st.Page("pages/queues.py", title="Queues", icon=":material/show_chart:"),
    st.Page("pages/dead_letters.py", title="Dead letters", icon=":material/mark_email_unread:"),
    st.Page("pages/dlq_search.py", title="DLQ search", icon=":material/manage_search:"),
    st.Page("pages/mappings.py", title="Mappings", icon=":material/pause_circle:"),
    st.Page("pages/streams.py", title="Streams", icon=":material/waves:"),
    st.Page("pages/message_log.py", title="Message log", icon=":material/search:"),
    st.Page("pages/api_keys.py", title="API keys", icon=":material/key:"),
    st.Page("pages/templates.py", title="Templates", icon=":material/description:"),
    st.Page("pages/suppressions.py", title="Suppression list", icon=":material/block:"),
    st.Page("pages/audit.py", title="Audit", icon=":material/history:"),
])
page.run()
