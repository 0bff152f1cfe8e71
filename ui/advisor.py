"""The Smart Replay Advisor panel (above the delivery table, and on the Advisor page).

``render_advisor_panel(tenant, since, identity=...)`` shows "N deliveries recommended for
replay (P % of failures)" within the identity's tenants, the confidence, "Replay all
recommended" (for a role that may replay) behind a confirmation dialog (count, endpoints,
operator), what is in unfinished replay jobs ("in progress", never offered again while a
job holds it), the deliveries whose replay outcome is unknown ("outcome unknown — check
with the receiver", with the operator's one-click deliberate resend of one, same
``webhook-id``), the live progress of the launched job, and "Why these deliveries?"
with the breakdowns as Altair charts. It only draws what
``intel.advisor.get_replay_recommendations`` computed; endpoint URLs are redacted.

Fresh without a manual refresh: the advice is cached by the replay activity token
(``intel.replay.jobs.activity_token``: jobs created, started, finished, cancelled; items
of unfinished jobs ending; outcomes becoming unknown) besides the minute, and the head of
the panel (count, button, in-progress and unknown lists, the job's progress) is a
fragment that re-runs every ``LIVE_EVERY_S`` while a job is unfinished (every
``IDLE_EVERY_S`` otherwise, to notice jobs started elsewhere: another tab, the API, the
CLI). When the jobs change (not on mere progress) it re-runs the whole page, so the
"why", the history table and the counts agree.
"""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from intel.advisor import get_replay_recommendations
from intel.auth import Identity, TenantScope
from intel.deliveries.links import history_link
from intel.redact import redact_text, redact_url
from intel.replay import jobs as J
from intel.replay.engine import replay_single
from intel.settings import database_url
from intel.timeutil import to_rfc3339
from ui.replay import (
    JOB_KEY,
    UNKNOWN_TEXT,
    _progress_body,
    render_pending_confirmation,
    request_recommended_replay,
)
from ui.safe import md, redact_columns
from ui.session import allowed, engine, now, settings

LIVE_EVERY_S = 2.0  # while a replay job is unfinished (the advice follows its progress)
IDLE_EVERY_S = 10.0  # otherwise: notice a job started elsewhere

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
    "in_progress": "In progress (in a job)",
    "outcome_unknown": "Outcome unknown — check with the receiver",
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
            scope_key: str, activity: J.ReplayActivity, _scope: TenantScope,
            _now: datetime) -> dict:
    # cache keys: the database, the minute the advice is for, the tenant scope and the
    # replay activity (a job created, started or finished; an outcome become unknown)
    del url, minute, scope_key, activity
    return get_replay_recommendations(
        engine(), tenant, since_text, now=_now, settings=settings().replay, scope=_scope,
    )


def since_text_of(since: datetime | str | None) -> str | None:
    return to_rfc3339(since) if isinstance(since, datetime) else since


def load_advice(tenant: str | None, since: datetime | str | None, scope: TenantScope,
                activity: J.ReplayActivity | None = None) -> dict:
    """The advice, cached until the minute or the replay activity changes."""
    at = now()
    activity = activity or J.activity_token(engine())
    return _advice(database_url(), tenant or None, since_text_of(since),
                   at.strftime("%Y%m%d%H%M"), scope.cache_key(), activity, scope, at)


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
                "why": e.get("health_note"),
                "last_success_at": e["last_success_at"],
                "incident": e["incident"],
                "history": history_link(endpoint=e["endpoint"], status="failed",
                                        since=advice["since"]),
            }
            for e in advice["affected_endpoints"]
        ],
        columns=["endpoint", "tenant", "recommended", "waiting", "failures", "health", "why",
                 "last_success_at", "incident", "history"],
    )


