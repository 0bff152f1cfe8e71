"""The Smart Replay Advisor panel (above the delivery table, and on the Advisor page).

``render_advisor_panel(tenant, since, identity=...)`` shows "N deliveries recommended for
replay (P % of failures)" within the identity's tenants, the confidence, "Replay all
recommended" (for a role that may replay) behind a confirmation dialog (count, endpoints,
operator), the live progress and result of the launched job, and "Why these deliveries?"
with the breakdowns as Altair charts. It only draws what
``intel.advisor.get_replay_recommendations`` computed; endpoint URLs are redacted.
"""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from intel.advisor import get_replay_recommendations
from intel.auth import Identity, TenantScope
from intel.deliveries.links import history_link
from intel.redact import redact_url
from intel.settings import database_url
from intel.timeutil import to_rfc3339
from ui.replay import render_live_job, render_pending_confirmation, request_bulk_replay
from ui.safe import redact_columns
from ui.session import engine, now, settings

CONFIDENCE_BADGE = {
    "high": ":green-badge[High confidence]",
    "medium": ":orange-badge[Medium confidence]",
    "low": ":gray-badge[Low confidence]",
}
DECISION_LABELS = {
    "replay": "Replay now",
    "wait": "Wait (endpoint down)",
    "retry_later": "Retry later (rate-limited)",
    "investigate": "Investigate (permanent)",
    "review": "Review (unknown, unstable)",
    "already_replayed": "Already replayed",
    "in_progress": "Being replayed",
    "interrupted": "Interrupted replay",
    "cannot_replay": "Cannot replay",
}
AGE_CHART_HEIGHT = 260
CONFIDENCE_HELP = (
    "High: every recommended delivery scored 90+ by triage and at least 95 % go to "
    "endpoints with no failure since their latest success. Medium: mean score 85+ and at "
    "least 75 % to such endpoints. Low: anything else."
)


@st.cache_data(ttl=30, show_spinner=False)
def _advice(url: str, tenant: str | None, since_text: str | None, minute: str,
            scope_key: str, _scope: TenantScope, _now: datetime) -> dict:
    # cache keys: the database, the minute the advice is for, and the tenant scope
    del url, minute, scope_key
    return get_replay_recommendations(
        engine(), tenant, since_text, now=_now, settings=settings().replay, scope=_scope,
    )


def load_advice(tenant: str | None, since: datetime | str | None,
                scope: TenantScope) -> dict:
    since_text = to_rfc3339(since) if isinstance(since, datetime) else since
    at = now()
    return _advice(database_url(), tenant or None, since_text, at.strftime("%Y%m%d%H%M"),
                   scope.cache_key(), scope, at)


def decisions_chart(advice: dict) -> alt.Chart:
    counts = advice["breakdown"]["by_decision"]
    frame = pd.DataFrame(
        [{"decision": DECISION_LABELS.get(k, k), "deliveries": v} for k, v in counts.items()],
        columns=["decision", "deliveries"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("decision:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220)),
            x=alt.X("deliveries:Q", title="Failed deliveries"),
            color=alt.condition(alt.datum.decision == "Replay now", alt.value("#2e7d32"),
                                alt.value("#9e9e9e")),
            tooltip=["decision:N", "deliveries:Q"],
        )
        # A band step (not a fixed height): a fixed height collapses in a stretched column.
        .properties(height=alt.Step(24), title="What to do with each failure")
    )


def categories_chart(advice: dict) -> alt.Chart:
    colors = {"transient-endpoint-down": "#2e7d32", "permanent-4xx": "#c62828",
              "rate-limited": "#f9a825", "unknown": "#9e9e9e"}
    frame = pd.DataFrame(
        [{"category": k, "deliveries": v} for k, v in advice["breakdown"]["by_category"].items()],
        columns=["category", "deliveries"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220)),
            x=alt.X("deliveries:Q", title="Failed deliveries"),
            color=alt.Color("category:N", legend=None,
                            scale=alt.Scale(domain=list(colors), range=list(colors.values()))),
            tooltip=["category:N", "deliveries:Q"],
        )
        .properties(height=alt.Step(24), title="Triage category")
    )


