"""Streamlit helpers of the delivery history page: URL state, filters, table, detail.

The page's whole state is its URL (``intel.deliveries.links``): the filter widgets
write it through callbacks, and a URL that changed from outside (a deep link, the
browser's back button) is copied back into the widgets. The rows of a view are read
as of a pinned time (``as_of``, renewed when the filter changes or on Refresh), so a
page does not shift under the operator while new traffic arrives, and the position of
a selected table row maps back to the delivery it showed.

Every read is scoped to the signed-in identity's tenants (a delivery outside them is "not
in the store"). Untrusted text (tenant, endpoint, error, headers, body, payload, ids) is
shown only in dataframe cells, ``st.text``, ``st.code`` and ``st.json``; never markdown.
Endpoint URLs are shown with their credentials redacted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from intel.auth import Identity, TenantScope
from intel.deliveries import query as Q
from intel.deliveries.links import HISTORY_PARAMS, history_link
from intel.labels.modelstore import triage_frame
from intel.redact import redact_text, redact_url
from intel.settings import database_url
from intel.store.schema import DELIVERY_STATUSES
from intel.timeutil import ensure_utc, to_rfc3339
from intel.timewindows import CUSTOM, lookback
from intel.triage.result import CATEGORIES, TriageResult
from ui import triage_badges as B
from ui import urlstate as U
from ui.replay import render_single_replay
from ui.safe import md
from ui.session import engine, now, settings


def product_triage(frame: pd.DataFrame) -> pd.DataFrame:
    """Triage as operators configured it: the rules, blended with the trained model only
    when someone switched it on (Accuracy page); the model can never make a delivery
    safe to retry that the rules call permanent."""
    with engine().connect() as conn:
        return triage_frame(conn, frame, settings().triage)


def triage_one(delivery: dict):
    """One delivery's triage, the same way as the table's column."""
    row = product_triage(pd.DataFrame([{c: delivery.get(c) for c in Q.LIST_COLUMNS}])).iloc[0]
    return TriageResult(category=str(row["category"]), score=int(row["score"]),
                        reason=str(row["reason"]),
                        recommended_action=str(row["recommended_action"]),
                        rule=str(row.get("rule", "")))

KEY = {
    "window": "hist_window",
    "status": "hist_status",
    "category": "hist_category",
    "tenant": "hist_tenant",
    "endpoint": "hist_endpoint",
    "event_type": "hist_event_type",
    "since": "hist_since",
    "until": "hist_until",
}
SYNCED = "hist_synced"  # the filter parameters the widgets show
AS_OF = "hist_as_of"  # the pinned "now" of the view
SEEN_SELECTION = "hist_seen_selection"  # the table selection already turned into ?id=
ERROR = "hist_error"
ANY = ""  # the "no filter" option of a picker (None would read as "nothing chosen")
STATUS_CHOICES = (Q.ALL, *DELIVERY_STATUSES)
BODY_LIMIT = 20_000
EXCERPT = 160


# --- URL state ---------------------------------------------------------------------------


def now_pinned() -> datetime:
    """The pinned "now" of the current view (set on first use)."""
    if AS_OF not in st.session_state:
        st.session_state[AS_OF] = now().replace(microsecond=0)
    return st.session_state[AS_OF]


def refresh() -> None:
    """Read the view again as of now."""
    st.session_state[AS_OF] = now().replace(microsecond=0)


#: The page's URL: ``intel.deliveries.links`` parameters, parsed by ``intel.deliveries.query``.
URL: U.UrlSpec[Q.HistoryView] = U.UrlSpec(
    keys=HISTORY_PARAMS, parse=Q.parse_view, to_params=Q.HistoryView.to_params
)


def read_view() -> tuple[Q.HistoryView, list[str]]:
    """The view in the URL (made canonical there) and the parameters it ignored."""
    return U.read(URL)


def set_view(view: Q.HistoryView) -> None:
    U.write(URL, view)


def _current_view() -> Q.HistoryView:
    return U.read(URL, canonical=False)[0]


def sync_widgets(view: Q.HistoryView) -> None:
    """Copy the URL's filter into the widgets when it changed from outside them."""
    params = view.flt.to_params()
    if not U.changed_outside(SYNCED, params):
        return
    flt = view.flt
    st.session_state[KEY["window"]] = flt.window
    st.session_state[KEY["status"]] = flt.status or Q.ALL
    st.session_state[KEY["category"]] = flt.category or ANY
    st.session_state[KEY["tenant"]] = flt.tenant or ANY
    st.session_state[KEY["endpoint"]] = flt.endpoint or ANY
    st.session_state[KEY["event_type"]] = flt.event_type or ANY
    st.session_state[KEY["since"]] = _naive(flt.since)
    st.session_state[KEY["until"]] = _naive(flt.until)
    U.mark_synced(SYNCED, params)
    refresh()


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value).replace(tzinfo=None)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else ensure_utc(value)


