"""Audit trail: every operator and system action, newest first, filtered from the URL.

URL parameters: ``actor``, ``action`` (a prefix: ``replay`` matches ``replay.single`` and
``replay.job.start``), ``target_type``, ``target`` (target id), ``window`` (``1h`` |
``24h`` | ``7d`` | ``30d`` | ``all`` | ``custom`` with ``since``/``until``, RFC 3339),
``page``. Only events within the signed-in identity's tenants are listed (platform-wide
events only to identities without a tenant limit). Details are shown as JSON text;
summaries and targets only as table cells or text (they may quote untrusted data such as
endpoint URLs, whose credentials are redacted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from intel.audit import AuditFilter, distinct_values, list_events
from intel.auth import TenantScope
from intel.redact import redact_text
from intel.settings import database_url
from intel.timeutil import ensure_utc, to_rfc3339
from intel.timewindows import ALL_TIME, CUSTOM, WindowSet
from ui import urlstate as U
from ui.session import engine, now, require_identity

WINDOWS = WindowSet(("1h", "24h", "7d", "30d", ALL_TIME, CUSTOM), default=ALL_TIME)
PER_PAGE = 50
KEY = {name: f"audit_{name}" for name in ("actor", "action", "target_type", "target",
                                          "window", "since", "until")}
SYNCED = "audit_synced"
AS_OF = "audit_as_of"


def _implied_window(params: Mapping) -> str:
    # A link with since/until but no window means those bounds.
    return CUSTOM if U.one(params, "since") or U.one(params, "until") else WINDOWS.default


URL = U.UrlSpec.of(
    U.Param("actor"),
    U.Param("action"),
    U.Param("target_type"),
    U.Param("target"),
    U.Param("window", parse=WINDOWS.check, default=WINDOWS.default, keep=True,
            implied=_implied_window),
    *U.CUSTOM_BOUNDS,
    U.Param("page", parse=U.page_number, default=1),
)


def to_filter(state: dict, now: datetime) -> AuditFilter:
    since, until = WINDOWS.resolve(state["window"], now, state.get("since"), state.get("until"))
    return AuditFilter(
        actor=state.get("actor"),
        action_prefix=state.get("action"),
        target_type=state.get("target_type"),
        target_id=state.get("target"),
        since=since,
        until=until,
    )


def _aware(value) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else ensure_utc(value)


def _filter_params(state: dict) -> dict[str, str]:
    """The URL's filter (what the widgets show): everything but the page number."""
    return {k: v for k, v in URL.to_params(state).items() if k != "page"}


def _on_change() -> None:
    s = st.session_state
    state = {
        "actor": s.get(KEY["actor"]) or None,
        "action": s.get(KEY["action"]) or None,
        "target_type": s.get(KEY["target_type"]) or None,
        "target": (s.get(KEY["target"]) or "").strip() or None,
        "window": s.get(KEY["window"]) or WINDOWS.default,
        "since": _aware(s.get(KEY["since"])),
        "until": _aware(s.get(KEY["until"])),
        "page": 1,
    }
    U.write(URL, state)
    U.mark_synced(SYNCED, _filter_params(state))
    s[AS_OF] = now().replace(microsecond=0)


def _go_to(page: int) -> None:
    state, _ = U.read(URL, canonical=False)
    U.write(URL, {**state, "page": max(1, page)})


@st.cache_data(ttl=60, show_spinner=False)
def _choices(url: str, scope_key: str,
             _scope: TenantScope) -> tuple[list[str], list[str], list[str]]:
    actors = distinct_values(engine(), "actor", scope=_scope)
    actions = distinct_values(engine(), "action", scope=_scope)
    prefixes = sorted({".".join(a.split(".")[:i]) for a in actions
                       for i in range(1, a.count(".") + 2)})
    return actors, prefixes, distinct_values(engine(), "target_type", scope=_scope)


ANY = ""  # the "no filter" option of a picker (None would read as "nothing chosen")


def _with(options: list[str], current: str | None) -> list[str]:
    values = [ANY, *options]
    if current is not None and current not in options:
        values.append(current)
    return values


identity = require_identity()
st.title("📜 Audit trail")
st.caption("Every operator and system action, newest first. Select an event to read its details.")

state, problems = U.read(URL)
canonical = URL.to_params(state)
synced = _filter_params(state)
if U.changed_outside(SYNCED, synced):
    for name in ("actor", "action", "target_type", "target"):
        st.session_state[KEY[name]] = state[name] or ANY
    st.session_state[KEY["window"]] = state["window"]
    for name in ("since", "until"):
        value = state[name]
        st.session_state[KEY[name]] = None if value is None else value.replace(tzinfo=None)
    U.mark_synced(SYNCED, synced)
    st.session_state[AS_OF] = now().replace(microsecond=0)