def unknown_frame(advice: dict) -> pd.DataFrame:
    """The deliveries whose replay outcome is unknown, with a link to each (whose detail
    offers the deliberate resend)."""
    return pd.DataFrame(
        [
            {
                "id": u["id"],
                "tenant": u["tenant"],
                "endpoint": redact_url(u["endpoint"]),
                "job": u["job_id"],
                "failed_at": u["failed_at"],
                "open": history_link(id=u["id"], since=advice["since"]),
            }
            for u in advice.get("outcome_unknown") or []
        ],
        columns=["id", "tenant", "endpoint", "job", "failed_at", "open"],
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


def _render_head(advice: dict, identity: Identity, key: str, tenant: str | None,
                 since_text: str | None) -> None:
    n, analyzed = advice["total_recommended"], advice["total_analyzed"]
    share = f" ({advice['share_of_failures'] * 100:.0f} % of failures)" if analyzed else ""
    head, badge, action = st.columns([5, 2, 2], vertical_alignment="center")
    head.markdown(f"**{n} deliveries** recommended for replay{share}")
    badge.markdown(CONFIDENCE_BADGE[advice["confidence"]], help=CONFIDENCE_HELP)
    if identity.can("replay") and action.button(
        "Replay all recommended", key=f"{key}_replay_all", type="primary", disabled=n == 0,
        help="Replays what the advisor recommends when you confirm: never what is already "
        "in an unfinished job, nor an unknown outcome",
    ):
        request_recommended_replay(tenant, since_text)
        st.rerun()  # the dialog is drawn by the whole page, outside this fragment
    if st.session_state.pop(f"{JOB_KEY}_nothing", False):
        st.info("When you confirmed, the advisor recommended nothing any more: no job was "
                "started.", icon="🧠")
    st.text(advice["reasoning"])
    in_progress = advice.get("in_progress") or {}
    if in_progress.get("total"):
        jobs = ", ".join(f"{md(j['job_id'])} ({int(j['count'])})"
                         for j in in_progress["jobs"][:5])
        more = len(in_progress["jobs"]) - 5
        st.caption(f"⏳ {int(in_progress['total'])} in progress in unfinished replay job(s) "
                   f"{jobs}{f' and {more} more' if more > 0 else ''}: not offered again while "
                   "a job holds them.")
    if advice.get("outcome_unknown_total"):
        _render_unknown(advice, identity, key)
    _render_resend_result(key)


def _render_unknown(advice: dict, identity: Identity, key: str) -> None:
    """"Outcome unknown — check with the receiver": the list, and for a role that may
    replay the one-click deliberate resend of the selected one (same ``webhook-id``;
    audited as ``replay.unknown.resend``)."""
    may_resend = identity.can("replay")
    st.warning(f"{int(advice['outcome_unknown_total'])} {UNKNOWN_TEXT.lower()}: their "
               "replay may have reached the receiver, so they are never resent "
               "automatically."
               + (" If the receiver does not have one, select it and resend it "
                  "deliberately (same webhook-id: a receiver that de-duplicates keeps one "
                  "copy)." if may_resend else ""),
               icon="❓")
    frame = unknown_frame(advice)
    shown = dict(hide_index=True, width="stretch",
                 column_config={"open": st.column_config.LinkColumn(
                     "Delivery", display_text="Open ↗")},
                 height=min(36 * (len(frame) + 1), 220))
    if not may_resend:
        st.dataframe(frame, **shown)
        return
    event = st.dataframe(frame, key=f"{key}_unknown", on_select="rerun",
                         selection_mode="single-row", **shown)
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or [])
    chosen = str(frame.iloc[rows[0]]["id"]) if rows and rows[0] < len(frame) else None
    result_key = _resend_key(key)
    if st.button("↻ Resend selected (same webhook-id)", key=f"{key}_resend",
                 disabled=chosen is None,
                 help="A deliberate resend of a delivery the receiver may already have; "
                 "audited") and chosen and allowed(identity, "replay"):
        with st.spinner("Resending…"):
            out = replay_single(engine(), chosen, operator=identity.name,
                                settings=settings().replay, now=now(), scope=identity.scope,
                                resend_unknown=True)
        st.session_state[result_key] = {"id": chosen, "outcome": out.outcome,
                                        "http_status": out.http_status, "reason": out.reason}
        st.rerun()  # the list and the counts, without it


def _resend_key(key: str) -> str:
    return f"{key}_resend_result"


def _render_resend_result(key: str) -> None:
    """The outcome of this session's last deliberate resend from the panel."""
    result = st.session_state.get(_resend_key(key))
    if result:
        text = (f"Resend of {md(result['id'])}: {md(result['outcome'])}"
                + (f" (HTTP {int(result['http_status'])})" if result["http_status"] else ""))
        if result["outcome"] == "succeeded":
            st.success(text, icon="✅")
        elif result["outcome"] in ("unknown", "interrupted"):
            st.warning(f"{text}: {UNKNOWN_TEXT}", icon="❓")
        else:
            st.error(text, icon="❌")
        if result["reason"]:
            st.code(redact_text(result["reason"]), language=None, wrap_lines=True)


def _tokens_key(key: str) -> str:
    return f"{key}_replay_jobs_seen"


def advisor_live(tenant: str | None, since_text: str | None, identity: Identity,
                 key: str, expanded_why: bool = False) -> dict:
    """The live part of the panel (a fragment: re-runs on its own, see the module
    docstring): the head from the advice for the current replay activity, and the
    progress of the job this session launched. When the jobs changed since the page was
    drawn (one started, finished or was cancelled, anywhere), it re-runs the whole page.
    "Why these deliveries?" is drawn here too: the advice also moves with the minute and
    with new traffic, and its charts must never disagree with the count above them."""
    activity = J.activity_token(engine())
    seen = st.session_state.get(_tokens_key(key))
    if seen is not None and seen != activity.jobs:
        st.session_state[_tokens_key(key)] = activity.jobs
        st.rerun()
    st.session_state[_tokens_key(key)] = activity.jobs
    advice = load_advice(tenant, since_text, identity.scope, activity)
    _render_head(advice, identity, key, tenant, since_text)
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        _progress_body(job_id)
    with st.expander("Why these deliveries?", expanded=expanded_why):
        render_why(advice)
    return advice


def render_advisor_panel(tenant: str | None = None, since: datetime | str | None = None,
                         *, identity: Identity, key: str = "advisor",
                         expanded_why: bool = False) -> dict | None:
    """The advisor panel for ``tenant`` (None: every tenant the identity may see) and
    failures since ``since``."""
    since_text = since_text_of(since)
    try:
        activity = J.activity_token(engine())
        advice = load_advice(tenant, since_text, identity.scope, activity)
    except ValueError as exc:
        st.error("The advisor cannot read this time window.", icon="🛑")
        st.code(str(exc), language=None)
        return None
    except Exception as exc:  # unreachable database and the like: say so, keep the app up
        st.error("The replay advisor could not run.", icon="🛑")
        st.code(f"{type(exc).__name__}: {exc}", language=None)
        return None
    live = bool(J.live_jobs(engine(), scope=identity.scope, limit=1))
    st.session_state[_tokens_key(key)] = activity.jobs
    with st.container(border=True):
        st.markdown("#### 🧠 Smart Replay Advisor")
        st.fragment(advisor_live, run_every=LIVE_EVERY_S if live else IDLE_EVERY_S)(
            tenant, since_text, identity, key, expanded_why)
        render_pending_confirmation()
    return advice

