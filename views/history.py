"""Delivery history: every delivery, filtered, paginated in SQL, triaged on screen.

The view lives in the URL (``intel.deliveries.links.history_link`` parameters), so a
link reproduces it. The bare page opens on the failed deliveries of the last 24 h; any
link means exactly what its parameters say. Selecting a row opens that delivery below
the table (``id`` in the URL).
"""

from __future__ import annotations

import streamlit as st

from intel.deliveries.query import HistoryView
from ui import history as H
from ui.advisor import render_advisor_panel
from ui.session import require_identity
from ui.triage_badges import legend

identity = require_identity()
st.title("📬 Delivery history")

view, problems = H.read_view()
H.sync_widgets(view)  # a URL changed from outside renews the pinned time: before reading it
as_of = H.now_pinned()
H.render_problems(problems)
H.render_filters(view, as_of, identity.scope)

result = H.load_page(view, as_of, identity.scope)
if view.page > result.pages and result.total:
    # The view shrank under the page number (e.g. a narrower filter): show its last page.
    view = HistoryView(flt=view.flt, page=result.pages, id=view.id)
    H.set_view(view)
    result = H.load_page(view, as_of, identity.scope)

H.render_summary(view, result, as_of)
# The advisor follows the view's tenant and time window: "of these failures, replay those".
render_advisor_panel(
    view.flt.tenant,
    view.flt.since if view.flt.window == "custom" else view.flt.window,
    identity=identity,
    key="history_advisor",
)

view = H.render_table(view, result, as_of)
st.caption(legend())
H.render_pager(view, result)

if view.id:
    H.render_detail(view.id, identity)
else:
    st.caption("Select a row to open the delivery: every field, its triage, attempts and payload.")
