"""Advisor: which failed deliveries to replay now, why, and the bulk replay itself."""

from __future__ import annotations

import streamlit as st

from intel.auth import TenantScope
from intel.deliveries.query import tenants as list_tenants
from intel.settings import database_url
from ui.advisor import render_advisor_panel
from ui.replay import render_job_progress, render_recent_jobs
from ui.session import engine, now, require_identity

WINDOWS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}
ALL = "All tenants"


@st.cache_data(ttl=300, show_spinner=False)
def _tenants(url: str, scope_key: str, _scope: TenantScope) -> list[str]:
    del url, scope_key
    return list_tenants(engine(), scope=_scope)


identity = require_identity()
st.title("🧠 Replay advisor")
st.caption("Failures the advisor is confident a replay will fix, because triage calls them "
           "transient and their endpoint has answered successfully since and not failed "
           "again. Deliveries in an unfinished replay job are in progress, not recommended; "
           "a replay whose outcome is unknown is never resent automatically.")

params = st.query_params
window = params.get("window", "24h")
if window not in WINDOWS:
    st.warning("The link's window is not one of 1h, 24h, 7d; showing the last 24 hours.")
    window = "24h"
tenants = _tenants(database_url(), identity.scope.cache_key(), identity.scope)
tenant = params.get("tenant") or None
if tenant and tenant not in tenants:
    tenants = [tenant, *tenants]  # a link to a tenant with no deliveries (for this identity)

left, right = st.columns([2, 3])
chosen = left.selectbox("Tenant", [ALL, *tenants],
                        index=([ALL, *tenants].index(tenant) if tenant else 0))
window = right.segmented_control("Failures in", list(WINDOWS), default=window,
                                 format_func=WINDOWS.get, required=True) or "24h"
tenant = None if chosen == ALL else chosen
st.query_params.update({"window": window, **({"tenant": tenant} if tenant else {})})
if not tenant and "tenant" in st.query_params:
    del st.query_params["tenant"]

render_advisor_panel(tenant, window, identity=identity, key="advisor_page", expanded_why=True)

job_param = params.get("job")
if job_param:
    st.subheader("Replay job")
    st.code(job_param, language=None)  # from the URL: shown as text, never Markdown
    render_job_progress(job_param, identity)

st.subheader("Recent replay jobs")
render_recent_jobs(identity)
st.caption(f"As of {now():%Y-%m-%d %H:%M:%S} UTC.")
