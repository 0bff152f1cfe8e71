"""Replay jobs: created with their list and a preview, cancelled, resumed, queried.

A job is persisted before anything is sent: ``create_job`` writes the job (status
``pending``), one ``replay_items`` row per delivery in order, the preview (count,
endpoints, tenants, filters), the claims of the deliveries no other job holds (the job
keeps them until it finishes: every other job skips them, see ``intel.replay.states``)
and the ``replay.job.create`` audit event, in one transaction. A runner
(``intel.replay.runner``) then takes it. Progress is read from the items
(``job_progress``); ``job_summary`` is the CONTRACTS §4 JSON.

``create_recommended_job`` is the one way to "replay the recommendation" (the app, the
API and the CLI call it): it asks the advisor now and creates the job with the same
provenance everywhere (source ``advisor``, the advice's window and confidence, where it
was launched from).

Tenant scope (CONTRACTS §6). A tenant-scoped identity sees a job only when *every* item's
delivery is of one of its tenants (a job that touched another tenant's delivery, or one
whose delivery is gone, would reveal it): ``get_job``, ``job_progress``, ``job_summary``,
``list_jobs`` and ``request_cancel`` treat any other job as unknown. ``preview_replay``
and ``create_job`` treat ids outside the scope exactly as unknown ids. The audit events
of a job carry its tenant when all its deliveries are of one tenant (``job_tenant``).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, Engine, and_, case, func, or_, select, update

from intel import audit
from intel.auth.scope import ALL, TenantScope
from intel.replay import items as I
from intel.replay import states as S
from intel.store.schema import deliveries, replay_claims, replay_items, replay_jobs
from intel.timeutil import to_rfc3339

AUDIT_ID_LIMIT = 1000  # delivery ids listed in an audit event (the job's items hold all)


class JobError(ValueError):
    """Bad input to a job operation; the message says what and which."""


class UnknownJob(JobError):
    """No such job, or one the caller's tenant scope may not see (the same answer)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        super().__init__(f"unknown replay job {job_id!r}")


class UnknownDeliveries(JobError):
    def __init__(self, ids: Sequence[str]):
        self.ids = list(ids)
        shown = ", ".join(self.ids[:10]) + (" ..." if len(self.ids) > 10 else "")
        super().__init__(f"{len(self.ids)} unknown delivery id(s): {shown}")


def new_job_id(now: datetime) -> str:
    return f"rj-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in ids:
        text = str(raw).strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


@dataclass
class Preview:
    """What a job would do, shown before it starts (and stored on the job)."""

    count: int = 0
    endpoints: list[dict] = field(default_factory=list)  # endpoint, tenant, count (desc)
    tenants: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    already_delivered: int = 0
    without_payload: int = 0
    already_replayed: int = 0
    claimed_elsewhere: int = 0  # in another unfinished job (skipped: "in another job")
    outcome_unknown: int = 0  # an earlier replay's outcome is unknown
    other_jobs: list[str] = field(default_factory=list)  # the jobs holding them (first 20)
    resend_unknown: bool = False  # the operator resends the unknown ones deliberately
    filters: dict = field(default_factory=dict)

    @property
    def to_send(self) -> int:
        """Items expected to go out (the rest will be skipped or refused)."""
        held_unknown = 0 if self.resend_unknown else self.outcome_unknown
        return max(
            0,
            self.count - self.already_delivered - self.without_payload - self.already_replayed
            - self.claimed_elsewhere - held_unknown,
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["to_send"] = self.to_send
        data["unknown_ids"] = self.unknown_ids[:100]
        return data


def _preview_rows(conn: Connection, ids: list[str], scope: TenantScope = ALL) -> list:
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows.extend(
            conn.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.tenant,
                    deliveries.c.endpoint,
                    deliveries.c.status,
                    I.payload_missing().label("no_payload"),
                    replay_claims.c.state.label("claim"),
                    replay_claims.c.job_id.label("claim_job"),
                )
                .select_from(
                    deliveries.outerjoin(
                        replay_claims, replay_claims.c.delivery_id == deliveries.c.id
                    )
                )
                .where(deliveries.c.id.in_(chunk), *scope.where(deliveries.c.tenant))
            ).all()
        )
    return rows


