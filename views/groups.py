"""Failure groups: the window's failures folded into a handful of problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from intel.auth import TenantScope
from intel.groups import failure_groups, group_link, tenants_with_failures
from intel.redact import redact_text, redact_url
from intel.settings import database_url
from intel.timeutil import parse_timestamp, to_rfc3339
from ui.labels import CATEGORY_ICON, CATEGORY_STYLE
from ui.safe import md
from ui.session import engine, now, require_identity, settings

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
MAX_ROWS = 300

identity = require_identity()
scope = identity.scope
st.title("🧩 Failure groups")
st.caption(
    "Failures folded by endpoint, triage category and normalised error signature "
    "(numbers, ids, hosts stripped): each group is one problem with one action."
)

params = st.query_params
window_keys = [*WINDOWS, "custom"]
initial_window = params.get("window", "24h")
if initial_window not in window_keys:
    initial_window = "24h"

edge = now().replace(second=0, microsecond=0) + timedelta(minutes=1)  # cacheable edge
FOLDS = {"signature": "error signature", "rule": "triage rule (coarser)"}
initial_fold = params.get("fold", "signature")
if initial_fold not in FOLDS:
    initial_fold = "signature"
cols = st.columns([1, 2, 2, 2])
window = cols[0].selectbox("Window", window_keys, index=window_keys.index(initial_window),
                           key="groups_window")
if window == "custom":
    try:
        default_since = parse_timestamp(params["since"]) if "since" in params else None
        default_until = parse_timestamp(params["until"]) if "until" in params else None
    except ValueError:
        st.warning("The since/until in the link are not RFC 3339 times; showing the last day.")
        default_since = default_until = None
    default_until = default_until or edge
    default_since = default_since or default_until - timedelta(days=1)
    default_days = (default_since.date(), (default_until - timedelta(microseconds=1)).date())
    picked = cols[1].date_input("From / to (UTC, whole days)", value=default_days,
                                key="groups_dates")
    if isinstance(picked, tuple | list) and len(picked) == 2 and tuple(picked) != default_days:
        since = datetime.combine(picked[0], datetime.min.time(), tzinfo=UTC)
        until = datetime.combine(picked[1], datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    else:  # untouched: the exact times of the link
        since, until = default_since, default_until
else:
    until = edge
    since = edge - WINDOWS[window]


@st.cache_data(ttl=60, show_spinner=False)
def _tenants(url: str, since: datetime, until: datetime, scope_key: str,
             _scope: TenantScope) -> list[str]:
    with engine().connect() as conn:
        return tenants_with_failures(conn, since=since, until=until, scope=_scope)


@st.cache_data(ttl=60, show_spinner="Folding failures…")
def _groups(url: str, since: datetime, until: datetime, tenant: str | None, prefix: int,
            fold: str, scope_key: str, _scope: TenantScope):
    with engine().connect() as conn:
        result = failure_groups(conn, since=since, until=until, tenant=tenant,
                                body_prefix=prefix, by=fold, scope=_scope)
    return result


url = database_url()
tenant_options = ["(all tenants)", *_tenants(url, since, until, scope.cache_key(), scope)]
wanted_tenant = params.get("tenant")
tenant_index = tenant_options.index(wanted_tenant) if wanted_tenant in tenant_options else 0
tenant_choice = cols[2].selectbox("Tenant", tenant_options, index=tenant_index,
                                  key="groups_tenant")
tenant = None if tenant_choice == "(all tenants)" else tenant_choice
fold = cols[3].selectbox("Fold by", list(FOLDS), index=list(FOLDS).index(initial_fold),
                         format_func=FOLDS.get, key="groups_fold",
                         help="Error signature: numbers, ids and hosts stripped, wording kept. "
                              "Triage rule: every failure the same rule explains, whatever "
                              "the wording (e.g. all '422 field required' messages).")

# The view lives in the URL so a link reproduces it.
new_params = {"window": window}
if fold != "signature":
    new_params["fold"] = fold
if tenant:
    new_params["tenant"] = tenant
if window == "custom":
    new_params["since"] = to_rfc3339(since)
    new_params["until"] = to_rfc3339(until)
if dict(params) != new_params:
    params.from_dict(new_params)

result = _groups(url, since, until, tenant, settings().triage.groups_body_prefix, fold,
                 scope.cache_key(), scope)
groups = result.groups

m = st.columns(3)
m[0].metric("Failures", f"{result.total_failures:,}")
m[1].metric("Groups", f"{len(groups):,}")
m[2].metric("Distinct raw forms", f"{result.distinct_rows:,}",
            help="Distinct (endpoint, status, error, body start, rate-limit headers) "
                 "combinations the database returned before folding.")
st.caption(f"{to_rfc3339(since)} → {to_rfc3339(until)} (UTC)"
           + (f" · tenant {md(tenant)}" if tenant else ""))

if not groups:
    st.info("No failures in this window.", icon="✅")
    st.stop()

shown = groups[:MAX_ROWS]
if len(groups) > MAX_ROWS:
    st.caption(f"Showing the {MAX_ROWS} biggest of {len(groups)} groups.")
rows = [
    {
        "failures": g.count,
        "category": f"{CATEGORY_ICON.get(g.category, '')} {g.category}",
        "endpoint": redact_url(g.endpoint),
        "tenant": g.tenant,
        "example": redact_text(g.example_text[:300]),
        "first seen": to_rfc3339(g.first_seen),
        "last seen": to_rfc3339(g.last_seen),
        "action": g.recommended_action,
        "history": group_link(g, tenant=tenant),
    }
    for g in shown
]
event = st.dataframe(
    rows,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="groups_table",
    column_config={
        "failures": st.column_config.NumberColumn("Failures", width="small"),
        "history": st.column_config.LinkColumn("History", display_text="open ↗",
                                               width="small"),
        "example": st.column_config.TextColumn("Example", width="large"),
        "action": st.column_config.TextColumn("Recommended action", width="large"),
    },
)

picked = event.selection.rows if event else []
if picked and picked[0] < len(shown):
    group = shown[picked[0]]  # positional: mapped back in the same run
    st.subheader(f"{group.count:,} failures")
    meaning = CATEGORY_STYLE.get(group.category, ("", ""))[1]
    st.text(
        f"Category: {group.category} ({meaning}) · score {group.score} · "
        f"{group.variants} raw form(s) folded\n"
        f"Endpoint: {redact_url(group.endpoint)}\nTenant: {group.tenant}\n"
        f"First seen {to_rfc3339(group.first_seen)} · last seen {to_rfc3339(group.last_seen)}"
    )
    st.caption("Recommended action")
    st.text(group.recommended_action)
    st.caption("Reason (for the example)")
    st.text(group.reason)
    st.caption(f"Example: delivery {md(group.example_id)}")
    st.code(redact_text(group.example_text), language=None, wrap_lines=True)
    st.caption("Normalised signature")
    st.code(redact_text(group.signature), language=None, wrap_lines=True)
    st.link_button("Open these failures in the delivery history", group_link(group,
                   tenant=tenant))
