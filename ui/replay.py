"""Replay in the app: single replay from the delivery detail (and the deliberate resend of
an unknown outcome), the bulk-replay confirmation dialog, live job progress, and the
recent jobs list.

Bulk jobs run in a detached runner process (``intel.replay.background``): closing the
tab does not stop them, and the progress shown here is read from the database by a
fragment that re-runs every second while the job is live. Untrusted text (endpoint
URLs, error texts, response bodies) is shown only through ``st.code``/``st.text`` or
dataframe cells.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from intel.auth import Identity
from intel.deliveries.query import get_delivery
from intel.redact import redact_text
from intel.replay import background
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.engine import replay_single
from ui.safe import md, redact_columns
from ui.session import allowed, engine, now, require_identity, settings

JOB_KEY = "replay_live_job"
PROGRESS_EVERY_S = 1.0

_OUTCOME_ICON = {
    S.SUCCEEDED: "✅", S.FAILED: "❌", S.REFUSED: "⛔", S.SKIPPED: "⏭️",
    S.CANCELLED: "🚫", S.INTERRUPTED: "❓", S.UNKNOWN: "❓",
}
UNKNOWN_TEXT = "Outcome unknown — check with the receiver"


# --- single replay ----------------------------------------------------------------------


def _replay_attempts(delivery: dict) -> pd.DataFrame:
    rows = [
        {"finished_at": a.get("finished_at"), "operator": a.get("operator"),
         "status": a.get("status"), "http_status": a.get("http_status"),
         "error": redact_text(a.get("error")), "duration_ms": a.get("duration_ms"),
         "job_id": a.get("job_id")}
        for a in reversed(delivery.get("attempts_timeline") or [])
        if a.get("kind") == "replay"
    ][:50]
    return pd.DataFrame(rows, columns=["finished_at", "operator", "status", "http_status",
                                       "error", "duration_ms", "job_id"])


def _may_act(identity: Identity, delivery_id: str) -> bool:
    """Re-checked at the action: the role may replay, and the delivery is still there for
    this identity."""
    if not allowed(identity, "replay"):
        return False
    if get_delivery(engine(), delivery_id, scope=identity.scope) is None:
        st.error("This delivery is not in the store.", icon="🔍")
        return False
    return True


def render_single_replay(delivery: dict, identity: Identity) -> None:
    """The replay block of the delivery detail (a delivery the identity may see): past
    replays, and "Replay now" for a role that may replay; for a delivery whose latest
    replay's outcome is unknown, "outcome unknown — check with the receiver" and the
    operator's one-click deliberate resend (same ``webhook-id``)."""
    delivery_id = delivery["id"]
    st.markdown("**Replay**")
    history = _replay_attempts(delivery)
    if not history.empty:
        st.dataframe(history, hide_index=True, width="stretch",
                     column_config={"finished_at": st.column_config.DatetimeColumn(
                         "Finished (UTC)", format="YYYY-MM-DD HH:mm:ss")})
    claim = J.claim_of(engine(), delivery_id, scope=identity.scope)
    result_key = f"replay_single_result_{delivery_id}"
    may_replay = identity.can("replay")
    action = None  # "replay" | "resend" (the deliberate resend of an unknown outcome)
    if delivery.get("status") == "delivered":
        st.caption("Delivered: nothing to replay.")
    elif claim and claim["state"] in S.CLAIM_HELD:
        st.caption(f"In replay job {md(claim['job_id'])}, not finished yet: not sent from "
                   "here meanwhile.")
    elif claim and claim["state"] == S.CLAIM_UNKNOWN:
        st.warning(
            f"{UNKNOWN_TEXT}: the replay in job {md(claim['job_id'])} may have reached it "
            "(no answer came back). It is never sent again automatically. If the receiver "
            "does not have it, resend it: the receiver sees the same webhook-id, so one that "
            "de-duplicates (Standard Webhooks) keeps one copy.", icon="❓",
        )
        if may_replay and st.button(
            "↻ Resend anyway (same webhook-id)", key=f"resend_{delivery_id}",
            help="A deliberate resend of a delivery the receiver may already have; audited",
        ):
            action = "resend"
    elif may_replay and st.button(
        "↻ Replay now", key=f"replay_{delivery_id}", type="primary",
        help="Send the stored payload to the endpoint again, signed (Standard Webhooks)",
    ):
        action = "replay"
    if action and _may_act(identity, delivery_id):
        with st.spinner("Replaying…"):
            out = replay_single(engine(), delivery_id, operator=identity.name,
                                settings=settings().replay, now=now(),
                                scope=identity.scope, resend_unknown=action == "resend")
        st.session_state[result_key] = {
            "outcome": out.outcome, "http_status": out.http_status, "reason": out.reason,
            "job_id": out.job_id,
        }
        st.rerun()
    result = st.session_state.get(result_key)
    if result:
        icon = _OUTCOME_ICON.get(result["outcome"], "")
        text = f"{icon} Replay {md(result['outcome'])}" + (
            f" (HTTP {int(result['http_status'])})" if result["http_status"] else "")
        if result["outcome"] == S.SUCCEEDED:
            st.success(text)
        elif result["outcome"] in S.OUTCOME_UNKNOWN:
            st.warning(f"{text}: {UNKNOWN_TEXT}")
        else:
            st.error(text)
        if result["reason"]:
            st.code(redact_text(result["reason"]), language=None, wrap_lines=True)