def _on_filter_change(changed: str) -> None:
    """A filter widget changed: build the filter from the widgets and put it in the URL."""
    state = st.session_state
    window = state.get(KEY["window"]) or Q.DEFAULT_WINDOW
    status = state.get(KEY["status"]) or Q.ALL
    since = until = None
    if window == CUSTOM:
        since, until = _aware(state.get(KEY["since"])), _aware(state.get(KEY["until"]))
        if changed == "window" and since is None and until is None:
            since = now_pinned() - lookback(Q.DEFAULT_WINDOW).span  # start as the default
            state[KEY["since"]] = _naive(since)
    endpoint = state.get(KEY["endpoint"]) or None
    if changed == "tenant":
        endpoint = None  # another tenant's endpoints
        state[KEY["endpoint"]] = ANY
    try:
        flt = Q.HistoryFilter(
            tenant=state.get(KEY["tenant"]) or None,
            endpoint=endpoint,
            status=None if status == Q.ALL else status,
            event_type=state.get(KEY["event_type"]) or None,
            category=state.get(KEY["category"]) or None,
            window=window,
            since=since,
            until=until,
        )
    except Q.FilterError as exc:
        state[ERROR] = str(exc)
        return
    state.pop(ERROR, None)
    set_view(Q.HistoryView(flt=flt, page=1, id=_current_view().id))
    U.mark_synced(SYNCED, flt.to_params())
    refresh()


def _go_to_page(number: int) -> None:
    set_view(replace(_current_view(), page=max(1, number)))


def close_detail() -> None:
    set_view(replace(_current_view(), id=None))


# --- cached reads --------------------------------------------------------------------------


# Each cached read takes the scope twice: its text as part of the cache key, and the
# object itself (a leading underscore: not hashed) to query with.


@st.cache_data(ttl=300, show_spinner=False)
def _tenants(url: str, scope_key: str, _scope: TenantScope) -> list[str]:
    return Q.tenants(engine(), scope=_scope)


@st.cache_data(ttl=300, show_spinner=False)
def _event_types(url: str, scope_key: str, _scope: TenantScope) -> list[str]:
    return Q.event_types(engine(), scope=_scope)


@st.cache_data(ttl=300, show_spinner=False)
def _endpoints(url: str, tenant: str | None, since: datetime | None, scope_key: str,
               _scope: TenantScope) -> list[str]:
    return Q.endpoints(engine(), tenant, since=since, scope=_scope)


@st.cache_data(ttl=300, show_spinner="Triaging this view's failures…")
def _matches(url: str, params: tuple, as_of: datetime, scope_key: str,
             _scope: TenantScope) -> Q.CategoryMatches:
    flt = Q.HistoryFilter.from_params(dict(params))
    with engine().connect() as conn:
        return Q.category_matches(conn, flt, as_of, scope=_scope)


@st.cache_data(ttl=60, show_spinner=False)
def _page(url: str, params: tuple, as_of: datetime, page: int, per_page: int, scope_key: str,
          _scope: TenantScope) -> Q.HistoryPage:
    flt = Q.HistoryFilter.from_params(dict(params))
    matches = _matches(url, params, as_of, scope_key, _scope) if flt.category else None
    result = Q.view_page(engine(), flt, as_of, page, per_page, matches=matches, scope=_scope)
    result.rows = Q.with_triage(result.rows, classify=product_triage)
    return result


def load_page(view: Q.HistoryView, as_of: datetime, scope: TenantScope,
              per_page: int = Q.PER_PAGE) -> Q.HistoryPage:
    """The view's page (cached per view, pinned time, page and tenant scope)."""
    params = tuple(sorted(view.flt.to_params().items()))
    return _page(database_url(), params, as_of, view.page, per_page, scope.cache_key(), scope)


# --- filters -----------------------------------------------------------------------------


def _with_current(options: list[str], current: str | None) -> list[str]:
    values = [ANY, *options]
    if current is not None and current not in options:
        values.append(current)  # a deep link to a value outside the option list
    return values


