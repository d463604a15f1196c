"""The confirm dialog: the only place a console action runs.

A page calls :func:`request` with an :class:`~dashboard.actions.Action`; the router renders
:func:`render_pending` on every run, which opens the dialog. The dialog says exactly what will happen;
in prod the operator must type the stage name, and an action that names words to type (a purge) needs
them in every stage; confirming writes the audit ``before`` record, runs the action, writes ``after``,
clears the caches and reruns. A bulk action (:data:`~dashboard.actions.BULK`) only starts here: its
runner writes the ``after`` record, with the counts, when it stops.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import loaders
from dashboard.actions import BULK, Action, Started, perform
from dashboard.audit import AuditLog
from dashboard.auth import Access
from dashboard.errors import ConfirmationMismatch, ConsoleError, NotAnOperator
from dashboard.stages import StageContext

__all__ = ["request", "render_pending", "show_flash", "confirmation_ok", "required_words", "PENDING", "FLASH", "TYPED"]

PENDING, FLASH, TYPED = "pending_action", "flash", "confirm_typed"


def required_words(ctx: StageContext, action: Action | None = None) -> str:
    """What the operator must type: the action's words (a purge), else the stage name in prod, else nothing."""
    if action is not None and action.typed:
        return action.typed
    return ctx.name if ctx.is_prod else ""


def confirmation_ok(ctx: StageContext, typed: str, action: Action | None = None) -> bool:
    """Outside prod, the confirm button is enough (unless the action names words); else they must be typed exactly."""
    required = required_words(ctx, action)
    return not required or typed.strip() == required


def request(action: Action) -> None:
    """Ask for confirmation of ``action`` (the dialog opens on this run and the next)."""
    st.session_state.pop(TYPED, None)
    st.session_state[PENDING] = action


def _close() -> None:
    st.session_state.pop(PENDING, None)
    st.session_state.pop(TYPED, None)


def show_flash() -> None:
    """The last action's outcome, shown once."""
    flash = st.session_state.pop(FLASH, None)
    if flash:
        kind, text = flash
        (st.success if kind == "ok" else st.error)(text)


def _check(ctx: StageContext, access: Access, typed: str, action: Action) -> None:
    if not access.can_act:
        raise NotAnOperator(f"{access.actor or 'you'} may only view stage {ctx.name} ({access.why}). Nothing was done.")
    if not confirmation_ok(ctx, typed, action):
        if action.typed:
            raise ConfirmationMismatch(f"Nothing was done: type `{action.typed}` exactly to confirm.")
        raise ConfirmationMismatch(f"Nothing was done: type the stage name `{ctx.name}` exactly to confirm a "
                                   "production action.")


def _run_bulk(log: AuditLog, actor: str, action: Action, params: dict[str, Any], outputs: Any) -> Any:
    audit_id = log.begin(actor, action.name, params)
    try:
        return perform(loaders.aws(), outputs, action, Started(actor, audit_id))
    except Exception as err:
        log.end(audit_id, actor, action.name, params, f"error: {getattr(err, 'code', type(err).__name__)}: {err}")
        raise


@st.dialog("Confirm action", width="large", on_dismiss=_close)
def _dialog(action: Action, ctx: StageContext, access: Access, outputs: Any) -> None:
    st.markdown(f"**Stage `{ctx.name}`** — {action.description}")
    for line in action.details:
        st.markdown(f"- {line}")
    st.caption(f"Recorded in the audit log as `{action.name}` by {access.actor or 'unknown'}, before and after it runs.")
    typed = ""
    if ctx.is_prod:
        st.error("This is PRODUCTION.")
    required = required_words(ctx, action)
    if required:
        typed = st.text_input(f"Type `{required}` to confirm", key=TYPED)
    go, cancel = st.columns(2)
    if go.button("Confirm", type="primary", key="confirm_go"):
        try:
            _check(ctx, access, typed, action)
        except ConsoleError as err:
            st.error(f"{err.code}: {err}")
            return
        log = AuditLog(loaders.aws().dynamodb, outputs["audit_table"], ctx.name)
        params = {"stage": ctx.name, **dict(action.params)}
        try:
            if action.name in BULK:
                result = _run_bulk(log, access.actor, action, params, outputs)
            else:
                result = log.run(access.actor, action.name, params, lambda: perform(loaders.aws(), outputs, action))
            summary = result.summary() if hasattr(result, "summary") else str(result)
            st.session_state[FLASH] = ("ok", f"{action.description} — {summary}")
            skipped = getattr(result, "skipped", None)
            if skipped:
                st.session_state[FLASH] = ("ok", st.session_state[FLASH][1] + " · skipped: " +
                                           "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        except ConsoleError as err:
            st.session_state[FLASH] = ("error", f"{err.code}: {err}")
        except Exception as err:  # noqa: BLE001 - show AWS's answer to the operator; audit has it too
            st.session_state[FLASH] = ("error", f"{type(err).__name__}: {err}")
        _close()
        loaders.clear()
        st.rerun()
    if cancel.button("Cancel", key="confirm_cancel"):
        _close()
        st.rerun()


def render_pending(ctx: StageContext, access: Access) -> None:
    """Open the dialog for the pending action of this stage, if any."""
    action = st.session_state.get(PENDING)
    if action is None:
        return
    if action.stage != ctx.name:  # the operator switched stage: never apply an action elsewhere
        _close()
        return
    _dialog(action, ctx, access, dict(ctx.outputs))