# --- bulk: confirmation and launch ------------------------------------------------------


def launch_job(delivery_ids: list[str], *, identity: Identity, source: str,
               filters: dict | None = None) -> str:
    """Persist the job (under the signed-in name) and start its runner process."""
    job_id, _preview = J.create_job(engine(), delivery_ids, operator=identity.name,
                                    source=source, now=now(), filters=filters,
                                    scope=identity.scope)
    background.launch(job_id, operator=identity.name)
    st.session_state[JOB_KEY] = job_id
    return job_id


def launch_recommended(*, identity: Identity, tenant: str | None,
                       since: str | None) -> J.RecommendedJob:
    """"Replay all recommended": the advisor's recommendation *now*
    (``intel.replay.jobs.create_recommended_job``, as the API and the CLI do it), then its
    runner process. Nothing is created when nothing is recommended any more."""
    made = J.create_recommended_job(
        engine(), operator=identity.name, now=now(), launched_from="app",
        scope=identity.scope, tenant=tenant, since=since, settings=settings().replay,
    )
    if made.created:
        background.launch(made.job_id, operator=identity.name)
        st.session_state[JOB_KEY] = made.job_id
    return made


PENDING_KEY = "replay_confirm_pending"


def _close_confirmation() -> None:
    st.session_state.pop(PENDING_KEY, None)


def request_bulk_replay(delivery_ids: list[str], *, source: str = "manual",
                        filters: dict | None = None) -> None:
    """Open the confirmation dialog for ``delivery_ids`` (it stays open across reruns
    until confirmed, cancelled or dismissed; ``render_pending_confirmation`` draws it).
    The ids live in the session (server side), never in anything a browser sends."""
    st.session_state[PENDING_KEY] = {"ids": list(delivery_ids), "source": source,
                                     "filters": dict(filters or {})}


def request_recommended_replay(tenant: str | None, since: str | None) -> None:
    """Open the confirmation dialog for "replay the recommendation" of ``tenant`` since
    ``since``: the dialog shows what the advisor recommends when it is drawn, and
    "Start replay" replays what it recommends at that moment."""
    st.session_state[PENDING_KEY] = {"recommended": True, "tenant": tenant, "since": since}


def render_pending_confirmation() -> None:
    pending = st.session_state.get(PENDING_KEY)
    if pending and pending.get("recommended"):
        confirm_recommended_replay(pending["tenant"], pending["since"])
    elif pending:
        confirm_bulk_replay(pending["ids"], pending["source"], pending["filters"])