def _build_preview(rows, ids: list[str], filters: dict | None,
                   resend_unknown: bool = False) -> Preview:
    found = {r.id for r in rows}
    per_endpoint: Counter = Counter()
    tenants: set[str] = set()
    others: dict[str, None] = {}
    preview = Preview(filters=dict(filters or {}), resend_unknown=resend_unknown)
    for r in rows:
        per_endpoint[(r.endpoint, r.tenant)] += 1
        tenants.add(r.tenant)
        if r.status == "delivered":
            preview.already_delivered += 1
        elif r.claim == S.CLAIM_SUCCEEDED:
            preview.already_replayed += 1
        elif r.claim == S.CLAIM_UNKNOWN:
            preview.outcome_unknown += 1
        elif r.claim is not None:
            preview.claimed_elsewhere += 1
            others.setdefault(r.claim_job, None)
        elif r.no_payload:
            preview.without_payload += 1
    preview.other_jobs = sorted(others)[:20]
    preview.count = len(rows)
    preview.unknown_ids = [i for i in ids if i not in found]
    preview.endpoints = [
        {"endpoint": ep, "tenant": tenant, "count": n}
        for (ep, tenant), n in sorted(per_endpoint.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    preview.tenants = sorted(tenants)
    return preview


def preview_replay(engine: Engine, delivery_ids: Iterable[str], filters: dict | None = None,
                   *, scope: TenantScope = ALL, resend_unknown: bool = False) -> Preview:
    """The preview of replaying ``delivery_ids`` (nothing is written); ids outside
    ``scope`` are unknown ids."""
    ids = _unique(delivery_ids)
    with engine.connect() as conn:
        return _build_preview(_preview_rows(conn, ids, scope), ids, filters, resend_unknown)


def create_job(
    engine: Engine,
    delivery_ids: Iterable[str],
    *,
    operator: str,
    source: str,
    now: datetime,
    filters: dict | None = None,
    record_audit: bool = True,
    scope: TenantScope = ALL,
    resend_unknown: bool = False,
    recommended_at_mark: int | None = None,
) -> tuple[str, Preview]:
    """Persist a job over ``delivery_ids`` (in that order) and claim its deliveries that
    no other job holds. Nothing is sent yet.

    ``resend_unknown``: an operator's deliberate resend: deliveries whose earlier replay
    had an unknown outcome are sent again (same ``webhook-id``); without it they are
    skipped. ``recommended_at_mark``: the ids are a recommendation computed at this
    ``items.replay_mark``; deliveries replayed since are skipped (the advice was stale
    for them: a job held them meanwhile). Raises ``UnknownDeliveries`` (nothing
    written) when an id is not in the store or its tenant is outside ``scope`` (the same
    error, so it does not reveal which), and ``JobError`` for an empty list, a missing
    operator or an unknown source.
    """
    if not operator or not operator.strip():
        raise JobError("an operator name is required to create a replay job")
    if source not in S.SOURCES:
        raise JobError(f"unknown job source {source!r} (one of {', '.join(S.SOURCES)})")
    ids = _unique(delivery_ids)
    if not ids:
        raise JobError("no deliveries to replay")
    job_id = new_job_id(now)
    with engine.begin() as conn:
        rows = _preview_rows(conn, ids, scope)
        preview = _build_preview(rows, ids, filters, resend_unknown)
        if preview.unknown_ids:
            raise UnknownDeliveries(preview.unknown_ids)
        endpoint_of = {r.id: r.endpoint for r in rows}
        conn.execute(
            replay_jobs.insert().values(
                id=job_id,
                created_by=operator.strip(),
                created_at=now,
                source=source,
                status=S.JOB_PENDING,
                total=len(ids),
                preview=preview.to_dict(),
                cancel_requested=False,
                resend_unknown=bool(resend_unknown),
            )
        )
        conn.execute(
            replay_items.insert(),
            [
                {
                    "job_id": job_id,
                    "delivery_id": did,
                    "position": pos,
                    "endpoint": endpoint_of[did],
                    "state": S.PENDING,
                    "updated_at": now,
                }
                for pos, did in enumerate(ids)
            ],
        )
        I.take_claims(conn, job_id, ids, now)
        I.skip_held_elsewhere(conn, job_id, ids, now)
        if recommended_at_mark is not None:
            I.skip_replayed_since(conn, job_id, ids, recommended_at_mark, now)
        if record_audit:
            audit.record(
                conn,
                actor=operator,
                action="replay.job.create",
                at=now,
                target_type="replay_job",
                target_id=job_id,
                summary=f"replay job of {len(ids)} deliveries to {len(preview.endpoints)} "
                f"endpoint(s) created ({source})"
                + (", resending unknown outcomes" if resend_unknown else ""),
                details={
                    "source": source,
                    "resend_unknown": bool(resend_unknown),
                    "in_other_jobs": preview.claimed_elsewhere,
                    "outcome_unknown": preview.outcome_unknown,
                    "count": len(ids),
                    "endpoints": len(preview.endpoints),
                    "tenants": preview.tenants[:50],
                    "filters": preview.filters,
                    "delivery_ids": ids[:AUDIT_ID_LIMIT],
                    "delivery_ids_truncated": len(ids) > AUDIT_ID_LIMIT,
                },
                tenant=preview.tenants[0] if len(preview.tenants) == 1 else None,
            )
    return job_id, preview


@dataclass(frozen=True)
class RecommendedJob:
    """What ``create_recommended_job`` did: ``job_id`` None when nothing is recommended
    (``advice["reasoning"]`` says why)."""

    job_id: str | None
    preview: Preview | None
    advice: dict

    @property
    def created(self) -> bool:
        return self.job_id is not None


LAUNCHED_FROM = ("app", "api", "cli")


def create_recommended_job(
    engine: Engine,
    *,
    operator: str,
    now: datetime,
    launched_from: str,
    scope: TenantScope = ALL,
    tenant: str | None = None,
    since: datetime | str | None = None,
    settings=None,
) -> RecommendedJob:
    """"Replay the recommendation": ask the advisor now (``tenant``, ``since`` within
    ``scope``, at ``now``) and persist a job over its ``recommended_ids``, source
    ``advisor``. The one way the app, the API and the CLI do it, so the job records the
    same provenance everywhere: filters ``tenant``, ``since``, ``until``,
    ``confidence``, ``recommended`` (the count) and ``launched_from`` (app | api | cli).

    The advice is computed here, not passed in: deliveries another unfinished job holds
    are "in progress" for the advisor and are not in it (a second "replay the
    recommendation" while a job runs gets only what is not in that job); one that still
    slips in between (a job created meanwhile) is skipped "in another job" by the
    runner. Nothing is sent here: start a runner (``run_job`` or
    ``intel.replay.background.launch``) when ``job_id`` is set.

    Raises ``ValueError`` for a ``since`` the advisor cannot read, ``JobError`` for a
    missing operator or an unknown ``launched_from``.
    """
    from intel.advisor import get_replay_recommendations
    from intel.settings.replay import ReplaySettings

    if not operator or not operator.strip():
        raise JobError("an operator name is required to create a replay job")
    if launched_from not in LAUNCHED_FROM:
        raise JobError(f"unknown launched_from {launched_from!r} "
                       f"(one of {', '.join(LAUNCHED_FROM)})")
    with engine.connect() as conn:
        mark = I.replay_mark(conn)  # before the advice: what is replayed after it is stale
    advice = get_replay_recommendations(
        engine, tenant, since, now=now, settings=settings or ReplaySettings(), scope=scope,
    )
    ids = advice["recommended_ids"]
    if not ids:
        return RecommendedJob(None, None, advice)
    filters = {
        "tenant": advice["tenant"],
        "since": advice["since"],
        "until": advice["until"],
        "confidence": advice["confidence"],
        "recommended": len(ids),
        "launched_from": launched_from,
    }
    job_id, preview = create_job(engine, ids, operator=operator, source="advisor", now=now,
                                 filters=filters, scope=scope, recommended_at_mark=mark)
    return RecommendedJob(job_id, preview, advice)


def visible(scope: TenantScope):
    """The WHERE clauses over ``replay_jobs`` of the jobs ``scope`` may see: every item's
    delivery exists and is of one of its tenants (none when unrestricted)."""
    if scope.unrestricted:
        return []
    outside = (
        select(replay_items.c.delivery_id)
        .select_from(
            replay_items.outerjoin(deliveries, deliveries.c.id == replay_items.c.delivery_id)
        )
        .where(
            replay_items.c.job_id == replay_jobs.c.id,
            or_(deliveries.c.tenant.is_(None), ~and_(*scope.where(deliveries.c.tenant))),
        )
    )
    return [~outside.exists()]


def _job_row(conn: Connection, job_id: str, scope: TenantScope) -> dict | None:
    row = conn.execute(
        select(replay_jobs).where(replay_jobs.c.id == job_id, *visible(scope))
    ).mappings().one_or_none()
    return dict(row) if row else None


def get_job(engine: Engine, job_id: str, *, scope: TenantScope = ALL) -> dict | None:
    """One job's row; None when unknown or not visible to ``scope``."""
    with engine.connect() as conn:
        return _job_row(conn, job_id, scope)


def job_tenant(conn: Connection, job_id: str) -> str | None:
    """The tenant of every delivery of the job; None when several (or none)."""
    low, high = conn.execute(
        select(func.min(deliveries.c.tenant), func.max(deliveries.c.tenant))
        .select_from(replay_items.join(deliveries, deliveries.c.id == replay_items.c.delivery_id))
        .where(replay_items.c.job_id == job_id)
    ).one()
    return low if low is not None and low == high else None


def is_stale(job: dict, now: datetime, stale_after_s: float) -> bool:
    """A running job whose runner has not beaten within ``stale_after_s``."""
    if job["status"] != S.JOB_RUNNING:
        return False
    beat = job.get("runner_heartbeat_at")
    return beat is None or beat < now - timedelta(seconds=stale_after_s)


def request_cancel(
    engine: Engine, job_id: str, *, operator: str, now: datetime, stale_after_s: float = 30.0,
    scope: TenantScope = ALL,
) -> dict:
    """Cancel a job: pending items are not sent; items in flight finish.

    A job nobody runs (pending, failed, or running with a stale runner) is closed here;
    a live runner sees the request at its next heartbeat and closes the job itself.
    Returns the job row after the request. Raises ``UnknownJob`` for an unknown job (or
    one ``scope`` may not see) and ``JobError`` for an already finished one.
    """
    if not operator or not operator.strip():
        raise JobError("an operator name is required to cancel a replay job")
    with engine.begin() as conn:
        job = _job_row(conn, job_id, scope)
        if job is None:
            raise UnknownJob(job_id)
        if job["status"] in (S.JOB_COMPLETED, S.JOB_CANCELLED):
            raise JobError(f"replay job {job_id} is already {job['status']}")
        conn.execute(
            update(replay_jobs).where(replay_jobs.c.id == job_id).values(cancel_requested=True)
        )
        closed_here = job["status"] in (S.JOB_PENDING, S.JOB_FAILED) or is_stale(
            job, now, stale_after_s
        )
        counts = None
        if closed_here:
            I.recover_interrupted(conn, job_id, operator=operator, now=now)
            counts = I.finalize_job(conn, job_id, S.JOB_CANCELLED, now)
        audit.record(
            conn,
            actor=operator,
            action="replay.job.cancel",
            at=now,
            target_type="replay_job",
            target_id=job_id,
            summary=f"replay job {job_id} cancelled"
            + ("" if closed_here else " (the runner stops after the items in flight)"),
            details={"previous_status": job["status"], "closed_immediately": closed_here,
                     "counts": counts},
            tenant=job_tenant(conn, job_id),
        )
    return get_job(engine, job_id)


def job_progress(engine: Engine, job_id: str, now: datetime | None = None,
                 stale_after_s: float = 30.0, *, scope: TenantScope = ALL) -> dict | None:
    """Counts by state, done/total, and what stopped or paused endpoints (for the UI).
    None when the job is unknown or not visible to ``scope``."""
    with engine.connect() as conn:
        job = _job_row(conn, job_id, scope)
        if job is None:
            return None
        counts = I.state_counts(conn, job_id)
        others = I.in_other_jobs(conn, job_id)
        notes = conn.execute(
            select(replay_items.c.endpoint, replay_items.c.state, replay_items.c.reason,
                   func.count().label("n"))
            .where(
                replay_items.c.job_id == job_id,
                replay_items.c.state.in_((S.SKIPPED, S.REFUSED, S.UNKNOWN, S.INTERRUPTED)),
            )
            .group_by(replay_items.c.endpoint, replay_items.c.state, replay_items.c.reason)
            .order_by(func.count().desc())
            .limit(20)
        ).all()
    done = sum(counts[s] for s in S.TERMINAL)
    summary = I.summary_counts(counts)
    live = (job.get("summary") or {}).get("endpoints") or []
    return {
        "job_id": job_id,
        "status": job["status"],
        "source": job["source"],
        "created_by": job["created_by"],
        "created_at": to_rfc3339(job["created_at"]),
        "started_at": to_rfc3339(job["started_at"]),
        "finished_at": to_rfc3339(job["finished_at"]),
        "cancel_requested": bool(job["cancel_requested"]),
        "runner_id": job["runner_id"],
        "runner_heartbeat_at": to_rfc3339(job["runner_heartbeat_at"]),
        "stale": bool(now and is_stale(job, now, stale_after_s)),
        "total": job["total"],
        "done": done,
        "fraction": (done / job["total"]) if job["total"] else 1.0,
        "counts": counts,
        **{k: v for k, v in summary.items() if k != "total"},
        "in_other_jobs": others,
        "resend_unknown": bool(job.get("resend_unknown")),
        "notes": [
            {"endpoint": ep, "state": st, "reason": reason, "count": int(n)}
            for ep, st, reason, n in notes
        ],
        "endpoints": live,
        "preview": job["preview"],
    }


def job_summary(engine: Engine, job_id: str, *, include_items: bool = True,
                scope: TenantScope = ALL) -> dict | None:
    """The CONTRACTS §4 summary: job_id, attempted, succeeded, failed, skipped, deliveries.
    None when the job is unknown or not visible to ``scope``."""
    progress = job_progress(engine, job_id, scope=scope)
    if progress is None:
        return None
    out = {
        "job_id": job_id,
        "status": progress["status"],
        "attempted": progress["attempted"],
        "succeeded": progress["succeeded"],
        "failed": progress["failed"],
        "unknown": progress["unknown"],
        "skipped": progress["skipped"],
        "refused": progress["refused"],
        "cancelled": progress["cancelled"],
        "interrupted": progress["interrupted"],
        "outcome_unknown": progress["outcome_unknown"],
        "in_other_jobs": progress["in_other_jobs"],
        "pending": progress["pending"],
        "total": progress["total"],
        "endpoints": progress["endpoints"],
    }
    if include_items:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    replay_items.c.delivery_id,
                    replay_items.c.endpoint,
                    replay_items.c.state,
                    replay_items.c.http_status,
                    replay_items.c.reason,
                    replay_items.c.blocked_by,
                )
                .where(replay_items.c.job_id == job_id)
                .order_by(replay_items.c.position)
            ).all()
        # "outcome": the item's state (succeeded, failed, unknown, skipped, refused,
        # cancelled, interrupted); "in_job": the job that held a delivery skipped for it.
        out["deliveries"] = [
            {"id": r.delivery_id, "endpoint": r.endpoint, "outcome": r.state,
             "http_status": r.http_status, "reason": r.reason,
             **({"in_job": r.blocked_by} if r.blocked_by else {})}
            for r in rows
        ]
    return out


