"""Replay in the app: single replay from the delivery detail, the bulk-replay confirmation
dialog, live job progress, and the recent jobs list.

Bulk jobs run in a detached runner process (``intel.replay.background``): closing the
tab does not stop them, and the progress shown here is read from the database by a
fragment that re-runs every second while the job is live. Untrusted text (endpoint
URLs, error texts, response bodies) is shown only through ``st.code``/``st.text`` or
dataframe cells.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from intel.replay import background
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.engine import replay_single
from intel.store.schema import deliveries, delivery_attempts
from intel.timeutil import utcnow
from ui.session import current_operator, engine, require_operator, settings

JOB_KEY = "replay_live_job"
PROGRESS_EVERY_S = 1.0

_OUTCOME_ICON = {
    S.SUCCEEDED: "✅", S.FAILED: "❌", S.REFUSED: "⛔", S.SKIPPED: "⏭️",
    S.CANCELLED: "🚫", S.INTERRUPTED: "❓",
}


# --- single replay ----------------------------------------------------------------------


def _replay_attempts(delivery_id: str) -> pd.DataFrame:
    a = delivery_attempts
    with engine().connect() as conn:
        rows = conn.execute(
            sa.select(a.c.finished_at, a.c.operator, a.c.status, a.c.http_status, a.c.error,
                      a.c.duration_ms, a.c.job_id)
            .where(a.c.delivery_id == delivery_id, a.c.kind == "replay")
            .order_by(a.c.finished_at.desc())
            .limit(50)
        ).mappings().all()
    return pd.DataFrame(rows, columns=["finished_at", "operator", "status", "http_status",
                                       "error", "duration_ms", "job_id"])


def render_single_replay(delivery_id: str) -> None:
    """The replay block of the delivery detail: past replays and a "Replay now" button."""
    with engine().connect() as conn:
        row = conn.execute(
            sa.select(deliveries.c.status, deliveries.c.endpoint).where(
                deliveries.c.id == delivery_id
            )
        ).one_or_none()
    if row is None:
        st.info("This delivery is not in the store.")
        return
    st.markdown("**Replay**")
    history = _replay_attempts(delivery_id)
    if not history.empty:
        st.dataframe(history, hide_index=True, width="stretch",
                     column_config={"finished_at": st.column_config.DatetimeColumn(
                         "Finished (UTC)", format="YYYY-MM-DD HH:mm:ss")})
    claim = J.claim_of(engine(), delivery_id)
    result_key = f"replay_single_result_{delivery_id}"
    if row.status == "delivered":
        st.caption("Delivered: nothing to replay.")
    elif claim and claim["state"] == S.CLAIM_SENDING:
        st.caption(f"Being replayed now by job {claim['job_id']}.")
    elif claim and claim["state"] == S.CLAIM_UNKNOWN:
        st.warning(
            "An earlier replay of this delivery was interrupted in flight: the receiver may "
            "already have it. Check with the receiver, then release the claim to send it "
            "again.", icon="❓",
        )
        operator = require_operator()
        if st.button("Release claim", key=f"release_{delivery_id}", disabled=not operator):
            J.release_claim(engine(), delivery_id, operator=operator, now=utcnow())
            st.rerun()
    else:
        operator = current_operator()
        clicked = st.button(
            "↻ Replay now", key=f"replay_{delivery_id}", type="primary",
            disabled=not operator,
            help="Send the stored payload to the endpoint again, signed (Standard Webhooks)"
            if operator else "Enter your operator name in the sidebar first",
        )
        if not operator:
            st.caption("Enter your operator name in the sidebar to replay.")
        if clicked and operator:
            with st.spinner("Replaying…"):
                out = replay_single(engine(), delivery_id, operator=operator,
                                    settings=settings().replay)
            st.session_state[result_key] = {
                "outcome": out.outcome, "http_status": out.http_status, "reason": out.reason,
                "job_id": out.job_id,
            }
            st.rerun()
    result = st.session_state.get(result_key)
    if result:
        icon = _OUTCOME_ICON.get(result["outcome"], "")
        text = f"{icon} Replay {result['outcome']}" + (
            f" (HTTP {result['http_status']})" if result["http_status"] else "")
        if result["outcome"] == S.SUCCEEDED:
            st.success(text)
        else:
            st.error(text)
        if result["reason"]:
            st.code(result["reason"], language=None, wrap_lines=True)


# --- bulk: confirmation and launch ------------------------------------------------------


def launch_job(delivery_ids: list[str], *, operator: str, source: str,
               filters: dict | None = None) -> str:
    """Persist the job and start its runner process; returns the job id."""
    job_id, _preview = J.create_job(engine(), delivery_ids, operator=operator, source=source,
                                    now=utcnow(), filters=filters)
    background.launch(job_id, operator=operator)
    st.session_state[JOB_KEY] = job_id
    return job_id


PENDING_KEY = "replay_confirm_pending"


def _close_confirmation() -> None:
    st.session_state.pop(PENDING_KEY, None)


def request_bulk_replay(delivery_ids: list[str], *, source: str = "manual",
                        filters: dict | None = None) -> None:
    """Open the confirmation dialog for ``delivery_ids`` (it stays open across reruns
    until confirmed, cancelled or dismissed; ``render_pending_confirmation`` draws it)."""
    st.session_state[PENDING_KEY] = {"ids": list(delivery_ids), "source": source,
                                     "filters": dict(filters or {})}


def render_pending_confirmation() -> None:
    pending = st.session_state.get(PENDING_KEY)
    if pending:
        confirm_bulk_replay(pending["ids"], pending["source"], pending["filters"])


@st.dialog("Replay these deliveries?", width="large", on_dismiss=_close_confirmation)
def confirm_bulk_replay(delivery_ids: list[str], source: str = "manual",
                        filters: dict | None = None) -> None:
    """The confirmation: count, endpoints, operator; "Start replay" persists the job and
    starts its runner."""
    operator = current_operator()
    preview = J.preview_replay(engine(), delivery_ids, filters)
    cols = st.columns(3)
    cols[0].metric("Deliveries", preview.count)
    cols[1].metric("Endpoints", len(preview.endpoints))
    cols[2].metric("Expected to go out", preview.to_send)
    held = {
        "already delivered": preview.already_delivered,
        "already replayed": preview.already_replayed,
        "claimed by another job": preview.claimed_elsewhere,
        "without payload": preview.without_payload,
    }
    held = {k: v for k, v in held.items() if v}
    if held:
        st.caption("Will be skipped: " + ", ".join(f"{v} {k}" for k, v in held.items()))
    st.dataframe(pd.DataFrame(preview.endpoints, columns=["endpoint", "tenant", "count"]),
                 hide_index=True, width="stretch",
                 height=min(36 * (len(preview.endpoints) + 1), 260))
    cfg = settings().replay
    st.caption(
        f"At most {cfg.per_endpoint_concurrency} in flight per endpoint and "
        f"{cfg.global_rate_per_s:g} started per second; a 429 pauses its endpoint for its "
        f"Retry-After; {cfg.circuit_breaker_failures} failures in a row stop an endpoint."
    )
    if not operator:
        st.warning("Enter your operator name in the sidebar first.", icon="👤")
        return
    st.text(f"Operator: {operator}")
    left, right = st.columns(2)
    if left.button("Start replay", type="primary", key="replay_confirm",
                   disabled=preview.count == 0):
        launch_job(delivery_ids, operator=operator, source=source, filters=filters)
        _close_confirmation()
        st.cache_data.clear()
        st.rerun()
    if right.button("Cancel", key="replay_dismiss"):
        _close_confirmation()
        st.rerun()


# --- progress ---------------------------------------------------------------------------


def _progress_body(job_id: str) -> bool:
    """Draw the job's progress; True while it is still live."""
    cfg = settings().replay
    progress = J.job_progress(engine(), job_id, utcnow(), cfg.runner_stale_after_s)
    if progress is None:
        st.info(f"Replay job {job_id} is gone.")
        return False
    live = progress["status"] in (S.JOB_PENDING, S.JOB_RUNNING)
    label = (f"Job {job_id} ({progress['source']}, by {progress['created_by']}): "
             f"{progress['status']} — {progress['done']}/{progress['total']}")
    st.progress(min(1.0, progress["fraction"]), text=label)
    cols = st.columns(6)
    for col, key in zip(cols, ("succeeded", "failed", "skipped", "refused", "cancelled",
                               "interrupted"), strict=True):
        col.metric(key.capitalize(), progress[key])
    if progress["stale"]:
        st.warning("The runner of this job stopped beating: it will be resumed by the next "
                   "runner, or run `python -m intel replay --resume " + job_id + "`.",
                   icon="⚠️")
    paused = [e for e in progress["endpoints"] if e.get("paused_for_s")]
    stopped = [e for e in progress["endpoints"] if e.get("stopped")]
    if paused:
        st.caption(f"{len(paused)} endpoint(s) paused by a 429 Retry-After.")
    if stopped or progress["notes"]:
        notes = pd.DataFrame(progress["notes"], columns=["endpoint", "state", "reason", "count"])
        st.dataframe(notes, hide_index=True, width="stretch")
    if live:
        operator = current_operator()
        if st.button("Cancel job", key=f"cancel_{job_id}", disabled=not operator
                     or progress["cancel_requested"]):
            J.request_cancel(engine(), job_id, operator=operator, now=utcnow(),
                             stale_after_s=cfg.runner_stale_after_s)
            st.rerun()
        if progress["cancel_requested"]:
            st.caption("Cancel requested: the runner stops after the replays in flight.")
    return live


def _progress_fragment(job_id: str) -> None:
    live = _progress_body(job_id)
    if not live and st.session_state.get(f"{JOB_KEY}_was_live_{job_id}"):
        st.session_state[f"{JOB_KEY}_was_live_{job_id}"] = False
        st.rerun()  # redraw the page without the timer, with fresh figures


def render_job_progress(job_id: str) -> None:
    """Live progress of ``job_id``: re-runs every second while the job is live."""
    cfg = settings().replay
    progress = J.job_progress(engine(), job_id, utcnow(), cfg.runner_stale_after_s)
    live = bool(progress and progress["status"] in (S.JOB_PENDING, S.JOB_RUNNING))
    st.session_state[f"{JOB_KEY}_was_live_{job_id}"] = live
    st.fragment(_progress_fragment, run_every=PROGRESS_EVERY_S if live else None)(job_id)


def render_live_job() -> None:
    """The progress of the job this session launched last, if any."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        render_job_progress(job_id)


def render_recent_jobs(limit: int = 10) -> None:
    """Recent replay jobs, newest first, with their counts."""
    rows = J.list_jobs(engine(), limit=limit)
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
                "skipped": (r["summary"] or {}).get("skipped"),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "created": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm")})