def render_filters(view: Q.HistoryView, as_of: datetime, scope: TenantScope) -> None:
    """The filter bar (options within the tenant scope); every change goes to the URL
    through a callback."""
    sync_widgets(view)
    flt = view.flt
    url = database_url()
    key = scope.cache_key()
    top = st.columns([2.2, 3, 3.4, 1.2], vertical_alignment="bottom")
    top[0].segmented_control(
        "Window", list(Q.HISTORY_WINDOWS.keys), format_func=Q.HISTORY_WINDOWS.label,
        key=KEY["window"], required=True, on_change=_on_filter_change, args=("window",),
    )
    top[1].segmented_control(
        "Status", list(STATUS_CHOICES), format_func=lambda s: "All" if s == Q.ALL else s,
        key=KEY["status"], required=True, on_change=_on_filter_change, args=("status",),
    )
    top[2].selectbox(
        "Triage", [ANY, *CATEGORIES], format_func=lambda c: B.option_label(c or None),
        key=KEY["category"],
        on_change=_on_filter_change, args=("category",),
        help="Triage is computed on demand; this filter lists failed and pending deliveries.",
    )
    top[3].button("Refresh", on_click=refresh, icon="🔄", width="stretch",
                  help="Read the view again as of now (new traffic appears).")
    row = st.columns([2, 4, 2])
    row[0].selectbox(
        "Tenant", _with_current(_tenants(url, key, scope), flt.tenant), key=KEY["tenant"],
        format_func=lambda v: v or "All tenants",
        on_change=_on_filter_change, args=("tenant",),
    )
    since, _ = flt.time_range(as_of)
    endpoint_since = since if flt.tenant else None
    row[1].selectbox(
        "Endpoint",
        _with_current(_endpoints(url, flt.tenant, endpoint_since, key, scope), flt.endpoint),
        key=KEY["endpoint"], format_func=lambda v: redact_url(v) or "All endpoints",
        on_change=_on_filter_change, args=("endpoint",),
        help="With a tenant: that tenant's endpoints seen in the window.",
    )
    row[2].selectbox(
        "Event type", _with_current(_event_types(url, key, scope), flt.event_type),
        key=KEY["event_type"],
        format_func=lambda v: v or "All event types",
        on_change=_on_filter_change, args=("event_type",),
    )
    if flt.window == CUSTOM:
        custom = st.columns(2)
        custom[0].datetime_input(
            "Since (UTC)", value=None, key=KEY["since"], on_change=_on_filter_change,
            args=("since",), format="YYYY-MM-DD", step=timedelta(minutes=15),
        )
        custom[1].datetime_input(
            "Until (UTC, excluded)", value=None, key=KEY["until"],
            on_change=_on_filter_change, args=("until",), format="YYYY-MM-DD",
            step=timedelta(minutes=15),
        )
    if st.session_state.get(ERROR):
        st.error("This filter cannot be applied:", icon="🛑")
        st.code(st.session_state[ERROR], language=None, wrap_lines=True)


def render_problems(problems: list[str]) -> None:
    if problems:
        st.warning("Some parameters of the link were not understood and are ignored:", icon="🔗")
        st.text("\n".join(problems))


# --- summary and table ---------------------------------------------------------------------


def totals_line(result: Q.HistoryPage) -> str:
    """``Showing 1–100 of 12,345 · 1,234 failed · 56 pending`` (numbers only)."""
    if result.total == 0:
        head = "No deliveries match"
    else:
        head = f"Showing {result.first:,}–{result.last:,} of {result.total:,}"
    parts = [head]
    for status in ("failed", "pending", "delivered"):
        count = result.by_status.get(status, 0)
        if count:
            parts.append(f"{count:,} {status}")
    return " · ".join(parts)


def render_summary(view: Q.HistoryView, result: Q.HistoryPage, as_of: datetime) -> None:
    """What the view is and how much it holds."""
    st.text(redact_text(view.flt.describe(as_of)))
    st.caption(totals_line(result))
    if result.by_category is not None and not result.note:
        counts = "   ".join(
            f"{B.BADGES[c].dot} {c} {result.by_category.get(c, 0):,}" for c in CATEGORIES
        )
        st.caption(f"Triage of the view's failed and pending deliveries:   {counts}")
    if result.note:
        st.warning(md(result.note), icon="🧭")


