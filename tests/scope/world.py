"""A small multi-tenant world for the tenant-scope tests (CONTRACTS §6).

NOW is 2026-11-05 16:30 UTC. Three tenants with data, one endpoint shared:

  A = https://acme.example/hook     acme only: 12 x 503 (3-4 h ago), 10 delivered (1-2 h
                                    ago, after the failures), event type invoice.paid
  S = https://shared.example/hook   acme: 3 x 429 with Retry-After, 2 delivered;
                                    globex: 5 x 503, 1 delivered
  G = https://globex.example/hook   globex only: 10 x 404, 2 delivered, 1 pending,
                                    event type order.created
  I = https://initech.example/hook  initech only: 1 connection refused, 2 delivered,
                                    event type user.created

Labels: two acme failures, two globex failures. Incidents (opened through
``apply_transitions``, as the worker does): a tenant spike per acme and globex, an
endpoint spike on A (-> acme), on G (-> globex) and on the shared S (-> no tenant), and a
platform burst (-> no tenant). Replay jobs (created, not run): acme's, globex's and a
mixed one. One audit entry concerns no tenant (``settings.edit``).

Expected figures are computed from :data:`RECORDS` in the tests (filtered per tenant),
so the oracle is plain Python over the same records.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from intel import audit
from intel.auth import ALL, TenantScope
from intel.deliveries.write import upsert_deliveries
from intel.incidents.lifecycle import Incident, Transition
from intel.incidents.store import apply_transitions
from intel.labels.store import create_label
from intel.replay import jobs as J

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
A = "https://acme.example/hook"
S = "https://shared.example/hook"
G = "https://globex.example/hook"
I = "https://initech.example/hook"  # noqa: E741 - the endpoint's letter, as in the docstring
TENANTS = ("acme", "globex", "initech")
EVENT_TYPE = {"acme": "invoice.paid", "globex": "order.created", "initech": "user.created"}
REFUSED = "dial tcp 10.0.0.9:443: connect: connection refused"

#: Scopes the tests run over, and the tenants with data each may see.
SCOPES: dict[str, TenantScope] = {
    "all": ALL,
    "acme": TenantScope.of(["acme"]),
    "globex": TenantScope.of(["globex"]),
    "acme+initech": TenantScope.of(["acme", "initech"]),
    "stranger": TenantScope.of(["umbrella"]),  # a tenant with no data at all
}


def visible_tenants(scope: TenantScope) -> set[str]:
    return {t for t in TENANTS if scope.allows(t)}


def h(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def _records() -> list[dict]:
    ids = itertools.count(1)

    def rec(tenant, endpoint, status, at, **over):
        r = {
            "id": f"{tenant}-{next(ids):03d}",
            "tenant": tenant,
            "endpoint": endpoint,
            "event_type": EVENT_TYPE[tenant],
            "status": status,
            "http_status": 200 if status == "delivered" else None,
            "error": None,
            "response_headers": None,
            "response_body": None,
            "attempts": 1,
            "created_at": at - timedelta(minutes=1),
            "last_attempt_at": at,
            "duration_ms": 100.0,
            "payload": {"tenant": tenant},
        }
        r.update(over)
        return r

    out = []
    for i in range(12):
        out.append(rec("acme", A, "failed", h(3 + i / 12), http_status=503,
                       response_body="Service Unavailable", duration_ms=900.0 + i))
    for i in range(10):
        out.append(rec("acme", A, "delivered", h(1 + i / 10)))
    for i in range(3):
        out.append(rec("acme", S, "failed", h(5 + i / 10), http_status=429,
                       response_headers={"Retry-After": "30"}, response_body="slow down"))
    for i in range(2):
        out.append(rec("acme", S, "delivered", h(6 + i / 10)))
    for i in range(5):
        out.append(rec("globex", S, "failed", h(2 + i / 10), http_status=503,
                       response_body="upstream down", duration_ms=5000.0))
    out.append(rec("globex", S, "delivered", h(7)))
    for i in range(10):
        out.append(rec("globex", G, "failed", h(4 + i / 10), http_status=404,
                       response_body="Not Found"))
    for i in range(2):
        out.append(rec("globex", G, "delivered", h(8 + i / 10)))
    out.append(rec("globex", G, "pending", h(0.5)))
    out.append(rec("initech", I, "failed", h(9), error=REFUSED, duration_ms=None))
    for i in range(2):
        out.append(rec("initech", I, "delivered", h(10 + i / 10)))
    return out


RECORDS: list[dict] = _records()


def records_of(scope: TenantScope, **where) -> list[dict]:
    return [r for r in RECORDS if scope.allows(r["tenant"])
            and all(r[k] == v for k, v in where.items())]


def ids_of(tenant: str, status: str = "failed") -> list[str]:
    return [r["id"] for r in RECORDS if r["tenant"] == tenant and r["status"] == status]


#: Incident id -> the tenant it must get when opened (None: platform-wide or shared).
INCIDENT_TENANTS = {
    "inc-tenant-acme": "acme",
    "inc-tenant-globex": "globex",
    "inc-endpoint-a": "acme",
    "inc-endpoint-g": "globex",
    "inc-endpoint-s": None,
    "inc-burst": None,
}
_INCIDENT_SPECS = {
    "inc-tenant-acme": ("tenant_spike", "acme"),
    "inc-tenant-globex": ("tenant_spike", "globex"),
    "inc-endpoint-a": ("endpoint_spike", A),
    "inc-endpoint-g": ("endpoint_spike", G),
    "inc-endpoint-s": ("endpoint_spike", S),
    "inc-burst": ("burst", "*"),
}


def incident(ident: str, at: datetime) -> Incident:
    kind, target = _INCIDENT_SPECS[ident]
    return Incident(
        id=ident, dedup_key=f"{kind}|{target}", type=kind, target=target,
        severity="warning", status="active", current_failures=20, peak_failures=20,
        baseline=2.0, detected_at=at, updated_at=at,
    )


@dataclass
class World:
    jobs: dict[str, str]  # acme | globex | mixed -> job id


def build(engine) -> World:
    with engine.begin() as conn:
        upsert_deliveries(conn, [dict(r) for r in RECORDS], now=NOW)
        for tenant, n in (("acme", 2), ("globex", 2)):
            for delivery_id in ids_of(tenant)[:n]:
                create_label(conn, delivery_id=delivery_id,
                             category="permanent-4xx" if tenant == "globex"
                             else "transient-endpoint-down",
                             labeler=f"{tenant}-ops", now=h(0.3))
        apply_transitions(
            conn,
            [Transition("open", incident(i, h(0.25 + n / 100)))
             for n, i in enumerate(INCIDENT_TENANTS)],
            h(0.25),
        )
        audit.record(conn, actor="root", action="settings.edit", at=h(0.2),
                     summary="platform-wide change")
    jobs = {}
    for name, ids in (("acme", ids_of("acme")[:2]), ("globex", ids_of("globex")[:2]),
                      ("mixed", [ids_of("acme")[2], ids_of("globex")[2]])):
        jobs[name], _ = J.create_job(engine, ids, operator=f"{name}-ops", source="manual",
                                     now=h(0.1))
    return World(jobs=jobs)
