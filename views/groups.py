"""Triage: the window's failures by triage category and folded into the problems an
operator acts on once, with the labelling queue one click away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from intel.auth import TenantScope
from intel.deliveries.links import history_link
from intel.groups import failure_groups, fold_figures, group_link, tenants_with_failures
from intel.groups.fold import TOP, FailureGroup
from intel.redact import redact_text, redact_url
from intel.settings import database_url
from intel.timeutil import to_rfc3339
from intel.timewindows import CUSTOM, WindowSet
from ui import urlstate as U
from ui.labels import CATEGORY_ICON, CATEGORY_STYLE
from ui.safe import md
from ui.session import engine, now, require_identity, settings

WINDOWS = WindowSet(("1h", "24h", "7d", CUSTOM), default="24h")
PER = {"endpoint": "endpoint", "tenant": "tenant"}
MAX_ROWS = 300
ALL_TENANTS = "(all tenants)"

# The view lives in the URL so a link reproduces it.
URL = U.UrlSpec.of(
    U.Param("window", parse=WINDOWS.check, default=WINDOWS.default, keep=True),
    U.Param("per", parse=U.choice(PER), default="endpoint"),
    U.Param("sporadic", parse=lambda raw: raw != "off", show=lambda on: "on" if on else "off",
            default=True),
    U.Param("tenant"),
    *U.CUSTOM_BOUNDS,
)

identity = require_identity()
scope = identity.scope
st.title("🩺 Triage")
st.caption(
    "The window's failed deliveries by triage category, and folded into problems: one kind "
    "of failure (a 410 Gone in HTML, JSON or plain text, and a 404 on the same route, are "
    "all \"endpoint gone or URL wrong\") on one endpoint, on several endpoints of one "
    "tenant, or sporadic across the platform. Each problem has one recommended action."
)


def _labels_link() -> None:
    """The labelling queue, one click away (the Labels page; a viewer reads it)."""
    label = ("Label failures: open the labelling queue" if identity.can("label")
             else "Labels: what operators labelled")
    try:
        st.page_link("views/labels.py", label=label, icon="🏷️")
    except StreamlitPageNotFoundError:  # this page run on its own, outside app.py
        st.link_button(label, "/labels", icon="🏷️")


_labels_link()

# A bad window or grouping in a link quietly falls back to the default; bad custom bounds
# are said below, once the custom window is chosen.
linked, problems = U.read(URL, canonical=False)

edge = now().replace(second=0, microsecond=0) + timedelta(minutes=1)  # cacheable edge
cols = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
window_keys = list(WINDOWS.keys)
window = cols[0].selectbox("Window", window_keys, index=window_keys.index(linked["window"]),
                           key="groups_window")
if window == CUSTOM:
    default_since, default_until = linked["since"], linked["until"]
    if any(p.startswith(("since:", "until:")) for p in problems):
        st.warning("The since/until in the link are not RFC 3339 times; showing the last day.")
        default_since = default_until = None
    default_until = default_until or edge
    default_since = default_since or default_until - timedelta(days=1)
    default_days = (default_since.date(), (default_until - timedelta(microseconds=1)).date())
    picked = st.date_input("From / to (UTC, whole days)", value=default_days,
                           key="groups_dates")
    if isinstance(picked, tuple | list) and len(picked) == 2 and tuple(picked) != default_days:
        since = datetime.combine(picked[0], datetime.min.time(), tzinfo=UTC)
        until = datetime.combine(picked[1], datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    else:  # untouched: the exact times of the link
        since, until = default_since, default_until
else:
    since, until = WINDOWS.resolve(window, edge)


@st.cache_data(ttl=60, show_spinner=False)
def _tenants(url: str, since: datetime, until: datetime, scope_key: str,
             _scope: TenantScope) -> list[str]:
    with engine().connect() as conn:
        return tenants_with_failures(conn, since=since, until=until, scope=_scope)


@st.cache_data(ttl=60, show_spinner="Folding failures…")
def _groups(url: str, since: datetime, until: datetime, tenant: str | None, prefix: int,
            per: str, sporadic: bool, scope_key: str, _scope: TenantScope):
    with engine().connect() as conn:
        return failure_groups(conn, since=since, until=until, tenant=tenant,
                              body_prefix=prefix, per=per, floor=None if sporadic else 1,
                              scope=_scope)


url = database_url()
tenant_options = [ALL_TENANTS, *_tenants(url, since, until, scope.cache_key(), scope)]
wanted_tenant = linked["tenant"]
tenant_index = tenant_options.index(wanted_tenant) if wanted_tenant in tenant_options else 0
tenant_choice = cols[1].selectbox("Tenant", tenant_options, index=tenant_index,
                                  key="groups_tenant")
tenant = None if tenant_choice == ALL_TENANTS else tenant_choice
per = cols[2].selectbox("Problems per", list(PER), index=list(PER).index(linked["per"]),
                        format_func=PER.get, key="groups_per",
                        help="Endpoint: a kind of failure on one endpoint is one problem "
                             "(several endpoints of one tenant when the tenant fixes it once, "
                             "e.g. a rotated signing secret). Tenant: one problem per kind "
                             "and tenant, whatever the endpoint.")
sporadic = cols[3].toggle("Fold sporadic", value=linked["sporadic"],
                          key="groups_sporadic",
                          help="Fold the failures too few to act on alone (under 1.5 % of the "
                               "window's failures, at least 5, on their endpoint) into one "
                               "sporadic problem per kind.")

U.write(URL, {"window": window, "per": per, "sporadic": sporadic, "tenant": tenant,
              "since": since, "until": until})

result = _groups(url, since, until, tenant, settings().triage.groups_body_prefix, per,
                 sporadic, scope.cache_key(), scope)
groups = result.groups
figures = fold_figures(groups)

m = st.columns(4)
m[0].metric("Failures", f"{result.total_failures:,}")
m[1].metric("Problems", f"{len(groups):,}",
            help="Groups: one kind of failure per endpoint (or tenant), sporadic ones "
                 "folded per kind.")
m[2].metric(f"In the {TOP} biggest", f"{figures.top_share:.1%}",
            help=f"Share of the window's failures in the {TOP} biggest problems.")
m[3].metric("Raw forms", f"{result.distinct_forms:,}",
            help="Distinct normalised failure signatures per endpoint (numbers, ids, hosts "
                 "stripped) folded into the problems; each problem lists its own.")
st.caption(
    f"{to_rfc3339(since)} → {to_rfc3339(until)} (UTC)"
    + (f" · tenant {md(tenant)}" if tenant else "")
    + (f" · sporadic: under {result.floor:,} failures of a kind on one "
       f"{'endpoint' if per == 'endpoint' else 'tenant'}" if sporadic else "")
)

if not groups:
    st.info("No failures in this window.", icon="✅")
    st.stop()

# --- by category ----------------------------------------------------------------------------
st.subheader("By category")
total = result.total_failures or 1
st.dataframe(
    [
        {
            "category": f"{CATEGORY_ICON.get(c.category, '')} {c.category}",
            "meaning": CATEGORY_STYLE.get(c.category, ("", ""))[1],
            "failures": c.failures,
            "share": c.failures / total,
            "problems": c.groups,
            "history": history_link(tenant=tenant, category=c.category, status="failed",
                                    since=since, until=until),
        }
        for c in result.by_category()
    ],
    hide_index=True,
    key="groups_categories",
    column_config={
        "category": st.column_config.TextColumn("Category"),
        "meaning": st.column_config.TextColumn("Meaning"),
        "failures": st.column_config.NumberColumn("Failures", width="small"),
        "share": st.column_config.ProgressColumn("Share", format="percent", min_value=0.0,
                                                 max_value=1.0),
        "problems": st.column_config.NumberColumn("Problems", width="small"),
        "history": st.column_config.LinkColumn("History", display_text="open ↗",
                                               width="small"),
    },
)


# --- by problem -----------------------------------------------------------------------------
def _where(group: FailureGroup) -> str:
    if group.scope == "endpoint":
        return str(redact_url(group.endpoint))
    if group.scope == "tenant":
        n = group.endpoints
        return f"tenant {group.tenant} · {n} endpoint{'s' if n != 1 else ''}"
    return f"sporadic · {group.endpoints} endpoints of {group.tenants} tenant(s)"


def _tenants_text(group: FailureGroup, limit: int = 3) -> str:
    counts: dict[str, int] = {}
    for v in group.variants:
        counts[v.tenant] = counts.get(v.tenant, 0) + v.count
    names = sorted(counts, key=lambda t: (-counts[t], t))
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" +{more}" if more > 0 else "")


st.subheader("By problem")
shown = groups[:MAX_ROWS]
if len(groups) > MAX_ROWS:
    st.caption(f"Showing the {MAX_ROWS} biggest of {len(groups)} problems.")
rows = [
    {
        "failures": g.count,
        "category": f"{CATEGORY_ICON.get(g.category, '')} {g.category}",
        "problem": g.title,
        "where": _where(g),
        "tenants": _tenants_text(g),
        "forms": g.forms,
        "last seen": to_rfc3339(g.last_seen),
        "action": g.recommended_action,
        "history": group_link(g, tenant=tenant),
    }
    for g in shown
]
event = st.dataframe(
    rows,
    hide_index=True,
    height=min(len(rows), 20) * 35 + 38,  # the 20 biggest without scrolling
    on_select="rerun",
    selection_mode="single-row",
    key="groups_table",
    column_config={
        "failures": st.column_config.NumberColumn("Failures", width="small"),
        "problem": st.column_config.TextColumn("Problem", width="large"),
        "category": st.column_config.TextColumn("Category"),
        "where": st.column_config.TextColumn("Where", width="medium"),
        "tenants": st.column_config.TextColumn("Tenants"),
        "last seen": st.column_config.TextColumn("Last seen"),
        "forms": st.column_config.NumberColumn("Raw forms", width="small"),
        "history": st.column_config.LinkColumn("History", display_text="open ↗",
                                               width="small"),
        "action": st.column_config.TextColumn("Recommended action", width="large"),
    },
)
st.caption("Select a problem to see where it happens and the raw forms folded into it.")

picked = event.selection.rows if event else []
if picked and picked[0] < len(shown):
    group = shown[picked[0]]  # positional: mapped back in the same run
    st.subheader(f"{group.count:,} failures · {group.kind_title}")
    meaning = CATEGORY_STYLE.get(group.category, ("", ""))[1]
    st.text(
        f"Category: {group.category} ({meaning}) · {group.statuses or 'no status'}\n"
        f"Where: {_where(group)}\n"
        f"Tenants: {_tenants_text(group, limit=10)}\n"
        f"First seen {to_rfc3339(group.first_seen)} · last seen {to_rfc3339(group.last_seen)}"
        f" · {group.forms} raw form(s) folded"
    )
    st.caption("Recommended action")
    st.text(group.recommended_action)
    actions: dict[str, int] = {}
    for v in group.variants:
        actions[v.action] = actions.get(v.action, 0) + v.count
    if len(actions) > 1:
        st.caption("The failures' own actions differ; the group shows the most cautious:")
        st.dataframe([{"failures": n, "action": a} for a, n in
                      sorted(actions.items(), key=lambda kv: -kv[1])],
                     hide_index=True, key="groups_actions")
    st.caption("Reason (for the example)")
    st.text(group.reason)
    if group.endpoints > 1:
        st.caption(f"Where: {group.endpoints} endpoints")
        st.dataframe(
            [{"failures": n, "endpoint": redact_url(ep), "tenant": t}
             for ep, t, n in group.by_endpoint()],
            hide_index=True, key="groups_where",
        )
    st.caption("Raw forms folded into this problem (one per endpoint and signature)")
    st.dataframe(
        [
            {
                "failures": v.count,
                "endpoint": redact_url(v.endpoint),
                "tenant": v.tenant,
                "example": redact_text(v.example_text[:300]),
                "rule": v.rule,
                "signature": redact_text(v.signature),
                "last seen": to_rfc3339(v.last_seen),
            }
            for v in group.variants[:500]
        ],
        hide_index=True,
        key="groups_variants",
        column_config={
            "example": st.column_config.TextColumn("Example", width="large"),
            "signature": st.column_config.TextColumn("Normalised signature", width="large"),
        },
    )
    if len(group.variants) > 500:
        st.caption(f"The 500 biggest of {len(group.variants):,} raw forms.")
    st.caption(f"Example: delivery {md(group.example_id)}")
    st.code(redact_text(group.example_text), language=None, wrap_lines=True)
    st.link_button("Open these failures in the delivery history", group_link(group,
                   tenant=tenant))