def age_chart(advice: dict) -> alt.Chart:
    rows = []
    for b in advice["age_distribution"]:
        rows.append({"age": b["bucket"], "set": "recommended", "deliveries": b["recommended"]})
        rows.append({"age": b["bucket"], "set": "other failures",
                     "deliveries": b["analyzed"] - b["recommended"]})
    frame = pd.DataFrame(rows, columns=["age", "set", "deliveries"])
    order = [b["bucket"] for b in advice["age_distribution"]]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("age:N", sort=order, title="Age (since created)",
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("deliveries:Q", title="Deliveries", stack=True),
            color=alt.Color("set:N", title=None,
                            scale=alt.Scale(domain=["recommended", "other failures"],
                                            range=["#2e7d32", "#bdbdbd"])),
            tooltip=["age:N", "set:N", "deliveries:Q"],
        )
        .properties(height=AGE_CHART_HEIGHT, title="Age distribution")
    )


def endpoints_frame(advice: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "endpoint": redact_url(e["endpoint"]),
                "tenant": e["tenant"],
                "recommended": e["recommended"],
                "waiting": e["waiting"],
                "failures": e["failures"],
                "health": e["health"],
                "last_success_at": e["last_success_at"],
                "incident": e["incident"],
                "history": history_link(endpoint=e["endpoint"], status="failed",
                                        since=advice["since"]),
            }
            for e in advice["affected_endpoints"]
        ],
        columns=["endpoint", "tenant", "recommended", "waiting", "failures", "health",
                 "last_success_at", "incident", "history"],
    )


def render_why(advice: dict) -> None:
    """"Why these deliveries?": breakdowns as charts, endpoints and held-back deliveries."""
    left, right = st.columns(2)
    left.altair_chart(decisions_chart(advice), width="stretch")
    right.altair_chart(categories_chart(advice), width="stretch")
    st.altair_chart(age_chart(advice), width="stretch", height=AGE_CHART_HEIGHT)
    st.markdown("**Affected endpoints**")
    st.dataframe(
        endpoints_frame(advice), hide_index=True, width="stretch",
        column_config={"history": st.column_config.LinkColumn("History",
                                                              display_text="Open ↗")},
    )
    if advice["held_back"]:
        st.markdown(f"**Not recommended** ({advice['held_back_total']}"
                    + (f", first {len(advice['held_back'])} shown" if
                       advice["held_back_total"] > len(advice["held_back"]) else "") + ")")
        held = pd.DataFrame(advice["held_back"],
                            columns=["id", "tenant", "endpoint", "category", "score", "decision",
                                     "reason", "not_before", "failed_at"])
        st.dataframe(redact_columns(held, urls=("endpoint",)), hide_index=True,
                     width="stretch")


def render_advisor_panel(tenant: str | None = None, since: datetime | str | None = None,
                         *, identity: Identity, key: str = "advisor",
                         expanded_why: bool = False) -> dict | None:
    """The advisor panel for ``tenant`` (None: every tenant the identity may see) and
    failures since ``since``."""
    try:
        advice = load_advice(tenant, since, identity.scope)
    except ValueError as exc:
        st.error("The advisor cannot read this time window.", icon="🛑")
        st.code(str(exc), language=None)
        return None
    except Exception as exc:  # unreachable database and the like: say so, keep the app up
        st.error("The replay advisor could not run.", icon="🛑")
        st.code(f"{type(exc).__name__}: {exc}", language=None)
        return None
    with st.container(border=True):
        st.markdown("#### 🧠 Smart Replay Advisor")
        n, analyzed = advice["total_recommended"], advice["total_analyzed"]
        share = f" ({advice['share_of_failures'] * 100:.0f} % of failures)" if analyzed else ""
        head, badge, action = st.columns([5, 2, 2], vertical_alignment="center")
        head.markdown(f"**{n} deliveries** recommended for replay{share}")
        badge.markdown(CONFIDENCE_BADGE[advice["confidence"]], help=CONFIDENCE_HELP)
        if identity.can("replay") and action.button(
            "Replay all recommended", key=f"{key}_replay_all", type="primary", disabled=n == 0,
        ):
            request_bulk_replay(
                advice["recommended_ids"],
                source="advisor",
                filters={"tenant": advice["tenant"], "since": advice["since"],
                         "until": advice["until"], "confidence": advice["confidence"],
                         "launched_from": "app"},
            )
        render_pending_confirmation()
        st.text(advice["reasoning"])
        render_live_job(identity)
        with st.expander("Why these deliveries?", expanded=expanded_why):
            render_why(advice)
    return advice