as_of = st.session_state.get(AS_OF) or now().replace(microsecond=0)

if problems:
    st.warning("Some parameters of the link were not understood and are ignored:", icon="🔗")
    st.text("\n".join(problems))

actors, prefixes, target_types = _choices(database_url(), identity.scope.cache_key(),
                                          identity.scope)
top = st.columns([3, 2, 2, 2, 3], vertical_alignment="bottom")
top[0].segmented_control("Window", list(WINDOWS.keys), format_func=WINDOWS.label,
                         key=KEY["window"], required=True, on_change=_on_change)
top[1].selectbox("Actor", _with(actors, state["actor"]), key=KEY["actor"],
                 format_func=lambda v: v or "Anyone", on_change=_on_change)
top[2].selectbox("Action", _with(prefixes, state["action"]), key=KEY["action"],
                 format_func=lambda v: f"{v}*" if v else "Any action",
                 on_change=_on_change, help="A prefix: replay matches replay.single, replay.job.*")
top[3].selectbox("Target type", _with(target_types, state["target_type"]),
                 key=KEY["target_type"], format_func=lambda v: v or "Any",
                 on_change=_on_change)
top[4].text_input("Target id", key=KEY["target"], on_change=_on_change,
                  placeholder="exact id, e.g. a delivery id")
if state["window"] == CUSTOM:
    custom = st.columns(2)
    custom[0].datetime_input("Since (UTC)", value=None, key=KEY["since"], on_change=_on_change,
                             format="YYYY-MM-DD")
    custom[1].datetime_input("Until (UTC, excluded)", value=None, key=KEY["until"],
                             on_change=_on_change, format="YYYY-MM-DD")

flt = to_filter(state, as_of)
page = state["page"]
events, total = list_events(engine(), flt, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                            scope=identity.scope)
pages = max(1, -(-total // PER_PAGE))
if page > pages and total:
    _go_to(pages)
    st.rerun()

st.text(flt.describe())
first = (page - 1) * PER_PAGE + 1 if events else 0
st.caption(f"Showing {first:,}–{first + len(events) - 1 if events else 0:,} of {total:,} events"
           + (f" · as of {as_of:%Y-%m-%d %H:%M} UTC" if state["window"] in WINDOWS.spans else ""))

frame = pd.DataFrame.from_records(
    [
        {
            "At (UTC)": e["at"],
            "Actor": e["actor"],
            "Kind": e["actor_kind"],
            "Action": e["action"],
            "Target type": e.get("target_type") or "",
            "Target id": e.get("target_id") or "",
            "Summary": redact_text(e.get("summary")) or "",
            "Details": redact_text(json.dumps(e["details"], ensure_ascii=False, default=str))
            if e.get("details") is not None else "",
            "Event": e["id"],
        }
        for e in events
    ],
    columns=["At (UTC)", "Actor", "Kind", "Action", "Target type", "Target id", "Summary",
             "Details", "Event"],
)
table_key = "audit_table_" + hashlib.sha1(
    json.dumps([canonical, to_rfc3339(as_of)], sort_keys=True).encode()
).hexdigest()[:12]
selection = st.dataframe(
    frame,
    key=table_key,
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    height=min(38 + 35 * max(len(frame), 1), 560),
    column_config={
        "At (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss",
                                                    timezone="UTC"),
        "Summary": st.column_config.TextColumn(width="large"),
        "Details": st.column_config.TextColumn(width="large"),
        "Event": st.column_config.NumberColumn(width="small", format="%d"),
    },
)

nav = st.columns([1, 1, 4, 1], vertical_alignment="center")
nav[0].button("◀ Newer", on_click=_go_to, args=(page - 1,), disabled=page <= 1,
              key="audit_prev", width="stretch")
nav[1].button("Older ▶", on_click=_go_to, args=(page + 1,), disabled=page >= pages,
              key="audit_next", width="stretch")
nav[2].caption(f"Page {page:,} of {pages:,}")

rows = list(selection.selection.rows) if selection is not None else []
if rows and 0 <= rows[0] < len(events):
    event = events[rows[0]]  # positions index the frame rendered in this run
    with st.container(border=True):
        st.subheader("Event details")
        st.text(
            f"#{event['id']} · {to_rfc3339(event['at'])} · {event['actor']} "
            f"({event['actor_kind']}) · {event['action']}\n"
            f"target: {event.get('target_type') or '-'} {event.get('target_id') or ''}"
        )
        if event.get("summary"):
            st.text(redact_text(event["summary"]))
        st.code(redact_text(json.dumps(event.get("details"), indent=2, ensure_ascii=False,
                                       default=str)),
                language="json", wrap_lines=True)