def list_jobs(engine: Engine, *, limit: int = 20, status: str | None = None,
              scope: TenantScope = ALL) -> list[dict]:
    """The latest jobs (visible to ``scope``), newest first."""
    query = (
        select(replay_jobs).where(*visible(scope))
        .order_by(replay_jobs.c.created_at.desc()).limit(limit)
    )
    if status:
        query = query.where(replay_jobs.c.status == status)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def stale_job_ids(engine: Engine, now: datetime, stale_after_s: float) -> list[str]:
    """Jobs nobody runs: running with a stale heartbeat (the runner died), or pending for
    longer than ``stale_after_s`` (the process meant to start it never did)."""
    cutoff = now - timedelta(seconds=stale_after_s)
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(replay_jobs.c.id)
                .where(
                    or_(
                        and_(
                            replay_jobs.c.status == S.JOB_RUNNING,
                            or_(
                                replay_jobs.c.runner_heartbeat_at.is_(None),
                                replay_jobs.c.runner_heartbeat_at < cutoff,
                            ),
                        ),
                        and_(replay_jobs.c.status == S.JOB_PENDING,
                             replay_jobs.c.created_at < cutoff),
                    ),
                )
                .order_by(replay_jobs.c.created_at)
            ).scalars()
        )


class ReplayActivity(NamedTuple):
    """``activity_token``: ``jobs`` changes whenever a replay job is created, starts,
    finishes or is cancelled; ``unknown`` whenever an outcome becomes (or stops being)
    unknown; ``progress`` whenever an item of an unfinished job ends. Hashable: a cache
    key."""

    jobs: str
    unknown: str
    progress: str = ""


