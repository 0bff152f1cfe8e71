"""Anomalies: active incidents, their history, and a timeline of failures with incident spans.

The active part refreshes itself every worker interval (``st.fragment(run_every=...)``;
its function is ``ui.anomalies.active_section``). Targets and triage reasons come from
delivery data: they are shown in dataframe cells or with ``st.text``, never as markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from intel.detect.rules import RULES
from intel.incidents.queries import incident_history
from intel.incidents.timeline import failures_per_bucket, incident_spans
from ui.anomalies import TIMELINE, WINDOWS, active_section, incidents_frame, timeline_chart
from ui.session import engine, now, require_identity, settings

identity = require_identity()
st.title("🚨 Anomalies")
run_every = settings().worker.interval_s
st.fragment(run_every=run_every)(active_section)()

st.subheader("Timeline")
span_label = st.segmented_control("Timeline span", list(TIMELINE), default="24 h",
                                  key="timeline_span") or "24 h"
span, bucket_s = TIMELINE[span_label]
at = now()
with engine().connect() as conn:
    points = failures_per_bucket(conn, at - span, at, bucket_s, scope=identity.scope)
    spans = incident_spans(conn, at - span, at, scope=identity.scope)
st.altair_chart(timeline_chart(points, spans, at), width="stretch")
st.caption(f"Failed deliveries per {bucket_s // 60} min; shaded: incidents while active.")

st.subheader("History")
window = st.segmented_control("Detected in the last", list(WINDOWS), default="7 days",
                              key="history_window") or "7 days"
with engine().connect() as conn:
    history = incident_history(conn, since=at - WINDOWS[window], scope=identity.scope)
if history:
    st.dataframe(incidents_frame(history, at), hide_index=True, key="incident_history")
else:
    st.info("No incidents in this period.")

with st.expander("How incidents are detected"):
    detector = settings().detector
    st.dataframe(pd.DataFrame([
        {"rule": r.type, "seed rule": r.literal, "as checked": r.describe(detector)}
        for r in RULES
    ]), hide_index=True)
    st.caption(f"Mode: {detector.mode}. Severity: critical at {detector.critical_min_failures}+ "
               f"failures when {detector.critical_failure_ratio:.0%} of deliveries fail or "
               f"the multiple reaches {detector.critical_multiple:g}x the rule's threshold; "
               "otherwise warning. Resolved after "
               f"{detector.settle_s // 60} min back to normal.")
