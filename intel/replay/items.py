"""Per-item state transitions of a replay job, each one database transaction.

These are what make a job safe to kill, pause or run beside other jobs (the rules are in
``intel.replay.states``):

* ``take_claims`` (at job creation): the job claims (``queued``) every delivery of it no
  other job holds; ``replay_claims`` has one row per delivery (primary key), so two jobs
  can never hold the same one. ``skip_held_elsewhere`` then skips, for good, the items
  another unfinished job holds ("in another job", its id in ``blocked_by``).
* ``claim_item`` (before a send): the item becomes ``sending`` and the claim ``sending``,
  in one transaction, *before* the request goes out; a delivery another job holds, one
  already replayed, or one whose earlier outcome is unknown is skipped with the reason
  (and the other job's id in ``blocked_by``).
* ``finish_item`` (after it): outcome, attempt row, claim and delivery row in one
  transaction. ``succeeded`` keeps the claim for good; ``unknown`` keeps it as
  ``unknown`` (never sent again automatically); ``failed``/``refused`` release it.

A runner that dies between the two leaves the item ``sending``; the next runner marks it
``interrupted`` (an unknown outcome) and never sends it again.

How a replay changes the delivery row: a success (2xx) sets ``status`` to ``delivered``,
``http_status``/``response_headers``/``response_body``/``duration_ms`` to the replay's,
clears ``error``, sets ``last_attempt_at`` to when the replay finished and adds one to
``attempts``. A failed, refused or unknown replay leaves the row as the platform last
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

from intel import audit
from intel.replay import states as S
from intel.replay.sender import REFUSED as OUT_REFUSED
from intel.replay.sender import SUCCEEDED as OUT_SUCCEEDED
from intel.replay.sender import UNKNOWN as OUT_UNKNOWN
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
    "outcome unknown: the runner stopped while this replay was in flight; the receiver may "
    "or may not have it, so it is not sent again automatically (at most once). Check with "
    "the receiver; an operator may resend it (same webhook-id)."
)
UNKNOWN_SUFFIX = (
    "; the receiver may have it, so it is not sent again automatically (at most once). "
    "Check with the receiver; an operator may resend it (same webhook-id)."
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
    blocked_by: str | None = None


NOT_MINE = None  # the item is no longer pending in this job (another runner took it)


def claim_reason(claim_job: str, claim_state: str) -> str:
    if claim_state == S.CLAIM_SUCCEEDED:
        return f"already replayed successfully (job {claim_job})"
    if claim_state == S.CLAIM_UNKNOWN:
        return (
            f"outcome unknown: an earlier replay (job {claim_job}) may have reached the "
            "receiver; check with the receiver. Not sent again automatically; an operator "
            "may resend it (same webhook-id)"
        )
    return f"in another job ({claim_job})"


def take_claims(conn: Connection, job_id: str, delivery_ids: Sequence[str],
                now: datetime) -> int:
    """At job creation: claim (``queued``) every delivery of ``delivery_ids`` that no
    job holds yet. Returns how many were taken; the others stay with their holder.
    (In delivery id order, as every claim write: concurrent jobs lock rows in one order.)"""
    ids = sorted(set(delivery_ids))
    taken = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        free = set(chunk) - set(
            conn.execute(
                select(replay_claims.c.delivery_id).where(replay_claims.c.delivery_id.in_(chunk))
            ).scalars()
        )
        if not free:
            continue
        rows = conn.execute(
            _insert(conn)(replay_claims)
            .values([{"delivery_id": d, "job_id": job_id, "state": S.CLAIM_QUEUED,
                      "claimed_at": now} for d in sorted(free)])
            .on_conflict_do_nothing(index_elements=[replay_claims.c.delivery_id])
            .returning(replay_claims.c.delivery_id)
        ).all()
        taken += len(rows)
    return taken


def skip_held_elsewhere(conn: Connection, job_id: str, delivery_ids: Sequence[str],
                        now: datetime) -> int:
    """At job creation, after ``take_claims``: the items whose delivery another
    unfinished job holds are skipped now, "in another job" with its id (decided once:
    when that job is done with it, this one does not send it after all)."""
    ids, done = sorted(set(delivery_ids)), 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        holders: dict[str, list[str]] = {}
        for did, holder in conn.execute(
            select(replay_claims.c.delivery_id, replay_claims.c.job_id).where(
                replay_claims.c.delivery_id.in_(chunk),
                replay_claims.c.state.in_(S.CLAIM_HELD),
                replay_claims.c.job_id != job_id,
            )
        ):
            holders.setdefault(holder, []).append(did)
        for holder, dids in sorted(holders.items()):
            done += conn.execute(
                update(replay_items)
                .where(replay_items.c.job_id == job_id,
                       replay_items.c.delivery_id.in_(dids),
                       replay_items.c.state == S.PENDING)
                .values(state=S.SKIPPED, reason=claim_reason(holder, S.CLAIM_QUEUED),
                        blocked_by=holder, updated_at=now)
            ).rowcount
    return done


def replay_mark(conn: Connection) -> int:
    """The highest ``delivery_attempts.id`` now: a replay attempt with a higher id
    happened after this moment (see ``skip_replayed_since``)."""
    return int(conn.execute(select(func.max(delivery_attempts.c.id))).scalar() or 0)


def skip_replayed_since(conn: Connection, job_id: str, delivery_ids: Sequence[str],
                        mark: int, now: datetime) -> int:
    """At the creation of a job over a recommendation computed at ``mark``
    (``replay_mark``): skip (and release) the items whose delivery was replayed since, by
    a job that held it then; the recommendation was stale for them. (Its claim moved
    with the attempt in one transaction, so an item this job holds cannot have one.)"""
    ids, done = sorted(set(delivery_ids)), 0
    a = delivery_attempts.c
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        since = dict(conn.execute(
            select(a.delivery_id, func.max(a.job_id))
            .where(a.delivery_id.in_(chunk), a.kind == "replay", a.id > mark)
            .group_by(a.delivery_id)
        ).all())
        if not since:
            continue
        for did, other in sorted(since.items()):
            done += conn.execute(
                update(replay_items)
                .where(replay_items.c.job_id == job_id, replay_items.c.delivery_id == did,
                       replay_items.c.state == S.PENDING)
                .values(state=S.SKIPPED,
                        reason=f"in another job ({other}): it replayed the delivery after "
                        "the recommendation was made",
                        blocked_by=other if other != job_id else None, updated_at=now)
            ).rowcount
        release_queued(conn, job_id, list(since))
    return done


def release_queued(conn: Connection, job_id: str,
                   delivery_ids: Sequence[str] | None = None) -> int:
    """Release this job's ``queued`` claims (items it never sent): all of them, or those
    of ``delivery_ids``."""
    where = [replay_claims.c.job_id == job_id, replay_claims.c.state == S.CLAIM_QUEUED]
    if delivery_ids is None:
        return conn.execute(replay_claims.delete().where(*where)).rowcount
    ids, done = list(delivery_ids), 0
    for start in range(0, len(ids), 500):
        done += conn.execute(
            replay_claims.delete().where(
                *where, replay_claims.c.delivery_id.in_(ids[start : start + 500]))
        ).rowcount
    return done


def _take_for_send(conn: Connection, job_id: str, delivery_id: str, now: datetime,
                   resend_unknown: bool, operator: str | None):
    """The claim for sending: this job's queued claim, or a free one, or (a deliberate
    resend) an unknown one. (True, None) when taken, else (False, existing claim row)."""
    claims = replay_claims
    mine = conn.execute(
        update(claims)
        .where(claims.c.delivery_id == delivery_id, claims.c.job_id == job_id,
               claims.c.state == S.CLAIM_QUEUED)
        .values(state=S.CLAIM_SENDING, claimed_at=now)
    )
    if mine.rowcount == 1:
        return True, None
    inserted = conn.execute(
        _insert(conn)(claims)
        .values(delivery_id=delivery_id, job_id=job_id, state=S.CLAIM_SENDING, claimed_at=now)
        .on_conflict_do_nothing(index_elements=[claims.c.delivery_id])
        .returning(claims.c.delivery_id)
    ).first()
    if inserted is not None:
        return True, None
    claim = conn.execute(
        select(claims.c.job_id, claims.c.state).where(claims.c.delivery_id == delivery_id)
    ).one_or_none()
    if claim is None:  # released between the two statements: try once more
        inserted = conn.execute(
            _insert(conn)(claims)
            .values(delivery_id=delivery_id, job_id=job_id, state=S.CLAIM_SENDING,
                    claimed_at=now)
            .on_conflict_do_nothing(index_elements=[claims.c.delivery_id])
            .returning(claims.c.delivery_id)
        ).first()
        return (True, None) if inserted is not None else (False, None)
    if resend_unknown and claim.state == S.CLAIM_UNKNOWN and claim.job_id != job_id:
        taken = conn.execute(
            update(claims)
            .where(claims.c.delivery_id == delivery_id, claims.c.job_id == claim.job_id,
                   claims.c.state == S.CLAIM_UNKNOWN)
            .values(job_id=job_id, state=S.CLAIM_SENDING, claimed_at=now)
        )
        if taken.rowcount == 1:
            audit.record(
                conn,
                actor=operator or audit.SYSTEM,
                action="replay.unknown.resend",
                at=now,
                target_type="delivery",
                target_id=delivery_id,
                summary=f"deliberate resend of {delivery_id}, whose replay in job "
                f"{claim.job_id} had an unknown outcome (same webhook-id), by job {job_id}",
                details={"job_id": job_id, "previous_job_id": claim.job_id},
                tenant=conn.execute(
                    select(deliveries.c.tenant).where(deliveries.c.id == delivery_id)
                ).scalar(),
            )
            return True, None
    return False, claim


def claim_item(conn: Connection, job_id: str, delivery_id: str, now: datetime, *,
               runner_id: str | None = None, resend_unknown: bool = False,
               operator: str | None = None):
    """Mark the item ``sending`` and claim its delivery; ``Claimed``, ``Skipped`` or
    ``NOT_MINE``. With ``runner_id``, only while that runner still owns the job (a
    runner paused past its heartbeat and taken over claims nothing more)."""
    items = replay_items
    where = [items.c.job_id == job_id, items.c.delivery_id == delivery_id,
             items.c.state == S.PENDING]
    if runner_id is not None:
        where.append(
            select(replay_jobs.c.id)
            .where(replay_jobs.c.id == job_id, replay_jobs.c.runner_id == runner_id,
                   replay_jobs.c.status == S.JOB_RUNNING)
            .exists()
        )
    taken = conn.execute(update(items).where(*where).values(state=S.SENDING, updated_at=now))
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
    reason, blocked_by = None, None
    if row.status is None:
        reason = "the delivery no longer exists"
    elif row.status == "delivered":
        reason = "already delivered"
    elif row.disabled:
        reason = "the endpoint is disabled (endpoints.disabled)"
    if reason is None:
        ok, claim = _take_for_send(conn, job_id, delivery_id, now, resend_unknown, operator)
        if not ok:
            if claim is None:
                reason = "claimed by another job"
            else:
                reason = claim_reason(claim.job_id, claim.state)
                if claim.state in S.CLAIM_HELD:
                    blocked_by = claim.job_id
    if reason is not None:
        release_queued(conn, job_id, [delivery_id])
        conn.execute(
            update(items)
            .where(items.c.job_id == job_id, items.c.delivery_id == delivery_id)
            .values(state=S.SKIPPED, reason=reason, blocked_by=blocked_by, updated_at=now)
        )
        return Skipped(reason, blocked_by)
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
    if result.outcome == OUT_UNKNOWN:
        return S.ATTEMPT_UNKNOWN
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
    if result.outcome == OUT_UNKNOWN:
        return f"outcome unknown: {result.error or 'no answer'}{UNKNOWN_SUFFIX}"
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
    """Record the outcome of a send: attempt, item, claim and (on success) the delivery.

    The claim: kept for good on a success, kept as ``unknown`` on an unknown outcome,
    released on a failure or refusal (provably not received). Only this job's claim is
    touched (an operator's resend may have taken over an interrupted item's claim)."""
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
    elif result.outcome == OUT_UNKNOWN:
        state = S.UNKNOWN
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
    elif state == S.UNKNOWN:
        conn.execute(update(replay_claims).where(claim).values(state=S.CLAIM_UNKNOWN))
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
    """A 429: record the attempt, put the item back to ``pending``; the job keeps the
    delivery (its claim goes back to ``queued``): it sends it again after the pause."""
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
        update(replay_claims)
        .where(replay_claims.c.delivery_id == delivery_id, replay_claims.c.job_id == job_id,
               replay_claims.c.state == S.CLAIM_SENDING)
        .values(state=S.CLAIM_QUEUED)
    )


def skip_pending(
    conn: Connection, job_id: str, delivery_ids: Sequence[str], reason: str, now: datetime
) -> int:
    """Mark still-pending items skipped (circuit breaker, endpoint gave up) and release
    their claims (never sent)."""
    done = 0
    ids = list(delivery_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        done += conn.execute(
            update(replay_items)
            .where(
                replay_items.c.job_id == job_id,
                replay_items.c.delivery_id.in_(chunk),
                replay_items.c.state == S.PENDING,
            )
            .values(state=S.SKIPPED, reason=reason, updated_at=now)
        ).rowcount
    release_queued(conn, job_id, ids)
    return done


def recover_interrupted(conn: Connection, job_id: str, *, operator: str, now: datetime) -> int:
    """Items left ``sending`` by a dead (or stalled) runner become ``interrupted``, an
    unknown outcome: their claims become ``unknown`` and they are never sent again
    automatically."""
    # In delivery id order, item then claim, as finish_item: a runner finishing these
    # same items meanwhile (one paused and resumed) locks rows in the same order.
    stuck = conn.execute(
        select(replay_items.c.delivery_id).where(
            replay_items.c.job_id == job_id, replay_items.c.state == S.SENDING
        ).order_by(replay_items.c.delivery_id)
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
        conn.execute(
            update(replay_claims)
            .where(replay_claims.c.delivery_id == delivery_id,
                   replay_claims.c.job_id == job_id, replay_claims.c.state == S.CLAIM_SENDING)
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

    ``attempted``: items a request went out for (succeeded + failed + unknown +
    interrupted); ``unknown``: the request may have been received (a timeout after it was
    sent, a dropped connection); ``interrupted``: in flight when a runner died (also an
    unknown outcome); ``outcome_unknown``: the two together; ``skipped``: not sent
    because of the delivery's state, a claim (another job, already replayed, unknown
    outcome) or a circuit breaker; ``refused``: blocked by outbound safety or a missing
    payload; ``cancelled``: not sent because the job was cancelled.
    """
    return {
        "total": sum(counts.values()),
        "attempted": counts[S.SUCCEEDED] + counts[S.FAILED] + counts[S.UNKNOWN]
        + counts[S.INTERRUPTED],
        "succeeded": counts[S.SUCCEEDED],
        "failed": counts[S.FAILED],
        "unknown": counts[S.UNKNOWN],
        "skipped": counts[S.SKIPPED],
        "refused": counts[S.REFUSED],
        "cancelled": counts[S.CANCELLED],
        "interrupted": counts[S.INTERRUPTED],
        "outcome_unknown": counts[S.UNKNOWN] + counts[S.INTERRUPTED],
        "pending": counts[S.PENDING] + counts[S.SENDING],
    }