def activity_token(engine: Engine) -> ReplayActivity:
    """What the advisor's answer depends on in the replay tables, as a cache key: it
    changes when a job is created, starts, finishes or is cancelled (its deliveries
    become "in progress", then replayed or free again), when an item of an unfinished
    job ends (a delivery leaves "in progress") and when an outcome becomes or stops
    being unknown. Cheap to read (a few indexed aggregates). Not scoped: it is never
    shown, only compared."""
    jobs = replay_jobs.c
    with engine.connect() as conn:
        by_status = conn.execute(
            select(jobs.status, func.count(), func.max(jobs.created_at),
                   func.max(jobs.finished_at))
            .group_by(jobs.status)
            .order_by(jobs.status)
        ).all()
        live = conn.execute(
            select(jobs.id, jobs.status, jobs.cancel_requested)
            .where(jobs.status.in_(S.JOB_LIVE))
            .order_by(jobs.id)
            .limit(50)
        ).all()
        done = dict(conn.execute(
            select(replay_items.c.job_id, func.count())
            .where(replay_items.c.job_id.in_([i for i, _st, _c in live]),
                   replay_items.c.state.in_(S.TERMINAL))
            .group_by(replay_items.c.job_id)
        ).all()) if live else {}
        unknown = conn.execute(
            select(func.count(), func.max(replay_claims.c.claimed_at))
            .where(replay_claims.c.state == S.CLAIM_UNKNOWN)
        ).one()
    parts = [f"{st}:{n}:{to_rfc3339(c)}:{to_rfc3339(f)}" for st, n, c, f in by_status]
    parts += [f"{i}:{st}:{int(bool(cancel))}" for i, st, cancel in live]
    progress = "|".join(f"{i}:{int(done.get(i, 0))}" for i, _st, _c in live)
    return ReplayActivity("|".join(parts), f"{unknown[0]}:{to_rfc3339(unknown[1])}",
                          progress)


