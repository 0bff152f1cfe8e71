"""Insights: system health, top failing endpoints and tenants, operator activity,
recommendations and adoption, for the last 24 hours, 7 days or 30 days."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from intel.cache import get_cache
from intel.insights.adoption import record_insights_view
from intel.insights.api import load_insights
from intel.insights.periods import DEFAULT_PERIOD, PERIODS
from intel.timeutil import parse_timestamp
from ui import urlstate as U
from ui.insights import (
    accuracy_gauge,
    activity_heatmap_chart,
    duration,
    link_column,
    percent,
    replay_trend_chart,
)
from ui.safe import redact_columns
from ui.session import engine, now, require_identity, settings

URL = U.UrlSpec.of(
    U.Param("period", parse=U.choice(PERIODS), default=DEFAULT_PERIOD, keep=True),
)

identity = require_identity()
st.title("📊 Insights")

# --- period (in the URL, so a view can be shared) --------------------------------------
linked, problems = U.read(URL, canonical=False)
if problems:
    st.warning(f"The link's period is not one of {', '.join(PERIODS)}; showing the "
               f"{PERIODS[DEFAULT_PERIOD].label}.")
if "insights_period" not in st.session_state:
    st.session_state["insights_period"] = linked["period"]
top = st.columns([3, 1])
period = top[0].segmented_control(
    "Period", list(PERIODS), key="insights_period", required=True,
    format_func=lambda p: PERIODS[p].label.capitalize(),
) or DEFAULT_PERIOD
U.write(URL, {"period": period})
cache = get_cache()
if top[1].button("↻ Recompute", help="Drop the cached figures and compute them again"):
    cache.invalidate()

at = now()
config = settings().insights

# --- adoption signal: "opened Insights", once per session per day ------------------------
seen = (identity.name, at.date().isoformat())
if st.session_state.get("insights_view_recorded") != seen:
    with engine().begin() as conn:
        record_insights_view(conn, operator=identity.name, now=at, period=period)
    st.session_state["insights_view_recorded"] = seen

try:
    data = load_insights(engine(), now=at, period=period, settings=config, cache=cache,
                         scope=identity.scope)
except Exception as exc:  # unreachable database and the like: say so, keep the app up
    st.error("Insights could not be computed.", icon="🛑")
    st.code(f"{type(exc).__name__}: {exc}", language=None)
    st.stop()

health = data["system_health"]
as_of = parse_timestamp(health["as_of"])
st.caption(
    f"{PERIODS[period].label.capitalize()} · computed {as_of:%Y-%m-%d %H:%M:%S} UTC · "
    f"cached up to {config.cache_ttl_s // 60} min ({cache.backend})"
)

# --- 1. system health --------------------------------------------------------------------
st.subheader("System health")
totals, incidents = health["deliveries"], health["incidents"]
cols = st.columns(6)
cols[0].metric("Deliveries", f"{totals['deliveries']:,}")
cols[1].metric("Success ratio", percent(totals["success_ratio"]),
               help="Delivered / (delivered + failed); pending deliveries have no outcome yet.")
cols[2].metric("Failure ratio", percent(totals["failure_ratio"]))
cols[3].metric("Incidents", incidents["incidents"],
               help=f"{incidents['active']} still active, {incidents['critical']} critical")
cols[4].metric("Mean time to acknowledge", duration(incidents["mean_time_to_acknowledge_s"]))
cols[5].metric("Mean time to resolve", duration(incidents["mean_time_to_resolve_s"]))

left, right = st.columns([3, 2])  # room for the accuracy table's four columns
with left:
    replays = health["replays"]
    st.markdown(f"**Replay success rate** — {replays['replays']:,} replays, "
                f"{percent(replays['success_rate'])} succeeded")
    if replays["points"]:
        st.altair_chart(replay_trend_chart(replays["points"]), width="stretch")
    else:
        st.info("No replays in this period.")
with right:
    acc = health["triage_accuracy"]
    st.markdown(f"**Triage accuracy, strict** — {acc['labelled']:,} labelled deliveries")
    st.altair_chart(accuracy_gauge(acc["accuracy"], acc["target"]))
    if acc["labelled"]:
        st.caption(
            f"Strict: the rules' category is the label (the {acc['target']:.0%} gate's "
            f"measure). Accepted, counting a label's listed alternatives: "
            f"{percent(acc.get('accepted_accuracy'))}. As on the Accuracy page."
            + (f" {acc['sample_note']}" if acc.get("sample_note") else "")
        )
    if acc["by_label"]:
        st.dataframe(
            pd.DataFrame(acc["by_label"]), hide_index=True,
            column_order=["label", "labelled", "accuracy", "accepted_accuracy"],
            column_config={
                "label": st.column_config.TextColumn("Label"),
                "labelled": st.column_config.NumberColumn("n"),
                "accuracy": st.column_config.NumberColumn(
                    "Strict", format="percent",
                    help="Predicted as labelled (the category's recall)"),
                "accepted_accuracy": st.column_config.NumberColumn("Accepted",
                                                                   format="percent"),
            },
        )

# --- 2. top failing endpoints ------------------------------------------------------------
st.subheader("Top failing endpoints")
rows = data["endpoints"]["endpoints"]
if rows:
    frame = redact_columns(pd.DataFrame(rows), urls=("endpoint",))
    frame["success_rate"] = frame["success_rate"] * 100
    st.dataframe(
        frame[["endpoint", "failures", "success_rate", "trend", "previous_failures",
               "deliveries", "link"]],
        hide_index=True,
        column_config={
            "endpoint": st.column_config.TextColumn("Endpoint"),
            "failures": st.column_config.NumberColumn("Failures"),
            "success_rate": st.column_config.NumberColumn("Success rate", format="%.1f %%"),
            "trend": st.column_config.TextColumn(
                "Trend", help="Failures vs the previous period: ↑ / ↓ beyond "
                f"{config.trend_threshold:.0%} change, → otherwise"),
            "previous_failures": st.column_config.NumberColumn("Previous period"),
            "deliveries": st.column_config.NumberColumn("Deliveries"),
            "link": link_column(),
        },
    )
else:
    st.success("No failed deliveries in this period.")

# --- 3. top tenants ------------------------------------------------------------------------
st.subheader("Top tenants by failures")
rows = data["tenants"]["tenants"]
if rows:
    frame = pd.DataFrame(rows)
    st.dataframe(
        frame[["tenant", "failures", "top_category", "top_category_failures", "trend",
               "previous_failures", "link"]],
        hide_index=True,
        column_config={
            "tenant": st.column_config.TextColumn("Tenant"),
            "failures": st.column_config.NumberColumn("Failures"),
            "top_category": st.column_config.TextColumn("Most common category"),
            "top_category_failures": st.column_config.NumberColumn("of which"),
            "trend": st.column_config.TextColumn("Trend"),
            "previous_failures": st.column_config.NumberColumn("Previous period"),
            "link": link_column(),
        },
    )
else:
    st.success("No tenant had failures in this period.")

# --- 4. operator activity ------------------------------------------------------------------
st.subheader("Operator activity")
ops = data["operators"]
left, right = st.columns([1, 1])
with left:
    if ops["operators"]:
        frame = pd.DataFrame(ops["operators"])
        frame["replay_success_rate"] = frame["replay_success_rate"] * 100
        st.dataframe(
            frame[["operator", "actions", "replays", "replay_success_rate", "last_action_at"]],
            hide_index=True,
            column_config={
                "operator": st.column_config.TextColumn("Operator"),
                "actions": st.column_config.NumberColumn("Actions"),
                "replays": st.column_config.NumberColumn("Replays"),
                "replay_success_rate": st.column_config.NumberColumn(
                    "Replay success", format="%.1f %%"),
                "last_action_at": st.column_config.TextColumn("Last action (UTC)"),
            },
        )
    else:
        st.info("No operator actions in this period.")
with right:
    st.altair_chart(activity_heatmap_chart(ops["heatmap"]), width="stretch")

# --- 5. recommendations ----------------------------------------------------------------------
st.subheader("Recommendations")
recs = data["recommendations"]["recommendations"]
if recs:
    frame = redact_columns(pd.DataFrame(recs), texts=("text", "evidence"))
    frame.insert(0, "rank", range(1, len(frame) + 1))
    st.dataframe(
        frame[["rank", "text", "evidence", "impact", "link"]],
        hide_index=True,
        column_config={
            "rank": st.column_config.NumberColumn("#", width="small"),
            "text": st.column_config.TextColumn("Recommendation", width="large"),
            "evidence": st.column_config.TextColumn("Evidence", width="large"),
            "impact": st.column_config.NumberColumn("Deliveries"),
            "link": st.column_config.LinkColumn("Deliveries behind it",
                                                display_text="Open history ↗"),
        },
    )
else:
    st.success("Nothing stands out in this period.")

# --- 6. adoption -------------------------------------------------------------------------------
st.subheader("Adoption")
adopt = data["adoption"]["adoption"]
advisor, banner = adopt["advisor_share"], adopt["banner_ack_share"]
daily, ack = adopt["insights_daily"], adopt["time_to_ack"]
cols = st.columns(4)
cols[0].metric("Bulk replays from the advisor", percent(advisor["share"]),
               help=f"{advisor['from_advisor']} of {advisor['bulk_jobs']} bulk replay jobs; "
               f"target > {advisor['target']:.0%}")
cols[1].metric("Incidents acknowledged from the banner", percent(banner["share"]),
               help=f"{banner['from_banner']} of {banner['acks']} acknowledgements; "
               f"target > {banner['target']:.0%}")
cols[2].metric("Operators opening Insights daily", percent(daily["mean_share"]),
               help=f"Mean over the days of the period of viewers / active operators; "
               f"target > {daily['target']:.0%}")
cols[3].metric("Time from incident to acknowledgement", duration(ack["mean_s"]),
               help=f"Mean over {ack['acknowledged']} acknowledged incidents; "
               f"{percent(ack['within_target_share'])} within the {ack['target_s']:.0f} s target")
if daily["days"]:
    with st.expander("Insights viewers per day"):
        st.dataframe(pd.DataFrame(daily["days"]), hide_index=True)
