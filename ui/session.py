"""Per-process resources and the operator's identity, shared by every page."""

from __future__ import annotations

import re

import streamlit as st
from sqlalchemy import Engine

from intel.settings import Settings, database_url, get_settings
from intel.store.db import get_engine

_NAME = re.compile(r"^[\w .@'-]{2,60}$")


def engine() -> Engine:
    """The store engine for ``DATABASE_URL`` (one pool per process)."""
    return get_engine(database_url())


def settings() -> Settings:
    return get_settings()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def current_operator() -> str | None:
    """The signed-in operator's name, or the demo-mode name entered in the sidebar."""
    if _oidc_configured():
        user = st.user
        if getattr(user, "is_logged_in", False):
            return str(user.get("email") or user.get("name"))
        return None
    return st.session_state.get("operator_name")


def operator_sidebar() -> str | None:
    """Identity block in the sidebar: OIDC login, or clearly marked demo mode."""
    with st.sidebar:
        if _oidc_configured():
            if getattr(st.user, "is_logged_in", False):
                st.caption(f"Signed in as **{current_operator()}**")
                st.button("Log out", on_click=st.logout)
            else:
                st.button("Log in", on_click=st.login, type="primary")
            return current_operator()
        st.markdown(":orange-badge[DEMO MODE] no sign-in configured")
        name = st.text_input(
            "Operator name",
            value=st.session_state.get("operator_name", ""),
            key="operator_name_input",
            help="Actions you take are recorded in the audit trail under this name.",
        ).strip()
        if name and not _NAME.match(name):
            st.error("Use 2-60 letters, digits, spaces or . @ ' -")
            name = ""
        if name:
            st.session_state["operator_name"] = name
        else:
            st.session_state.pop("operator_name", None)
        return current_operator()


def require_operator() -> str | None:
    """The operator, or a warning that actions need one (returns None then)."""
    operator = current_operator()
    if not operator:
        st.warning("Enter your operator name in the sidebar to take actions.", icon="👤")
    return operator