def _preview_body(preview: J.Preview, identity: Identity) -> None:
    cols = st.columns(3)
    cols[0].metric("Deliveries", preview.count)
    cols[1].metric("Endpoints", len(preview.endpoints))
    cols[2].metric("Expected to go out", preview.to_send)
    held = {
        "already delivered": preview.already_delivered,
        "already replayed": preview.already_replayed,
        "in another job": preview.claimed_elsewhere,
        "outcome unknown (check with the receiver)": preview.outcome_unknown,
        "without payload": preview.without_payload,
    }
    held = {k: v for k, v in held.items() if v}
    if held:
        st.caption("Will be skipped: " + ", ".join(f"{int(v)} {k}" for k, v in held.items()))
    endpoints = pd.DataFrame(preview.endpoints, columns=["endpoint", "tenant", "count"])
    st.dataframe(redact_columns(endpoints, urls=("endpoint",)),
                 hide_index=True, width="stretch",
                 height=min(36 * (len(preview.endpoints) + 1), 260))
    cfg = settings().replay
    st.caption(
        f"At most {cfg.per_endpoint_concurrency} in flight per endpoint and "
        f"{cfg.global_rate_per_s:g} started per second; a 429 pauses its endpoint for its "
        f"Retry-After; {cfg.circuit_breaker_failures} failures in a row stop an endpoint. "
        "A replay that gets no answer is an unknown outcome and is never sent again "
        "automatically."
    )
    st.text(f"Operator: {identity.name}")


@st.dialog("Replay these deliveries?", width="large", on_dismiss=_close_confirmation)
def confirm_bulk_replay(delivery_ids: list[str], source: str = "manual",
                        filters: dict | None = None) -> None:
    """The confirmation: count, endpoints, who; "Start replay" persists the job and
    starts its runner."""
    identity = require_identity()
    if not identity.can("replay"):
        st.error("Your role may not replay deliveries.", icon="⛔")
        return
    preview = J.preview_replay(engine(), delivery_ids, filters, scope=identity.scope)
    _preview_body(preview, identity)
    left, right = st.columns(2)
    if left.button("Start replay", type="primary", key="replay_confirm",
                   disabled=preview.count == 0) and allowed(identity, "replay"):
        launch_job(delivery_ids, identity=identity, source=source, filters=filters)
        _close_confirmation()
        st.cache_data.clear()
        st.rerun()
    if right.button("Cancel", key="replay_dismiss"):
        _close_confirmation()
        st.rerun()


@st.dialog("Replay all recommended?", width="large", on_dismiss=_close_confirmation)
def confirm_recommended_replay(tenant: str | None, since: str | None) -> None:
    """The confirmation of "replay the recommendation": what the advisor recommends now
    (deliveries in an unfinished job are not in it), its endpoints, who."""
    from ui.advisor import load_advice

    identity = require_identity()
    if not identity.can("replay"):
        st.error("Your role may not replay deliveries.", icon="⛔")
        return
    advice = load_advice(tenant, since, identity.scope)
    ids = advice["recommended_ids"]
    preview = J.preview_replay(engine(), ids, scope=identity.scope)
    _preview_body(preview, identity)
    in_progress = advice.get("in_progress") or {}
    if in_progress.get("total"):
        st.caption(f"Not offered: {int(in_progress['total'])} already in unfinished replay "
                   "job(s).")
    if not ids:
        st.info("The advisor recommends nothing now.", icon="🧠")
    left, right = st.columns(2)
    if left.button("Start replay", type="primary", key="replay_confirm",
                   disabled=not ids) and allowed(identity, "replay"):
        made = launch_recommended(identity=identity, tenant=tenant, since=since)
        _close_confirmation()
        st.cache_data.clear()
        if not made.created:
            st.session_state[f"{JOB_KEY}_nothing"] = True
        st.rerun()
    if right.button("Cancel", key="replay_dismiss"):
        _close_confirmation()
        st.rerun()


# --- progress ---------------------------------------------------------------------------


