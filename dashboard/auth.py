"""Who may do what in the console: a pure decision (no streamlit).

* The local stage (endpoint on loopback) needs no login: whoever runs it operates it.
* A deployed console (``.streamlit/secrets.toml`` has an ``[auth]`` section) requires an OIDC login
  (``st.login``); signed-in users on the stage's ``operators`` allowlist (``relay:operators``) may act,
  everyone else is a read-only viewer.
* Without ``[auth]`` against real AWS, the console runs on the operator's own machine with their own
  credentials: IAM is the gate, so they operate, and the audit records their AWS identity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

__all__ = ["Access", "OPERATOR", "VIEWER", "ANONYMOUS", "decide"]

OPERATOR, VIEWER, ANONYMOUS = "operator", "viewer", "anonymous"


@dataclass(frozen=True)
class Access:
    role: str
    actor: str
    why: str

    @property
    def can_act(self) -> bool:
        return self.role == OPERATOR


def decide(*, is_local: bool, auth_configured: bool, logged_in: bool, email: str | None,
           operators: Iterable[str], local_user: str, aws_identity: str = "") -> Access:
    """The role and audit actor of the person using the console.

    Parameters
    ----------
    is_local
        The endpoint is on loopback (the local stage).
    auth_configured
        ``st.secrets`` has an ``[auth]`` section (OIDC).
    logged_in, email
        ``st.user.is_logged_in`` and ``st.user.email``.
    operators
        The stage config's allowlist of operator emails.
    local_user
        The OS user running the console (actor on the local stage).
    aws_identity
        The caller's AWS ARN (actor when no login is configured).
    """
    if is_local:
        return Access(OPERATOR, f"{local_user} (local)", "local stage: no login needed")
    if auth_configured:
        if not logged_in:
            return Access(ANONYMOUS, "", "log in to see this stage")
        allowed = {o.strip().lower() for o in operators}
        who = (email or "").strip().lower()
        if who and who in allowed:
            return Access(OPERATOR, who, "on the stage's operator allowlist")
        return Access(VIEWER, who or "unknown", "signed in, not on the operator allowlist (relay:operators): read-only")
    return Access(OPERATOR, aws_identity or local_user, "no [auth] configured: your AWS credentials are the gate")