def in_other_jobs(conn: Connection, job_id: str) -> dict[str, int]:
    """Items skipped because another job held the delivery: that job's id -> count."""
    rows = conn.execute(
        select(replay_items.c.blocked_by, func.count())
        .where(replay_items.c.job_id == job_id, replay_items.c.state == S.SKIPPED,
               replay_items.c.blocked_by.is_not(None))
        .group_by(replay_items.c.blocked_by)
        .order_by(replay_items.c.blocked_by)
    ).all()
    return {other: int(n) for other, n in rows}


def finalize_job(
    conn: Connection, job_id: str, status: str, now: datetime, notes: dict | None = None
) -> dict:
    """Close the job: cancel what is still pending if cancelled, release the claims of
    what it never sent (a failed job's pending items are claimed again when it is
    resumed); store the summary."""
    if status == S.JOB_CANCELLED:
        conn.execute(
            update(replay_items)
            .where(replay_items.c.job_id == job_id, replay_items.c.state == S.PENDING)
            .values(state=S.CANCELLED, reason="the job was cancelled", updated_at=now)
        )
    release_queued(conn, job_id)
    counts = summary_counts(state_counts(conn, job_id))
    summary = {**counts, "in_other_jobs": in_other_jobs(conn, job_id), **(notes or {})}
    conn.execute(
        update(replay_jobs)
        .where(replay_jobs.c.id == job_id)
        .values(status=status, finished_at=now, summary=summary)
    )
    return summary
