"""Per-item state transitions of a replay job, each one database transaction.

These are what make a job safe to kill: an item is marked ``sending`` and its delivery
claimed (``replay_claims``, primary key ``delivery_id``) in one transaction *before* the
request goes out, and its outcome, attempt row, claim and delivery row are written in one
transaction after. A runner that dies between the two leaves the item ``sending``; the
next runner marks it ``interrupted`` and never sends it again (at most once).

How a replay changes the delivery row: a success (2xx) sets ``status`` to ``delivered``,
``http_status``/``response_headers``/``response_body``/``duration_ms`` to the replay's,
clears ``error``, sets ``last_attempt_at`` to when the replay finished and adds one to
``attempts``. A failed, refused or interrupted replay leaves the row as the platform last
saw it (its failure keeps counting at its original time, and triage keeps reading the
original evidence); the replay is a ``delivery_attempts`` row of kind ``replay`` with
operator and job, which the delivery detail shows in its timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Text, and_, case, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intel.replay import states as S
from intel.replay.sender import REFUSED as OUT_REFUSED
from intel.replay.sender import SUCCEEDED as OUT_SUCCEEDED
from intel.replay.sender import SendResult
from intel.store.schema import (
    deliveries,
    delivery_attempts,
    endpoints,
    replay_claims,
    replay_items,
    replay_jobs,
)

INTERRUPTED_REASON = (
    "interrupted: the runner stopped while this replay was in flight; the receiver may or "
    "may not have it, so it is not sent again (at most once). Check with the receiver, then "
    "release the claim to replay it."
)


def _insert(conn: Connection):
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def payload_missing(column=deliveries.c.payload):
    """SQL: the delivery has no stored payload (SQL NULL or JSON null)."""
    return func.coalesce(cast(column, Text), "null") == "null"


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    endpoint: str
    payload: object
    secret: str | None


@dataclass(frozen=True)
class Skipped:
    reason: str


NOT_MINE = None  # the item is no longer pending in this job (another runner took it)


def claim_reason(claim_job: str, claim_state: str) -> str:
    if claim_state == S.CLAIM_SUCCEEDED:
        return f"already replayed successfully (job {claim_job})"
    if claim_state == S.CLAIM_UNKNOWN:
        return (
            f"an earlier replay (job {claim_job}) was interrupted in flight; outcome unknown. "
            "Release the claim to send it again"
        )
    return f"being replayed by job {claim_job}"


def claim_item(conn: Connection, job_id: str, delivery_id: str, now: datetime):
    """Mark the item ``sending`` and claim its delivery; ``Claimed``, ``Skipped`` or None."""
    items = replay_items
    taken = conn.execute(
        update(items)
        .where(items.c.job_id == job_id, items.c.delivery_id == delivery_id,
               items.c.state == S.PENDING)
        .values(state=S.SENDING, updated_at=now)
    )
    if taken.rowcount != 1:
        return NOT_MINE
    row = conn.execute(
        select(
            items.c.endpoint,
            deliveries.c.status,
            deliveries.c.payload,
            endpoints.c.signing_secret,
            endpoints.c.disabled,
        )
        .select_from(
            items.outerjoin(deliveries, deliveries.c.id == items.c.delivery_id).outerjoin(
                endpoints, endpoints.c.url == items.c.endpoint
            )
        )
        .where(items.c.job_id == job_id, items.c.delivery_id == delivery_id)
    ).one()
    reason = None
    if row.status is None:
        reason = "the delivery no longer exists"
    elif row.status == "delivered":
        reason = "already delivered"
    elif row.disabled:
        reason = "the endpoint is disabled (endpoints.disabled)"
    if reason is None:
        inserted = conn.execute(
            _insert(conn)(replay_claims)
            .values(delivery_id=delivery_id, job_id=job_id, state=S.CLAIM_SENDING, claimed_at=now)
            .on_conflict_do_nothing(index_elements=[replay_claims.c.delivery_id])
            .returning(replay_claims.c.delivery_id)
        ).first()
        if inserted is None:
            claim = conn.execute(
                select(replay_claims.c.job_id, replay_claims.c.state).where(
                    replay_claims.c.delivery_id == delivery_id
                )
            ).one_or_none()
            reason = (
                claim_reason(claim.job_id, claim.state) if claim else "claimed by another job"
            )
    if reason is not None:
        conn.execute(
            update(items)
            .where(items.c.job_id == job_id, items.c.delivery_id == delivery_id)
            .values(state=S.SKIPPED, reason=reason, updated_at=now)
        )
        return Skipped(reason)
    return Claimed(delivery_id, row.endpoint, row.payload, row.signing_secret)


def _next_attempt_no(delivery_id: str):
    """SQL: one more than the highest attempt number known for the delivery (its own
    ``attempts`` or any attempt row), evaluated inside the INSERT."""
    seen = func.coalesce(
        select(func.max(delivery_attempts.c.attempt_no))
        .where(delivery_attempts.c.delivery_id == delivery_id)
        .scalar_subquery(),
        0,
    )
    attempts = func.coalesce(
        select(deliveries.c.attempts).where(deliveries.c.id == delivery_id).scalar_subquery(), 0
    )
    return case((seen > attempts, seen), else_=attempts) + 1


def _attempt_status(result: SendResult) -> str:
    if result.outcome == OUT_SUCCEEDED:
        return S.ATTEMPT_DELIVERED
    if result.outcome == OUT_REFUSED:
        return S.ATTEMPT_REFUSED
    return S.ATTEMPT_FAILED


def _attempt_values(result: SendResult, operator: str, job_id: str) -> dict:
    return {
        "kind": "replay",
        "status": _attempt_status(result),
        "http_status": result.http_status,
        "error": result.error,
        "response_headers": result.headers,
        "response_body": result.body,
        "duration_ms": result.duration_ms,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "operator": operator,
        "job_id": job_id,
    }


def _write_attempt(conn: Connection, job_id: str, delivery_id: str, result: SendResult,
                   operator: str, reuse_attempt_id: int | None) -> int:
    values = _attempt_values(result, operator, job_id)
    if reuse_attempt_id is not None:
        conn.execute(
            update(delivery_attempts)
            .where(delivery_attempts.c.id == reuse_attempt_id)
            .values(**values)
        )
        return reuse_attempt_id
    inserted = conn.execute(
        delivery_attempts.insert().values(
            delivery_id=delivery_id, attempt_no=_next_attempt_no(delivery_id), **values
        )
    )
    return int(inserted.inserted_primary_key[0])


def outcome_reason(result: SendResult) -> str | None:
    if result.error:
        return result.error
    if result.http_status is not None and result.outcome != OUT_SUCCEEDED:
        return f"HTTP {result.http_status}"
    return None


def finish_item(
    conn: Connection,
    job_id: str,
    delivery_id: str,
    result: SendResult,
    *,
    operator: str,
    now: datetime,
    reason: str | None = None,
) -> str:
    """Record the outcome of a send: attempt, item, claim and (on success) the delivery."""
    item = conn.execute(
        select(replay_items.c.state, replay_items.c.attempt_id).where(
            replay_items.c.job_id == job_id, replay_items.c.delivery_id == delivery_id
        )
    ).one()
    # An item another runner marked interrupted while this one was still sending it: the
    # real outcome replaces "unknown" (same attempt row, not a second one).
    reuse = item.attempt_id if item.state == S.INTERRUPTED else None
    attempt_id = _write_attempt(conn, job_id, delivery_id, result, operator, reuse)
    if result.outcome == OUT_SUCCEEDED:
        state = S.SUCCEEDED
    elif result.outcome == OUT_REFUSED:
        state = S.REFUSED
    else:
        state = S.FAILED
    conn.execute(
        update(replay_items)
        .where(
            replay_items.c.job_id == job_id,
            replay_items.c.delivery_id == delivery_id,
            replay_items.c.state.in_((S.SENDING, S.INTERRUPTED)),
        )
        .values(
            state=state,
            reason=reason or outcome_reason(result),
            attempt_id=attempt_id,
            http_status=result.http_status,
            updated_at=now,
        )
    )
    claim = and_(replay_claims.c.delivery_id == delivery_id, replay_claims.c.job_id == job_id)
    if state == S.SUCCEEDED:
        conn.execute(update(replay_claims).where(claim).values(state=S.CLAIM_SUCCEEDED))
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                status="delivered",
                http_status=result.http_status,
                error=None,
                response_headers=result.headers,
                response_body=result.body,
                duration_ms=result.duration_ms,
                last_attempt_at=result.finished_at,
                attempts=deliveries.c.attempts + 1,
                updated_at=now,
            )
        )
    else:
        conn.execute(replay_claims.delete().where(claim))
    return state


def requeue_item(
    conn: Connection,
    job_id: str,
    delivery_id: str,
    result: SendResult,
    *,
    operator: str,
    now: datetime,
    reason: str,
) -> None:
    """A 429: record the attempt, release the claim, put the item back to ``pending``."""
    attempt_id = _write_attempt(conn, job_id, delivery_id, result, operator, None)
    conn.execute(
        update(replay_items)
        .where(
            replay_items.c.job_id == job_id,
            replay_items.c.delivery_id == delivery_id,
            replay_items.c.state == S.SENDING,
        )
        .values(state=S.PENDING, reason=reason, attempt_id=attempt_id,
                http_status=result.http_status, updated_at=now)
    )
    conn.execute(
        replay_claims.delete().where(
            replay_claims.c.delivery_id == delivery_id, replay_claims.c.job_id == job_id
        )
    )


def skip_pending(
    conn: Connection, job_id: str, delivery_ids: Sequence[str], reason: str, now: datetime
) -> int:
    """Mark still-pending items skipped (circuit breaker, endpoint gave up)."""
    done = 0
    ids = list(delivery_ids)
    for start in range(0, len(ids), 500):
        done += conn.execute(
            update(replay_items)
            .where(
                replay_items.c.job_id == job_id,
                replay_items.c.delivery_id.in_(ids[start : start + 500]),
                replay_items.c.state == S.PENDING,
            )
            .values(state=S.SKIPPED, reason=reason, updated_at=now)
        ).rowcount
    return done


def recover_interrupted(conn: Connection, job_id: str, *, operator: str, now: datetime) -> int:
    """Items left ``sending`` by a dead runner become ``interrupted``: never sent again."""
    stuck = conn.execute(
        select(replay_items.c.delivery_id).where(
            replay_items.c.job_id == job_id, replay_items.c.state == S.SENDING
        )
    ).scalars().all()
    for delivery_id in stuck:
        inserted = conn.execute(
            delivery_attempts.insert().values(
                delivery_id=delivery_id,
                attempt_no=_next_attempt_no(delivery_id),
                kind="replay",
                status=S.ATTEMPT_UNKNOWN,
                error=INTERRUPTED_REASON,
                finished_at=now,
                operator=operator,
                job_id=job_id,
            )
        )
        conn.execute(
            update(replay_items)
            .where(replay_items.c.job_id == job_id, replay_items.c.delivery_id == delivery_id,
                   replay_items.c.state == S.SENDING)
            .values(state=S.INTERRUPTED, reason=INTERRUPTED_REASON,
                    attempt_id=int(inserted.inserted_primary_key[0]), updated_at=now)
        )
    if stuck:
        conn.execute(
            update(replay_claims)
            .where(replay_claims.c.job_id == job_id, replay_claims.c.state == S.CLAIM_SENDING)
            .values(state=S.CLAIM_UNKNOWN)
        )
    return len(stuck)


def state_counts(conn: Connection, job_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(replay_items.c.state, func.count())
        .where(replay_items.c.job_id == job_id)
        .group_by(replay_items.c.state)
    ).all()
    counts = dict.fromkeys(S.ITEM_STATES, 0)
    for state, n in rows:
        counts[state] = int(n)
    return counts


def summary_counts(counts: dict[str, int]) -> dict[str, int]:
    """The CONTRACTS §4 figures from per-state counts.

    ``attempted``: items a request went out for (succeeded + failed + interrupted);
    ``skipped``: not sent because of the delivery's state, a claim or a circuit breaker;
    ``refused``: blocked by outbound safety or a missing payload; ``cancelled``: not sent
    because the job was cancelled; ``interrupted``: in flight when a runner died.
    """
    return {
        "total": sum(counts.values()),
        "attempted": counts[S.SUCCEEDED] + counts[S.FAILED] + counts[S.INTERRUPTED],
        "succeeded": counts[S.SUCCEEDED],
        "failed": counts[S.FAILED],
        "skipped": counts[S.SKIPPED],
        "refused": counts[S.REFUSED],
        "cancelled": counts[S.CANCELLED],
        "interrupted": counts[S.INTERRUPTED],
        "pending": counts[S.PENDING] + counts[S.SENDING],
    }


def finalize_job(
    conn: Connection, job_id: str, status: str, now: datetime, notes: dict | None = None
) -> dict:
    """Close the job: cancel what is still pending if cancelled; store the summary."""
    if status == S.JOB_CANCELLED:
        conn.execute(
            update(replay_items)
            .where(replay_items.c.job_id == job_id, replay_items.c.state == S.PENDING)
            .values(state=S.CANCELLED, reason="the job was cancelled", updated_at=now)
        )
    counts = summary_counts(state_counts(conn, job_id))
    summary = {**counts, **(notes or {})}
    conn.execute(
        update(replay_jobs)
        .where(replay_jobs.c.id == job_id)
        .values(status=status, finished_at=now, summary=summary)
    )
    return summary
