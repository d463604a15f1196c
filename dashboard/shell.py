"""The frame around every page: stage picker, who you are, the stage banner (prod is red)."""
from __future__ import annotations

import getpass
import json
import os

import streamlit as st

from dashboard import auth, confirm, loaders
from dashboard.aws import endpoint_url, is_local_endpoint
from dashboard.stages import StageContext, default_stage, stage_config

__all__ = ["frame", "current"]

_CTX, _ACCESS = "_stage_ctx", "_access"

PROD_STYLE = """<style>
[data-testid="stSidebar"] { background-color: #7f1d1d; }
[data-testid="stSidebar"] * { color: #fff !important; }
[data-testid="stHeader"] { background-color: #b91c1c; }
</style>"""


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return False


def frame() -> None:
    """Render the sidebar and header; stop the script when there is nothing (or nothing allowed) to show."""
    endpoint = endpoint_url()
    published = loaders.stages()
    if st.session_state.get("stage") and st.session_state["stage"] not in published:
        published = loaders.stages(refresh=True)  # a stage deployed since the list was cached
    st.sidebar.markdown("### relay on-call console")
    if not published:
        st.title("relay on-call console")
        st.warning(f"No stage found: no `/relay/<stage>/outputs` parameter in SSM at "
                   f"{endpoint or 'AWS (' + os.environ.get('AWS_REGION', os.environ.get('AWS_DEFAULT_REGION', 'default region')) + ')'}. "
                   "Deploy a stage (`pulumi up --stack dev` or `relay up`) first.")
        st.stop()
    names = list(published)
    if st.session_state.get("stage") not in names:
        st.session_state["stage"] = default_stage(published, os.environ.get("RELAY_STAGE", ""))
    else:  # the picker is a page's widget: re-assigning its state keeps the stage when the operator changes pages
        st.session_state["stage"] = st.session_state["stage"]
    name = st.sidebar.selectbox("Stage", names, key="stage")
    cfg, note = stage_config(name)
    ctx = StageContext(name, published[name], cfg, note, is_local_endpoint(endpoint))
    access = auth.decide(
        is_local=ctx.is_local, auth_configured=_auth_configured(),
        logged_in=bool(getattr(st.user, "is_logged_in", False)), email=getattr(st.user, "email", None),
        operators=cfg.operators, local_user=getpass.getuser(),
        aws_identity="" if ctx.is_local else loaders.actor_identity(endpoint))
    if access.role == auth.ANONYMOUS:
        st.title("relay on-call console")
        st.info(access.why)
        st.button("Log in", on_click=st.login, type="primary")
        st.stop()
    st.session_state[_CTX], st.session_state[_ACCESS] = ctx, access
    st.sidebar.markdown(f"**Stage:** `{name}`  \n**You:** {access.actor} — {access.role}")
    st.sidebar.caption(access.why)
    if _auth_configured() and not ctx.is_local:
        st.sidebar.button("Log out", on_click=st.logout)


def current() -> tuple[StageContext, auth.Access]:
    """Every page starts here: the sidebar (:func:`frame`), the stage banner (prod is red), the last action's outcome, the pending
    confirm dialog; returns the stage and access :func:`frame` established for this run.

    Rendered by the page (not the router) so the banner is the first thing in the page's own body.
    """
    frame()
    ctx, access = st.session_state[_CTX], st.session_state[_ACCESS]
    if ctx.is_prod:
        st.markdown(PROD_STYLE, unsafe_allow_html=True)
        st.error(f"PRODUCTION — stage `{ctx.name}`: actions affect real users; each needs the stage name typed.")
    else:
        where = "local emulator" if ctx.is_local else f"AWS {ctx.outputs.get('region', '')}"
        st.info(f"Stage `{ctx.name}` · {where}")
    _paused_reminder(ctx)
    confirm.show_flash()
    confirm.render_pending(ctx, access)
    return ctx, access


def _paused_reminder(ctx: StageContext) -> None:
    """On every page, for as long as it lasts: a paused mapping consumes nothing, and it is easy to forget."""
    try:
        states = loaders.mapping_states(json.dumps(dict(ctx.outputs), sort_keys=True))
    except Exception:  # noqa: BLE001 - a stage without readable mappings still shows its pages
        return
    for m in (x for x in states if x.paused):
        who = f" by {m.paused_by} ({m.reason})" if m.paused_by else ""
        st.warning(f"Reminder: the {m.label} mapping is PAUSED{m.paused_for()}{who}: nothing is consumed until it "
                   "is resumed (Mappings page).", icon=":material/pause_circle:")
