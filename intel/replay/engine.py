"""Replay entry points: one delivery now, or a list as a job run in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from intel.auth.scope import ALL, TenantScope
from intel.replay import jobs as J
from intel.replay.runner import RunResult, run_job
from intel.settings.replay import ReplaySettings
from intel.store.schema import delivery_attempts, replay_items
from intel.timeutil import utcnow


@dataclass(frozen=True)
class SingleOutcome:
    """What a single replay did: ``outcome`` is an item state (succeeded, failed, ...)."""

    delivery_id: str
    job_id: str
    outcome: str
    http_status: int | None
    reason: str | None
    attempt: dict | None

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


def replay_single(
    engine: Engine,
    delivery_id: str,
    *,
    operator: str,
    settings: ReplaySettings,
    now: datetime | None = None,
    verify=True,
    scope: TenantScope = ALL,
    resend_unknown: bool = False,
) -> SingleOutcome:
    """Replay one delivery now, in this process (a one-item job of source ``single``).

    Goes through the same claim as bulk jobs, so it never overlaps a job holding the
    same delivery, and is audited as ``replay.single``. A delivery whose earlier replay
    had an unknown outcome is skipped unless ``resend_unknown`` (the operator's
    deliberate resend: same ``webhook-id``, audited as ``replay.unknown.resend``).
    Raises ``JobError`` / ``UnknownDeliveries`` on bad input (a delivery outside
    ``scope`` is unknown).
    """
    job_id, _preview = J.create_job(
        engine, [delivery_id], operator=operator, source="single", now=now or utcnow(),
        record_audit=False, scope=scope, resend_unknown=resend_unknown,
    )
    run_job(engine, job_id, settings, operator=operator, verify=verify)
    with engine.connect() as conn:
        item = conn.execute(
            select(replay_items).where(replay_items.c.job_id == job_id)
        ).mappings().one()
        attempt = None
        if item["attempt_id"] is not None:
            row = conn.execute(
                select(delivery_attempts).where(delivery_attempts.c.id == item["attempt_id"])
            ).mappings().one_or_none()
            attempt = dict(row) if row else None
    return SingleOutcome(delivery_id, job_id, item["state"], item["http_status"], item["reason"],
                         attempt)


def replay_now(
    engine: Engine,
    delivery_ids: Iterable[str],
    *,
    operator: str,
    settings: ReplaySettings,
    source: str = "cli",
    filters: dict | None = None,
    now: datetime | None = None,
    on_created: Callable[[str, J.Preview], None] | None = None,
    on_progress: Callable[[dict], None] | None = None,
    verify=True,
    resend_unknown: bool = False,
) -> RunResult:
    """Create a job over ``delivery_ids`` and run it here until it finishes."""
    job_id, preview = J.create_job(
        engine, delivery_ids, operator=operator, source=source, now=now or utcnow(),
        filters=filters, resend_unknown=resend_unknown,
    )
    if on_created is not None:
        on_created(job_id, preview)
    return run_job(engine, job_id, settings, operator=operator, on_progress=on_progress,
                   verify=verify)