def live_jobs(engine: Engine, *, scope: TenantScope = ALL, limit: int = 20) -> list[dict]:
    """Unfinished jobs (pending or running) ``scope`` may see, oldest first, with their
    done/total counts (for the advisor panel)."""
    items = replay_items.c
    done = func.sum(case((items.state.in_(S.TERMINAL), 1), else_=0))
    with engine.connect() as conn:
        rows = conn.execute(
            select(replay_jobs.c.id, replay_jobs.c.status, replay_jobs.c.source,
                   replay_jobs.c.created_by, replay_jobs.c.created_at, replay_jobs.c.total,
                   select(done).where(items.job_id == replay_jobs.c.id)
                   .scalar_subquery().label("done"))
            .where(replay_jobs.c.status.in_(S.JOB_LIVE), *visible(scope))
            .order_by(replay_jobs.c.created_at, replay_jobs.c.id)
            .limit(limit)
        ).mappings().all()
    return [dict(r, done=int(r["done"] or 0)) for r in rows]


def _claim_where(delivery_id: str, scope: TenantScope) -> list:
    clauses = [replay_claims.c.delivery_id == delivery_id]
    if not scope.unrestricted:
        clauses.append(
            select(deliveries.c.id)
            .where(deliveries.c.id == delivery_id, *scope.where(deliveries.c.tenant))
            .exists()
        )
    return clauses


