"""The incident banner, at the top of every page (``app.py`` calls ``render_banner``).

While unacknowledged active incidents exist it shows each one under "Anomaly detected"
(or "Recovering" once it is back to normal and settling) with its headline at its peak
and now (``intel.incidents.headline``: "🚨 45 failures to api.customer.com in 5 min —
15x normal", "🚨 api.customer.com recovering: peak 45 failures in 5 min, 15x normal;
now 3"), a link to the affected deliveries (the history filtered to the target and
window) and, for a role that may acknowledge, "Mark as known issue" (a note, audited as
``incident.ack`` under the signed-in name; the incident stays tracked, the banner hides
it). Only incidents within the identity's tenants are shown. Below it, once per page:
"detector last ran 12 s ago" (refreshed every worker interval), and a warning when the
heartbeat is stale; pages do not repeat it. Target names come from delivery data, so
they are shown with ``st.text`` only.
"""

from __future__ import annotations

import streamlit as st

from intel.auth import Identity
from intel.incidents.lifecycle import AcknowledgeError, Incident
from intel.incidents.links import affected_deliveries_link
from intel.incidents.queries import banner_incidents
from intel.incidents.store import acknowledge_incident
from intel.worker.heartbeat import Freshness, freshness
from ui.safe import headline, md
from ui.session import allowed, engine, now, require_identity, settings

MAX_SHOWN = 3
_SEVERITY_BADGE = {"critical": ":red-badge[CRITICAL]", "warning": ":orange-badge[WARNING]"}


@st.dialog("Mark as known issue")
def acknowledge_dialog(incident_id: str, summary: str, via: str = "banner") -> None:
    """Acknowledge one incident with a note (shared with the Anomalies page)."""
    identity = require_identity()
    st.text(summary)
    st.caption("The incident stays active and tracked; the banner stops showing it. "
               "Your name and note go to the audit trail.")
    note = st.text_area("Note", key=f"ack_note_{incident_id}",
                        placeholder="e.g. customer is migrating servers until 18:00")
    st.text(f"Acknowledged as: {identity.name}")
    if st.button("Mark as known issue", type="primary", key=f"ack_confirm_{incident_id}"):
        if not allowed(identity, "acknowledge"):
            return
        try:
            acknowledge_incident(engine(), incident_id, identity.name, note, now(), via=via,
                                 scope=identity.scope)
        except AcknowledgeError as exc:
            st.error("Not acknowledged:", icon="🛑")
            st.code(str(exc), language=None)
            return
        st.session_state["incident_acknowledged"] = incident_id
        st.rerun()


def _incident_block(incident: Incident, identity: Identity) -> None:
    with st.container(border=True):
        left, right = st.columns([5, 2], vertical_alignment="center")
        with left:
            state = "Recovering" if incident.recovering else "Anomaly detected"
            st.markdown(f"{_SEVERITY_BADGE.get(incident.severity, '')} "
                        f"**{state}** · {md(incident.type)}")
            st.text(f"🚨 {headline(incident.headline, incident.target)}")
        with right:
            st.link_button("View affected deliveries", affected_deliveries_link(incident),
                           width="stretch")
            if identity.can("acknowledge") and st.button(
                "Mark as known issue", key=f"banner_ack_{incident.id}", width="stretch"
            ):
                acknowledge_dialog(incident.id, headline(incident.headline, incident.target))


def detector_status(fresh: Freshness) -> None:
    if fresh.age_s is None:
        st.caption("⏱️ detector has not run yet — start it with `python -m intel worker`")
    elif fresh.stale:
        st.warning(f"Anomaly detection is stale: {fresh.text}. Is `python -m intel worker` "
                   "running?", icon="⏱️")
    else:
        st.caption(f"⏱️ {fresh.text}")


def detector_line() -> None:
    """The detector's status line: the banner's, once per page, refreshed every worker
    interval (``render_banner`` runs it as a fragment)."""
    try:
        with engine().connect() as conn:
            fresh = freshness(conn, now(), settings().worker.stale_after_s)
    except Exception as exc:  # the banner never breaks a page
        st.caption(f"Detector status unavailable: {md(type(exc).__name__)}")
        return
    detector_status(fresh)


def render_banner(identity: Identity) -> None:
    try:
        with engine().connect() as conn:
            shown = banner_incidents(conn, scope=identity.scope)
    except Exception as exc:  # the banner never breaks a page
        st.caption(f"Anomaly status unavailable: {md(type(exc).__name__)}")
        return
    if st.session_state.pop("incident_acknowledged", None):
        st.toast("Marked as known issue — the incident is still tracked on the Anomalies page.")
    for incident in shown[:MAX_SHOWN]:
        _incident_block(incident, identity)
    if len(shown) > MAX_SHOWN:
        st.markdown(f"…and {len(shown) - MAX_SHOWN} more unacknowledged incidents: "
                    "see [Anomalies](/anomalies).")
    st.fragment(run_every=settings().worker.interval_s)(detector_line)()
