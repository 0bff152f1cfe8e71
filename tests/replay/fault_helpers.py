"""Fault-test helpers: a world the advisor recommends, fault-mode endpoints on the real
receiver, and the two checks every fault test ends with.

* ``no_duplicates``: no ``webhook-id`` was *accepted* twice by the receiver (answered 2xx,
  however late, or read and left unanswered) except the ids an operator resent on
  purpose (``resent``).
* ``nothing_lost``: every job finished, no claim is left held, and every delivery of the
  world ends ``succeeded``, ``failed``, ``unknown`` or ``skipped`` (never pending,
  sending, or held by a finished job).
"""

from __future__ import annotations

import ssl
from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from intel.replay import states as S
from intel.store.schema import replay_claims, replay_items, replay_jobs
from tests.replay.replay_helpers import DROP, Answer, delivery, seed, settings, slow_200, timeout

#: One TLS context for every runner of a test (loading the CA bundle is slow).
TLS = ssl.create_default_context()

#: The replay timeout of the fault tests: short, with margin enough that a fine or slow
#: answer never times out on a loaded machine (2 cores running the suite).
TIMEOUT_S = 0.5
#: Fault modes: (answer of the endpoint, outcome a replay to it ends with).
MODES = {
    "ok": (Answer(200), S.SUCCEEDED),
    "slow": (slow_200(0.05), S.SUCCEEDED),
    "timeout": (timeout(TIMEOUT_S + 0.5), S.UNKNOWN),
    "drop": (DROP, S.UNKNOWN),
    "down": (Answer(503), S.FAILED),
}


def fault_settings(**over):
    base = dict(timeout_s=TIMEOUT_S, per_endpoint_concurrency=2, heartbeat_s=0.2,
                runner_stale_after_s=2.0, circuit_breaker_failures=50)
    base.update(over)
    return settings(**base)


def world(engine, receiver, tenant: str, now: datetime, mix: dict[str, int]) -> dict[str, str]:
    """Failed deliveries of ``tenant`` the advisor recommends (a transient 503 an hour
    ago, to an endpoint that succeeded ten minutes ago), ``mix[mode]`` of them to the
    ``mode`` endpoint, which now answers as ``MODES[mode]``. Returns id -> mode."""
    records, modes = [], {}
    for mode, n in mix.items():
        url = receiver.url(f"/{tenant}/{mode}")
        receiver.route(f"/{tenant}/{mode}", MODES[mode][0])
        records.append(delivery(f"{tenant}-{mode}-ok", url, tenant=tenant, status="delivered",
                                http_status=200, response_body="ok",
                                created_at=now - timedelta(minutes=10),
                                last_attempt_at=now - timedelta(minutes=10)))
        for i in range(n):
            did = f"{tenant}-{mode}-{i}"
            at = now - timedelta(minutes=60, seconds=i)
            records.append(delivery(did, url, tenant=tenant, created_at=at, last_attempt_at=at))
            modes[did] = mode
    seed(engine, records)
    return modes


def no_duplicates(receiver, ids, resent=()) -> None:
    """No id accepted twice, but for those an operator resent (accepted at most twice)."""
    twice = {d: n for d, n in receiver.accepted.items()
             if d in ids and n > (2 if d in resent else 1)}
    assert not twice, f"accepted more than once: {twice}"


def outcomes(engine, ids) -> dict[str, str]:
    """How each delivery ended across every job: succeeded, failed, unknown, skipped,
    untouched (in no job), or stuck (what must never be)."""
    ids = list(ids)
    with engine.connect() as conn:
        claims = dict(conn.execute(
            sa.select(replay_claims.c.delivery_id, replay_claims.c.state)
            .where(replay_claims.c.delivery_id.in_(ids))).all())
        states: dict[str, list[str]] = {}
        for did, state in conn.execute(
                sa.select(replay_items.c.delivery_id, replay_items.c.state)
                .where(replay_items.c.delivery_id.in_(ids))):
            states.setdefault(did, []).append(state)
    out = {}
    for did in ids:
        claim, items = claims.get(did), states.get(did, [])
        if claim in S.CLAIM_HELD or any(s in (S.PENDING, S.SENDING) for s in items):
            out[did] = "stuck"
        elif claim == S.CLAIM_SUCCEEDED:
            out[did] = S.SUCCEEDED
        elif claim == S.CLAIM_UNKNOWN:
            out[did] = S.UNKNOWN
        elif not items:
            out[did] = "untouched"
        else:
            out[did] = S.outcome_of(
                next((s for s in items if s in (S.FAILED, S.REFUSED)), S.SKIPPED))
    return out


def nothing_lost(engine, ids) -> Counter:
    """Every job finished, no claim held, every delivery ended; returns the outcome counts."""
    with engine.connect() as conn:
        unfinished = conn.execute(
            sa.select(replay_jobs.c.id, replay_jobs.c.status)
            .where(replay_jobs.c.status.not_in((S.JOB_COMPLETED, S.JOB_CANCELLED)))).all()
        held = conn.execute(
            sa.select(sa.func.count()).select_from(replay_claims)
            .where(replay_claims.c.state.in_(S.CLAIM_HELD))).scalar()
    assert not unfinished, f"jobs not finished: {unfinished}"
    assert held == 0, f"{held} claim(s) still held after every job finished"
    ends = outcomes(engine, ids)
    stuck = [d for d, o in ends.items() if o in ("stuck", "untouched")]
    assert not stuck, f"deliveries that never ended: {stuck}"
    return Counter(ends.values())
