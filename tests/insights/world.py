"""A small hand-made world for the insights tests (expected figures are in the tests).

NOW is Thursday 2026-11-05 16:30 UTC. The 24 h window is [11-04 16:30, 11-05 16:30),
the one before it [11-03 16:30, 11-04 16:30); 7 d starts 10-29 16:30, the 7 d before it
10-22 16:30.

Deliveries (endpoint / tenant: what happened)
  A = https://a.example/hook, tenant t1, in 24 h: 4 x 503, 2 x 429 (Retry-After),
      4 delivered, 1 pending; the day before: 2 x 503.
  B = https://b.example/hook, tenant t2, in 24 h: 3 x 404, 1 delivered; the day
      before: 3 x 404; 10-25 (7 d before): 1 x 404.
  C = https://c.example/hook, tenant t2, in 24 h: 1 connection refused; the day before:
      5 x connection refused.
  D = https://d.example/hook, tenant t3, in 24 h: 5 delivered.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from intel import audit
from intel.deliveries.write import upsert_deliveries
from intel.store.schema import delivery_attempts, incidents, labels, replay_jobs

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
A = "https://a.example/hook"
B = "https://b.example/hook"
C = "https://c.example/hook"
D = "https://d.example/hook"
REFUSED = "dial tcp 10.0.0.7:443: connect: connection refused"

_ids = itertools.count(1)


def delivery(endpoint: str, tenant: str, status: str, at: datetime, **over) -> dict:
    rec = {
        "id": f"d{next(_ids):05d}",
        "tenant": tenant,
        "endpoint": endpoint,
        "event_type": "invoice.paid",
        "status": status,
        "http_status": 200 if status == "delivered" else None,
        "error": None,
        "response_headers": None,
        "response_body": None,
        "attempts": 1,
        "created_at": at,
        "last_attempt_at": at,
        "duration_ms": 100.0,
        "payload": {"n": 1},
    }
    rec.update(over)
    return rec


def h(hours: float) -> datetime:
    """NOW minus ``hours``."""
    return NOW - timedelta(hours=hours)


def world_deliveries() -> list[dict]:
    recs = []
    for i in range(4):
        recs.append(delivery(A, "t1", "failed", h(1 + i), http_status=503,
                             response_body="Service Unavailable", duration_ms=1000.0 + 10 * i))
    for i in range(2):
        recs.append(delivery(A, "t1", "failed", h(5 + i), http_status=429,
                             response_headers={"Retry-After": str(30 + i)},
                             response_body="slow down", event_type="order.created"))
    for i in range(4):
        recs.append(delivery(A, "t1", "delivered", h(2 + i), duration_ms=200.0 + 10 * i))
    recs.append(delivery(A, "t1", "pending", h(0.5)))
    for i in range(2):
        recs.append(delivery(A, "t1", "failed", h(30 + i), http_status=503))
    for i in range(3):
        recs.append(delivery(B, "t2", "failed", h(3 + i), http_status=404,
                             response_body="Not Found"))
    recs.append(delivery(B, "t2", "delivered", h(4)))
    for i in range(3):
        recs.append(delivery(B, "t2", "failed", h(28 + i), http_status=404,
                             response_body="Not Found"))
    recs.append(delivery(B, "t2", "failed", NOW - timedelta(days=11), http_status=404,
                         response_body="Not Found"))
    recs.append(delivery(C, "t2", "failed", h(10), error=REFUSED, duration_ms=None))
    for i in range(5):
        recs.append(delivery(C, "t2", "failed", h(26 + i), error=REFUSED))
    for i in range(5):
        recs.append(delivery(D, "t3", "delivered", h(6 + i), duration_ms=50.0))
    return recs


def write(engine, records: list[dict]) -> list[dict]:
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)
    return records


def replay(conn, delivery_id: str, operator: str, status: str, at: datetime, job=None):
    conn.execute(
        delivery_attempts.insert().values(
            delivery_id=delivery_id, attempt_no=99, kind="replay", status=status,
            http_status=200 if status == "delivered" else 503, finished_at=at,
            started_at=at, operator=operator, job_id=job,
        )
    )


def incident(conn, ident: str, detected: datetime, *, severity="warning", status="active",
             ack_after_s: float | None = None, resolve_after_s: float | None = None):
    conn.execute(
        incidents.insert().values(
            id=ident, dedup_key=f"burst|*|{ident}", type="burst", target="*",
            severity=severity, status=status, current_failures=10, peak_failures=10,
            baseline=1.0, detected_at=detected, updated_at=detected,
            acknowledged_at=None if ack_after_s is None
            else detected + timedelta(seconds=ack_after_s),
            acknowledged_by=None if ack_after_s is None else "alice",
            resolved_at=None if resolve_after_s is None
            else detected + timedelta(seconds=resolve_after_s),
        )
    )


def job(conn, ident: str, source: str, at: datetime, by: str = "alice"):
    conn.execute(
        replay_jobs.insert().values(id=ident, created_by=by, created_at=at, source=source,
                                    status="completed", total=1)
    )


def label(conn, delivery_id: str, category: str, at: datetime):
    conn.execute(
        labels.insert().values(delivery_id=delivery_id, category=category, labeler="alice",
                               labeled_at=at, updated_at=at)
    )


def build_world(engine) -> dict[str, list[dict]]:
    recs = write(engine, world_deliveries())
    by = {}
    for r in recs:
        key = (r["endpoint"], r["status"], r["http_status"])
        by.setdefault(key, []).append(r)
    a503 = by[(A, "failed", 503)]
    a429 = by[(A, "failed", 429)]
    b404 = by[(B, "failed", 404)]
    c_refused = by[(C, "failed", None)]
    day = datetime(2026, 11, 5, tzinfo=UTC)
    with engine.begin() as conn:
        # --- audit trail
        audit.record(conn, actor="alice", action="insights.view", at=day.replace(hour=9))
        audit.record(conn, actor="alice", action="replay.single",
                     at=day.replace(hour=10, minute=15))
        audit.record(conn, actor="alice", action="replay.job.start",
                     at=day.replace(hour=10, minute=40), details={"source": "advisor"})
        audit.record(conn, actor="alice", action="incident.ack",
                     at=day.replace(hour=14, minute=5), details={"via": "banner"})
        audit.record(conn, actor="bob", action="insights.view",
                     at=datetime(2026, 11, 4, 20, 0, tzinfo=UTC))
        audit.record(conn, actor="bob", action="label.create",
                     at=datetime(2026, 11, 4, 20, 10, tzinfo=UTC))
        audit.record(conn, actor="bob", action="incident.ack", at=day.replace(hour=1),
                     details={"via": "incidents-page"})
        audit.record(conn, actor="carol", action="replay.single",
                     at=datetime(2026, 11, 3, 12, 0, tzinfo=UTC))
        audit.record(conn, actor="system", action="incident.open", at=day.replace(hour=12))
        # --- replays (delivery_attempts kind=replay)
        replay(conn, a503[0]["id"], "alice", "delivered", day.replace(hour=10, minute=20))
        replay(conn, a503[1]["id"], "alice", "delivered", day.replace(hour=10, minute=25))
        replay(conn, a503[2]["id"], "alice", "failed", day.replace(hour=11, minute=5))
        replay(conn, c_refused[0]["id"], "bob", "failed", day.replace(hour=11, minute=30))
        replay(conn, b404[0]["id"], "carol", "delivered",
               datetime(2026, 11, 3, 12, 5, tzinfo=UTC))
        # --- incidents
        incident(conn, "i1", day.replace(hour=12), severity="critical", status="resolved",
                 ack_after_s=20, resolve_after_s=3600)
        incident(conn, "i2", day.replace(hour=15), ack_after_s=100)
        incident(conn, "i3", day.replace(hour=16))
        incident(conn, "i4", datetime(2026, 11, 1, 8, tzinfo=UTC), status="resolved",
                 ack_after_s=60, resolve_after_s=7200)
        # --- replay jobs
        job(conn, "j1", "advisor", day.replace(hour=10, minute=40))
        job(conn, "j2", "manual", day.replace(hour=11))
        job(conn, "j3", "advisor", day.replace(hour=12))
        job(conn, "j4", "single", day.replace(hour=13))
        job(conn, "j5", "advisor", datetime(2026, 11, 1, 9, tzinfo=UTC))
        # --- labels: three right, one wrong (404 labelled transient), one in the future
        label(conn, a503[0]["id"], "transient-endpoint-down", h(1))
        label(conn, a429[0]["id"], "rate-limited", h(1))
        label(conn, b404[0]["id"], "transient-endpoint-down", h(1))
        label(conn, c_refused[0]["id"], "transient-endpoint-down", h(1))
        label(conn, a503[1]["id"], "permanent-4xx", NOW + timedelta(minutes=5))
    return by
