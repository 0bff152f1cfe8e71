"""Advisor: which failed deliveries to replay now, why, and the bulk replay itself."""

from __future__ import annotations

import streamlit as st

from intel.auth import TenantScope
from intel.deliveries.query import tenants as list_tenants
from intel.settings import database_url
from intel.timewindows import WindowSet, lookback
from ui import urlstate as U
from ui.advisor import render_advisor_panel
from ui.replay import render_job_progress, render_recent_jobs
from ui.session import engine, now, require_identity

# The window goes to the advisor as a look-back (``since=24h``).
WINDOWS = WindowSet(("1h", "24h", "7d"), default="24h")
ALL = "All tenants"
URL = U.UrlSpec.of(
    U.Param("window", parse=WINDOWS.check, default=WINDOWS.default, keep=True),
    U.Param("tenant"),
    U.Param("job"),
)


def _words(key: str) -> str:
    """``Last 24 hours``."""
    return lookback(key).words.removeprefix("the ").capitalize()


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

linked, problems = U.read(URL, canonical=False)
if problems:
    st.warning(f"The link's window is not one of {', '.join(WINDOWS.keys)}; showing "
               f"{lookback(WINDOWS.default).words}.")
tenants = _tenants(database_url(), identity.scope.cache_key(), identity.scope)
tenant = linked["tenant"]
if tenant and tenant not in tenants:
    tenants = [tenant, *tenants]  # a link to a tenant with no deliveries (for this identity)

left, right = st.columns([2, 3])
chosen = left.selectbox("Tenant", [ALL, *tenants],
                        index=([ALL, *tenants].index(tenant) if tenant else 0))
window = right.segmented_control("Failures in", list(WINDOWS.keys), default=linked["window"],
                                 format_func=_words, required=True) or WINDOWS.default
tenant = None if chosen == ALL else chosen
U.write(URL, {**linked, "window": window, "tenant": tenant})

render_advisor_panel(tenant, window, identity=identity, key="advisor_page", expanded_why=True)

job_param = linked["job"]
if job_param:
    st.subheader("Replay job")
    st.code(job_param, language=None)  # from the URL: shown as text, never Markdown
    render_job_progress(job_param, identity)

st.subheader("Recent replay jobs")
render_recent_jobs(identity)
st.caption(f"As of {now():%Y-%m-%d %H:%M:%S} UTC.")
