"""Streamlit helpers of the Anomalies page (the page composes them)."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from intel.auth import Identity
from intel.incidents.links import affected_deliveries_link
from intel.incidents.queries import active_incidents, duration_s
from intel.redact import redact_url
from intel.timewindows import LOOKBACKS
from ui.banner import acknowledge_dialog
from ui.safe import headline
from ui.session import engine, now, require_identity

# The incident history's look-backs, keyed by their button text (views/anomalies.py offers
# them by it and keeps no window in its URL).
WINDOWS = {"24 h": LOOKBACKS["24h"].span, "7 days": LOOKBACKS["7d"].span,
           "30 days": LOOKBACKS["30d"].span}
# A timeline span is the chart's width with its bucket (s), not a look-back filter.
TIMELINE = {"6 h": (timedelta(hours=6), 300), "24 h": (timedelta(hours=24), 900),
            "7 days": (timedelta(days=7), 3600)}


def _fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def incidents_frame(rows, at) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "severity": i.severity,
            "type": i.type,
            "target": redact_url(i.target),
            "what": headline(i.headline, i.target),
            "status": i.state,  # active | recovering | resolved
            "failures now": i.current_failures,
            "peak": i.peak_failures,
            "baseline": round(i.baseline, 2),
            "detected": i.detected_at,
            "resolved": i.resolved_at,
            "duration": _fmt_duration(duration_s(i, at)),
            "acknowledged by": i.acknowledged_by or "",
            "note": i.ack_note or "",
            "triage": ((i.details.get("triage") or {}).get("top") or {}).get("category", ""),
        }
        for i in rows
    ])


def _minutes(value: object, default: int = 5) -> int:
    try:
        return max(0, int(value)) // 60
    except (TypeError, ValueError, OverflowError):
        return default


def render_incident(incident, at, identity: Identity) -> None:
    """One incident's detail: the numbers, the triage breakdown, the actions (only those
    the identity's role may use)."""
    st.text(headline(incident.headline, incident.target))
    facts = incident.details.get("last") or {}
    cols = st.columns(4)
    cols[0].metric("Failures now", incident.current_failures,
                   help=f"in the last {_minutes(facts.get('window_s', 300))} min")
    cols[1].metric("Peak", incident.peak_failures)
    cols[2].metric("Baseline", f"{incident.baseline:.2f}",
                   help="failures the target's normal ratio predicts for its current traffic")
    cols[3].metric("Duration", _fmt_duration(duration_s(incident, at)))
    triage = incident.details.get("triage") or {}
    if triage.get("categories"):
        st.caption("Triage of the failures behind it")
        st.dataframe(pd.DataFrame(
            [{"category": k, "failures": v} for k, v in triage["categories"].items()]),
            hide_index=True)
        top = triage.get("top") or {}
        if top.get("recommended_action"):
            st.text(f"Recommended: {top['recommended_action']}")
    left, right = st.columns(2)
    left.link_button("View affected deliveries", affected_deliveries_link(incident))
    if incident.acknowledged:
        st.text(f"Acknowledged by {incident.acknowledged_by}: {incident.ack_note or ''}")
    elif incident.is_active and identity.can("acknowledge") and right.button(
        "Mark as known issue", key=f"page_ack_{incident.id}"
    ):
        acknowledge_dialog(incident.id, headline(incident.headline, incident.target),
                           via="anomalies_page")


def active_section() -> None:
    """The self-refreshing part: the active incidents (within the identity's tenants).
    The detector's status is the banner's, once per page (``ui.banner.detector_line``)."""
    identity = require_identity()
    at = now()
    with engine().connect() as conn:
        rows = active_incidents(conn, scope=identity.scope)
    st.subheader(f"Active incidents ({len(rows)})")
    if not rows:
        st.success("No active incidents.", icon="✅")
        return
    event = st.dataframe(incidents_frame(rows, at), hide_index=True,
                         on_select="rerun", selection_mode="single-row",
                         key="active_incidents")
    picked = event.selection.rows if event is not None else []
    chosen = rows[picked[0]] if picked and picked[0] < len(rows) else rows[0]
    with st.container(border=True):
        render_incident(chosen, at, identity)


def timeline_chart(points: list[dict], spans, at) -> alt.LayerChart | alt.Chart:
    bars = alt.Chart(pd.DataFrame(points or [{"at": at, "failures": 0, "deliveries": 0}])
                     ).mark_bar(color="#d62728", opacity=0.8).encode(
        x=alt.X("at:T", title=None), y=alt.Y("failures:Q", title="failures"),
        tooltip=["at:T", "failures:Q", "deliveries:Q"])
    if not spans:
        return bars
    frame = pd.DataFrame([
        {"start": i.detected_at, "end": i.resolved_at or at, "type": i.type,
         "target": redact_url(i.target), "severity": i.severity}
        for i in spans
    ])
    rects = alt.Chart(frame).mark_rect(opacity=0.25).encode(
        x="start:T", x2="end:T", color=alt.Color("type:N", title="incident"),
        tooltip=["type:N", "target:N", "severity:N", "start:T", "end:T"])
    return alt.layer(rects, bars).resolve_scale(color="independent")