def claim_of(engine: Engine, delivery_id: str, *, scope: TenantScope = ALL) -> dict | None:
    """The replay claim of a delivery; None when there is none or the delivery is outside
    ``scope``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(replay_claims).where(*_claim_where(delivery_id, scope))
        ).mappings().one_or_none()
        return dict(row) if row else None


def release_claim(engine: Engine, delivery_id: str, *, operator: str, now: datetime,
                  scope: TenantScope = ALL) -> bool:
    """Release an ``unknown`` claim so the delivery can be sent again by any replay.

    The operator asserts the receiver did not get it (or accepts a duplicate). Prefer a
    deliberate resend (``create_job(..., resend_unknown=True)``, ``replay_single(...,
    resend_unknown=True)``): it keeps the claim until the resend's own outcome is known.
    Claims in flight or of a success are not released, nor a delivery outside ``scope``.
    Audited as ``replay.claim.release``.
    """
    if not operator or not operator.strip():
        raise JobError("an operator name is required to release a claim")
    with engine.begin() as conn:
        claim = conn.execute(
            select(replay_claims).where(*_claim_where(delivery_id, scope))
        ).mappings().one_or_none()
        if claim is None or claim["state"] != S.CLAIM_UNKNOWN:
            return False
        conn.execute(
            replay_claims.delete().where(
                replay_claims.c.delivery_id == delivery_id,
                replay_claims.c.state == S.CLAIM_UNKNOWN,
            )
        )
        audit.record(
            conn,
            actor=operator,
            action="replay.claim.release",
            at=now,
            target_type="delivery",
            target_id=delivery_id,
            summary=f"released the unknown-outcome replay claim of {delivery_id} "
            f"(job {claim['job_id']})",
            details={"job_id": claim["job_id"]},
            tenant=conn.execute(
                select(deliveries.c.tenant).where(deliveries.c.id == delivery_id)
            ).scalar(),
        )
    return True
