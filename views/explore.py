"""Explore: ad-hoc questions over deliveries — a window, filters, one or two group-by
dimensions and a measure, aggregated in SQL. The whole view lives in the URL."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from intel.cache import get_cache
from intel.csvsafe import frame_to_csv
from intel.explore import (
    DIMENSIONS,
    MEASURES,
    ExploreError,
    ExploreQuery,
    explore_result,
    from_params,
    result_frame,
)
from intel.explore.chart import explore_chart
from intel.explore.query import MAX_DIMENSIONS, MAX_LIMIT, PARAMS, WINDOWS
from intel.explore.run import column_labels
from intel.store.schema import DELIVERY_STATUSES
from intel.timeutil import to_rfc3339
from ui import urlstate as U
from ui.insights import link_column
from ui.safe import redact_columns
from ui.session import engine, now, require_identity

ANY = "(any)"
KEYS = {
    "window": "explore_window", "since": "explore_since", "until": "explore_until",
    "tenant": "explore_tenant", "endpoint": "explore_endpoint",
    "event_type": "explore_event_type", "status": "explore_status", "by": "explore_by",
    "measure": "explore_measure", "limit": "explore_limit",
}

SYNCED = "explore_url_state"  # the view's parameters the widgets show


def _from_link(params) -> tuple[ExploreQuery, list[str]]:
    """The link's view; an invalid one is the default view, and the reason."""
    try:
        return from_params(params), []
    except ExploreError as exc:
        return ExploreQuery(), [str(exc)]


URL = U.UrlSpec(keys=PARAMS, parse=_from_link, to_params=ExploreQuery.to_params)

identity = require_identity()
st.title("🔎 Explore")
st.caption("Group deliveries by one or two dimensions and measure them. The view is in the "
           "page address: copy it to share exactly what you see.")


def _load_widgets(query: ExploreQuery) -> None:
    """Put a view into the widgets (first visit, or the address changed)."""
    state = st.session_state
    state[KEYS["window"]] = query.window
    state[KEYS["since"]] = to_rfc3339(query.since) or ""
    state[KEYS["until"]] = to_rfc3339(query.until) or ""
    for name in ("tenant", "endpoint", "event_type"):
        state[KEYS[name]] = getattr(query, name) or ""
    state[KEYS["status"]] = query.status or ANY
    state[KEYS["by"]] = list(query.by)
    state[KEYS["measure"]] = query.measure
    state[KEYS["limit"]] = query.limit


# --- restore the view from the URL -------------------------------------------------------
if U.changed_outside(SYNCED, U.own(URL, st.query_params.to_dict())):
    linked, problems = U.read(URL, canonical=False)
    if problems:
        st.warning("The view in this link is not valid; showing the default view instead.")
        st.code("\n".join(problems), language=None)
    _load_widgets(linked)

# --- the controls ----------------------------------------------------------------------------
row = st.columns([1, 2, 2, 1])
window = row[0].selectbox("Window", list(WINDOWS), key=KEYS["window"])
if window == "custom":
    row[1].text_input("Since (RFC 3339, UTC)", key=KEYS["since"],
                      placeholder="2026-11-01T00:00:00Z")
    row[2].text_input("Until (empty: now)", key=KEYS["until"])
row = st.columns(4)
row[0].text_input("Tenant", key=KEYS["tenant"], placeholder="exact id")
row[1].text_input("Endpoint", key=KEYS["endpoint"], placeholder="exact URL")
row[2].text_input("Event type", key=KEYS["event_type"], placeholder="e.g. invoice.paid")
row[3].selectbox("Status", [ANY, *DELIVERY_STATUSES], key=KEYS["status"])
row = st.columns([3, 2, 1])
row[0].multiselect("Group by (one or two)", list(DIMENSIONS), key=KEYS["by"],
                   format_func=DIMENSIONS.get, max_selections=MAX_DIMENSIONS,
                   select_all=False)
row[1].selectbox("Measure", list(MEASURES), key=KEYS["measure"], format_func=MEASURES.get)
row[2].number_input("Rows", min_value=1, max_value=MAX_LIMIT, step=10, key=KEYS["limit"])

state = st.session_state
params = {
    "window": state[KEYS["window"]],
    "tenant": state[KEYS["tenant"]],
    "endpoint": state[KEYS["endpoint"]],
    "event_type": state[KEYS["event_type"]],
    "status": "" if state[KEYS["status"]] == ANY else state[KEYS["status"]],
    "by": ",".join(state[KEYS["by"]]),
    "measure": state[KEYS["measure"]],
    "limit": str(state[KEYS["limit"]]),
}
if window == "custom":
    params |= {"since": state[KEYS["since"]], "until": state[KEYS["until"]]}
if not state[KEYS["by"]]:
    st.info("Choose at least one dimension to group by.")
    st.stop()
try:
    query = from_params(params)
except ExploreError as exc:
    st.warning("This view cannot run yet:")
    st.code(str(exc), language=None)
    st.stop()

# --- the view into the URL -------------------------------------------------------------------
shared = query.to_params()
U.write(URL, query)
U.mark_synced(SYNCED, shared)

try:
    result = explore_result(engine(), query, now(), cache=get_cache(), scope=identity.scope)
except Exception as exc:  # database unreachable and the like
    st.error("The query could not run.", icon="🛑")
    st.code(f"{type(exc).__name__}: {exc}", language=None)
    st.stop()
frame = redact_columns(result_frame(result, query), urls=("endpoint",))

st.caption(f"{result['since']} – {result['until']} (UTC) · {len(frame):,} rows · "
           f"computed {result['as_of']}")
if frame.empty:
    st.info("No deliveries match this view.")
    st.stop()

chart = explore_chart(frame, query)
if chart.frame_height:  # a tall chart in a scrolling frame, at its own height
    st.caption(f"{len(chart.categories['y']):,} rows, every one labelled: scroll the chart "
               "to see them all.")
    with st.container(height=chart.frame_height, border=False):
        st.altair_chart(chart.chart, width="stretch")
else:
    st.altair_chart(chart.chart, width="stretch")
labels = column_labels(query)
config = {name: st.column_config.Column(label) for name, label in labels.items()
          if name in frame.columns}
if "link" in frame.columns:
    config["link"] = link_column()
if "failure_ratio" in frame.columns:
    config["failure_ratio"] = st.column_config.NumberColumn(labels["failure_ratio"],
                                                            format="%.3f")
st.dataframe(frame, hide_index=True, column_config=config)

cols = st.columns([1, 3])
cols[0].download_button("⬇ Download CSV",
                        frame_to_csv(frame.drop(columns=["link"], errors="ignore")),
                        file_name="explore.csv", mime="text/csv")
with cols[1]:
    st.text("Share this view:")
    st.code("/explore" + ("?" + urlencode(shared) if shared else ""), language=None)