def _excerpt(row: dict) -> str:
    text = redact_text(row.get("error")) or row.get("response_body") or ""
    text = " ".join(str(text).split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


TABLE_COLUMNS = (
    "Triage", "Last attempt", "Status", "HTTP", "Tenant", "Endpoint", "Error / response",
    "Reason", "Recommended action", "Score", "Attempts", "Event type", "ID",
)


def table_frame(rows: list[dict]) -> pd.DataFrame:
    """The history table: one row per delivery, triage first."""
    records = [
        {
            "Triage": B.badge_text(r.get("category")),
            "Score": r.get("score"),
            "Last attempt": r.get("last_attempt_at"),
            "Status": r.get("status"),
            "HTTP": r.get("http_status"),
            "Tenant": r.get("tenant"),
            "Endpoint": redact_url(r.get("endpoint")),
            "Event type": r.get("event_type"),
            "Error / response": _excerpt(r),
            "Reason": r.get("reason") or "",
            "Recommended action": r.get("recommended_action") or "",
            "Attempts": r.get("attempts"),
            "ID": r.get("id"),
        }
        for r in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    frame["Score"] = frame["Score"].astype("Int64")
    frame["HTTP"] = frame["HTTP"].astype("Int64")
    frame["Attempts"] = frame["Attempts"].astype("Int64")
    return frame


def _table_key(view: Q.HistoryView, as_of: datetime) -> str:
    basis = json.dumps([view.flt.to_params(), view.page, to_rfc3339(as_of)], sort_keys=True)
    return "hist_table_" + hashlib.sha1(basis.encode()).hexdigest()[:12]


def render_table(view: Q.HistoryView, result: Q.HistoryPage, as_of: datetime) -> Q.HistoryView:
    """The table; a selected row opens its delivery (``id`` in the URL). Returns the
    view with the selection applied."""
    frame = table_frame(result.rows)
    key = _table_key(view, as_of)
    event = st.dataframe(
        B.style_triage(frame).format(na_rep="", subset=["Score", "HTTP", "Attempts"]),
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        height=min(38 + 35 * max(len(frame), 1), 520),
        column_order=TABLE_COLUMNS,
        column_config={
            "Triage": st.column_config.TextColumn("Triage", width=190, help=B.legend()),
            "Last attempt": st.column_config.DatetimeColumn(
                "Last attempt (UTC)", format="YYYY-MM-DD HH:mm:ss", timezone="UTC", width=150
            ),
            "Status": st.column_config.TextColumn("Status", width=70),
            "HTTP": st.column_config.NumberColumn("HTTP", width=50, format="%d"),
            "Tenant": st.column_config.TextColumn("Tenant", width=110),
            "Endpoint": st.column_config.TextColumn("Endpoint", width=200),
            "Error / response": st.column_config.TextColumn("Error / response", width=220),
            "Reason": st.column_config.TextColumn("Reason", width=220),
            "Recommended action": st.column_config.TextColumn(
                "Recommended action", width=220
            ),
            "Score": st.column_config.NumberColumn("Score", width=55, format="%d"),
            "Attempts": st.column_config.NumberColumn("Attempts", width=70, format="%d"),
        },
    )
    selected = list(event.selection.rows) if event is not None else []
    if selected and 0 <= selected[0] < len(frame):
        # Positions index the frame rendered in THIS run: map to the id right here.
        delivery_id = str(frame.iloc[selected[0]]["ID"])
        marker = (key, selected[0], delivery_id)
        if st.session_state.get(SEEN_SELECTION) != marker:
            st.session_state[SEEN_SELECTION] = marker
            if view.id != delivery_id:
                view = replace(view, id=delivery_id)
                set_view(view)
    return view


def render_pager(view: Q.HistoryView, result: Q.HistoryPage) -> None:
    cols = st.columns([1, 1, 4, 1, 1], vertical_alignment="center")
    cols[0].button("⏮ First", on_click=_go_to_page, args=(1,), disabled=view.page <= 1,
                   key="hist_first", width="stretch")
    cols[1].button("◀ Newer", on_click=_go_to_page, args=(view.page - 1,),
                   disabled=view.page <= 1, key="hist_prev", width="stretch")
    cols[2].caption(f"Page {view.page:,} of {result.pages:,} · {result.per_page} per page")
    cols[3].button("Older ▶", on_click=_go_to_page, args=(view.page + 1,),
                   disabled=view.page >= result.pages, key="hist_next",
                   width="stretch")
    cols[4].button("Last ⏭", on_click=_go_to_page, args=(result.pages,),
                   disabled=view.page >= result.pages, key="hist_last",
                   width="stretch")


# --- the detail ------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _field_text(value: Any, name: str = "") -> str:
    if value is None:
        return "(null)"
    if isinstance(value, datetime):
        return to_rfc3339(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if name == "endpoint":
        return str(redact_url(value))
    if name == "error":
        return str(redact_text(value))
    return str(value)


FIELD_ORDER = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error", "attempts",
    "created_at", "last_attempt_at", "duration_ms", "response_headers", "response_body",
    "payload", "extra", "updated_at",
)


def fields_frame(delivery: dict) -> pd.DataFrame:
    """Every stored field of the delivery as text (one row per field)."""
    names = [f for f in FIELD_ORDER if f in delivery] + [
        f for f in delivery if f not in FIELD_ORDER and f != "attempts_timeline"
    ]
    return pd.DataFrame(
        {"Field": names, "Value": [_field_text(delivery[f], f) for f in names]}
    )


def attempts_frame(delivery: dict) -> pd.DataFrame:
    rows = [
        {
            "#": a.get("attempt_no"),
            "Kind": a.get("kind"),
            "Finished (UTC)": to_rfc3339(a.get("finished_at")),
            "Status": a.get("status"),
            "HTTP": a.get("http_status"),
            "Error": redact_text(a.get("error")) or "",
            "Duration ms": a.get("duration_ms"),
            "Operator": a.get("operator") or "",
            "Job": a.get("job_id") or "",
        }
        for a in delivery.get("attempts_timeline", [])
    ]
    frame = pd.DataFrame.from_records(
        rows,
        columns=["#", "Kind", "Finished (UTC)", "Status", "HTTP", "Error", "Duration ms",
                 "Operator", "Job"],
    )
    frame["HTTP"] = frame["HTTP"].astype("Int64")
    return frame


def render_detail_actions(delivery: dict, triage, identity: Identity) -> None:
    """What the operator can do with this delivery: the recommended action, a replay (for
    a role that may replay), a link."""
    st.markdown("**Recommended action**")
    st.text(triage.recommended_action if triage else "Nothing to do: the delivery succeeded.")
    render_single_replay(delivery, identity)
    st.caption("Link to this delivery")
    st.code(history_link(id=delivery["id"]), language=None)


def render_detail(delivery_id: str, identity: Identity) -> None:
    """The delivery's detail: triage, every field, attempts, headers, body, payload (a
    delivery outside the identity's tenants is "not in the store")."""
    delivery = Q.get_delivery(engine(), delivery_id, scope=identity.scope)
    with st.container(border=True):
        head = st.columns([6, 1], vertical_alignment="center")
        head[0].subheader("Delivery detail")
        head[1].button("Close ✕", on_click=close_detail, key="hist_close",
                       width="stretch")
        st.code(delivery_id, language=None)
        if delivery is None:
            st.warning("No delivery with this id in the store.", icon="🔍")
            return
        failure = delivery.get("status") != "delivered"
        triage = triage_one(delivery) if failure else None
        left, right = st.columns([3, 2])
        with left:
            st.text(
                f"{delivery.get('status')} · HTTP {delivery.get('http_status') or '—'} · "
                f"{delivery.get('attempts')} attempt(s) · last "
                f"{to_rfc3339(delivery.get('last_attempt_at'))}\n"
                f"tenant {delivery.get('tenant')} · {delivery.get('event_type') or '(no type)'}\n"
                f"{redact_url(delivery.get('endpoint'))}"
            )
        with right:
            st.markdown("**Triage**")
            if triage is None:
                st.text("Delivered: not a failure.")
            else:
                B.render_badge(triage.category, triage.score)
                st.text(triage.reason)
            render_detail_actions(delivery, triage, identity)
        tabs = st.tabs(["Response", "Payload", "Attempts", "All fields"])
        with tabs[0]:
            st.caption("Transport error")
            st.code(redact_text(delivery.get("error")) or "(none)", language=None,
                    wrap_lines=True)
            st.caption("Response headers")
            headers = delivery.get("response_headers")
            st.code(_json_text(headers) if headers else "(none)", language="json",
                    wrap_lines=True)
            st.caption("Response body")
            body = delivery.get("response_body")
            if body and len(body) > BODY_LIMIT:
                st.caption(f"First {BODY_LIMIT:,} of {len(body):,} characters")
                body = body[:BODY_LIMIT]
            st.code(body or "(none)", language=None, wrap_lines=True)
        with tabs[1]:
            payload = delivery.get("payload")
            if isinstance(payload, dict | list):
                st.json(payload, expanded=2)
            else:
                st.code(payload if payload is not None else "(none)", language=None,
                        wrap_lines=True)
            if delivery.get("extra"):
                st.caption("Other fields that came with the record")
                st.json(delivery["extra"], expanded=1)
        with tabs[2]:
            st.dataframe(attempts_frame(delivery), hide_index=True)
        with tabs[3]:
            st.dataframe(fields_frame(delivery), hide_index=True)