def _progress_body(job_id: str) -> bool:
    """Draw the job's progress (a job the identity may see); True while it is live."""
    identity = require_identity()
    cfg = settings().replay
    progress = J.job_progress(engine(), job_id, now(), cfg.runner_stale_after_s,
                              scope=identity.scope)
    if progress is None:
        st.info("This replay job is not in the store.", icon="🔍")
        return False
    live = progress["status"] in (S.JOB_PENDING, S.JOB_RUNNING)
    label = (f"Job {md(job_id)} ({md(progress['source'])}, by {md(progress['created_by'])}): "
             f"{md(progress['status'])} — {int(progress['done'])}/{int(progress['total'])}")
    st.progress(min(1.0, progress["fraction"]), text=label)
    cols = st.columns(7)
    for col, key in zip(cols, ("succeeded", "failed", "unknown", "skipped", "refused",
                               "cancelled", "interrupted"), strict=True):
        col.metric(key.capitalize(), progress[key])
    if progress["outcome_unknown"]:
        st.caption(f"{int(progress['outcome_unknown'])} {UNKNOWN_TEXT.lower()}: never sent "
                   "again automatically (resend one from its delivery detail).")
    for other, n in (progress.get("in_other_jobs") or {}).items():
        st.caption(f"Skipped: in another job: {int(n)} (job {md(other)}).")
    if progress["stale"]:
        st.warning("The runner of this job stopped beating: it will be resumed by the next "
                   "runner, or run this:", icon="⚠️")
        st.code(f"python -m intel replay --resume {job_id}", language=None)
    paused = [e for e in progress["endpoints"] if e.get("paused_for_s")]
    stopped = [e for e in progress["endpoints"] if e.get("stopped")]
    if paused:
        st.caption(f"{len(paused)} endpoint(s) paused by a 429 Retry-After.")
    if stopped or progress["notes"]:
        notes = pd.DataFrame(progress["notes"], columns=["endpoint", "state", "reason", "count"])
        st.dataframe(redact_columns(notes, urls=("endpoint",), texts=("reason",)),
                     hide_index=True, width="stretch")
    if live:
        if identity.can("replay") and st.button(
            "Cancel job", key=f"cancel_{job_id}", disabled=progress["cancel_requested"]
        ) and allowed(identity, "replay"):
            J.request_cancel(engine(), job_id, operator=identity.name, now=now(),
                             stale_after_s=cfg.runner_stale_after_s, scope=identity.scope)
            st.rerun()
        if progress["cancel_requested"]:
            st.caption("Cancel requested: the runner stops after the replays in flight.")
    return live


def _progress_fragment(job_id: str) -> None:
    live = _progress_body(job_id)
    if not live and st.session_state.get(f"{JOB_KEY}_was_live_{job_id}"):
        st.session_state[f"{JOB_KEY}_was_live_{job_id}"] = False
        st.rerun()  # redraw the page without the timer, with fresh figures


def render_job_progress(job_id: str, identity: Identity) -> None:
    """Live progress of ``job_id``: re-runs every second while the job is live."""
    cfg = settings().replay
    progress = J.job_progress(engine(), job_id, now(), cfg.runner_stale_after_s,
                              scope=identity.scope)
    live = bool(progress and progress["status"] in (S.JOB_PENDING, S.JOB_RUNNING))
    st.session_state[f"{JOB_KEY}_was_live_{job_id}"] = live
    st.fragment(_progress_fragment, run_every=PROGRESS_EVERY_S if live else None)(job_id)


def render_live_job(identity: Identity) -> None:
    """The progress of the job this session launched last, if any."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        render_job_progress(job_id, identity)


def render_recent_jobs(identity: Identity, limit: int = 10) -> None:
    """Recent replay jobs the identity may see, newest first, with their counts."""
    rows = J.list_jobs(engine(), limit=limit, scope=identity.scope)
    rows = [r for r in rows if r["source"] != "single"]
    if not rows:
        st.caption("No bulk replay jobs yet.")
        return
    table = pd.DataFrame(
        [
            {
                "job": r["id"], "created": r["created_at"], "by": r["created_by"],
                "source": r["source"], "status": r["status"], "total": r["total"],
                "succeeded": (r["summary"] or {}).get("succeeded"),
                "failed": (r["summary"] or {}).get("failed"),
                "unknown": (r["summary"] or {}).get("outcome_unknown"),
                "skipped": (r["summary"] or {}).get("skipped"),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "created": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm")})
