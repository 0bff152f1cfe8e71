"""Insights, Explore and failure groups under a tenant scope: another tenant's rows are
absent, every figure is over the scope's tenants, and cached results are per scope."""

from __future__ import annotations

from collections import Counter

import pytest

from intel.auth import ALL
from intel.cache import ResultCache
from intel.explore import ExploreQuery, explore_result, run_query
from intel.groups import failure_groups, tenants_with_failures
from intel.insights import api as bodies
from intel.insights.recommendations import recommendations
from tests.scope.world import (
    INCIDENT_TENANTS,
    NOW,
    SCOPES,
    A,
    G,
    S,
    h,
    records_of,
    visible_tenants,
)

SCOPE_NAMES = list(SCOPES)


def visible_incident_count(scope) -> int:
    return sum(1 for t in INCIDENT_TENANTS.values()
               if scope.unrestricted or (t is not None and scope.allows(t)))


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_insights_rows_and_figures_are_the_scope_s(engine, world, name):
    scope = SCOPES[name]
    failed = records_of(scope, status="failed")
    per_endpoint = Counter(r["endpoint"] for r in failed)
    body = bodies.endpoints_body(engine, now=NOW, period="24h", limit=50, scope=scope)
    assert {r["endpoint"]: r["failures"] for r in body["endpoints"]} == dict(per_endpoint)
    for row in body["endpoints"]:
        mine = records_of(scope, endpoint=row["endpoint"])
        assert row["deliveries"] == len(mine)
        assert row["delivered"] == sum(r["status"] == "delivered" for r in mine)

    body = bodies.tenants_body(engine, now=NOW, period="24h", limit=50, scope=scope)
    assert {r["tenant"]: r["failures"] for r in body["tenants"]} == dict(
        Counter(r["tenant"] for r in failed))

    health = bodies.system_health_body(engine, now=NOW, period="24h", scope=scope)
    mine = records_of(scope)
    assert health["deliveries"]["deliveries"] == len(mine)
    assert health["deliveries"]["failed"] == len(failed)
    assert health["deliveries"]["pending"] == sum(r["status"] == "pending" for r in mine)
    assert health["incidents"]["incidents"] == visible_incident_count(scope)
    labelled = 2 * len(visible_tenants(scope) & {"acme", "globex"})
    assert health["triage_accuracy"]["labelled"] == labelled

    operators = bodies.operators_body(engine, now=NOW, period="24h", scope=scope)
    expected_actors = {"acme-ops", "globex-ops", "mixed-ops", "root"} if scope.unrestricted \
        else {f"{t}-ops" for t in visible_tenants(scope) & {"acme", "globex"}}
    assert {o["operator"] for o in operators["operators"]} == expected_actors
    assert sum(c["actions"] for c in operators["heatmap"]) == sum(
        o["actions"] for o in operators["operators"])

    adoption = bodies.adoption_body(engine, now=NOW, period="24h", scope=scope)["adoption"]
    jobs = {"all": 3, "acme": 1, "globex": 1, "acme+initech": 1, "stranger": 0}[name]
    assert adoption["advisor_share"]["bulk_jobs"] == jobs
    if not scope.unrestricted:
        assert adoption["insights_daily"]["days"] == []  # platform-wide: not for a scope


@pytest.mark.parametrize(
    ("name", "allowed_targets"),
    [
        ("acme", {A, S, "acme", "invoice.paid"}),
        ("globex", {G, S, "globex", "order.created"}),
        ("stranger", set()),
    ],
)
def test_recommendations_never_name_another_tenant(engine, world, name, allowed_targets):
    everything = recommendations(engine, "24h", NOW)
    assert any(r["target"] == G for r in everything)  # G's 404s fire for an unrestricted view
    found = recommendations(engine, "24h", NOW, scope=SCOPES[name])
    assert {r["target"] for r in found} <= allowed_targets
    if name == "acme":
        assert all(G not in r["text"] and "globex" not in r["text"] for r in found)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_cached_bodies_are_per_scope(engine, world, backend, request):
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    cache = ResultCache(url, namespace=f"intel:test-scope-{backend}")
    cache.invalidate()
    try:
        wide = bodies.tenants_body(engine, now=NOW, period="24h", cache=cache)
        narrow = bodies.tenants_body(engine, now=NOW, period="24h", cache=cache,
                                     scope=SCOPES["acme"])
        assert {r["tenant"] for r in wide["tenants"]} == {"acme", "globex", "initech"}
        assert {r["tenant"] for r in narrow["tenants"]} == {"acme"}
        assert cache.stats.misses == 2 and cache.stats.hits == 0
        again = bodies.tenants_body(engine, now=NOW, period="24h", cache=cache,
                                    scope=SCOPES["acme"])
        assert again == narrow and cache.stats.hits == 1

        query = ExploreQuery(by=("tenant",), measure="deliveries")
        wide = explore_result(engine, query, NOW, cache=cache)
        narrow = explore_result(engine, query, NOW, cache=cache, scope=SCOPES["globex"])
        assert {row[0] for row in wide["rows"]} == {"acme", "globex", "initech"}
        assert {row[0] for row in narrow["rows"]} == {"globex"}

        page = bodies.load_insights(engine, now=NOW, period="24h", cache=cache,
                                    scope=SCOPES["globex"])
        assert {r["tenant"] for r in page["tenants"]["tenants"]} == {"globex"}
        assert {r["endpoint"] for r in page["endpoints"]["endpoints"]} == {G, S}
    finally:
        cache.invalidate()
        cache.close()


def _frame_rows(frame, columns) -> Counter:
    return Counter({tuple(rec[c] for c in columns[:-1]): rec[columns[-1]]
                    for rec in frame[columns].to_dict("records")})


@pytest.mark.parametrize("name", SCOPE_NAMES)
@pytest.mark.parametrize(
    ("params", "dims"),
    [
        ({"by": ("tenant", "status"), "measure": "deliveries"}, ("tenant", "status")),
        ({"by": ("endpoint",), "measure": "deliveries"}, ("endpoint",)),
        ({"by": ("endpoint",), "measure": "deliveries", "status": "failed"}, ("endpoint",)),
        ({"by": ("event_type",), "measure": "deliveries"}, ("event_type",)),
        ({"by": ("http_status",), "measure": "deliveries", "endpoint": S}, ("http_status",)),
    ],
)
def test_explore_cells_count_only_the_scope(engine, world, name, params, dims):
    scope = SCOPES[name]
    query = ExploreQuery(**params)
    frame = run_query(engine, query, NOW, scope=scope)
    filters = query.filters()
    expected = Counter(tuple(r[d] for d in dims) for r in records_of(scope, **filters))
    got = _frame_rows(frame, [*dims, "deliveries"])
    assert {k: v for k, v in got.items() if v} == dict(expected)


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_explore_categories_and_p95_only_the_scope(engine, world, name):
    scope = SCOPES[name]
    frame = run_query(engine, ExploreQuery(by=("category",), measure="deliveries"), NOW,
                      scope=scope)
    assert int(frame["deliveries"].sum()) == len(records_of(scope))
    p95 = run_query(engine, ExploreQuery(by=("endpoint",), measure="p95_duration_ms"), NOW,
                    scope=scope)
    by_endpoint = dict(zip(p95["endpoint"], p95["p95_duration_ms"], strict=True))
    assert set(by_endpoint) == {r["endpoint"] for r in records_of(scope)
                                if r["duration_ms"] is not None}
    if name == "acme":
        # S as acme sees it: its own 100 ms deliveries, never globex's 5 s failures
        assert by_endpoint[S] == pytest.approx(100.0)
    if name == "all":
        assert by_endpoint[S] > 1000


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_failure_groups_only_the_scope(engine, world, name):
    scope = SCOPES[name]
    failed = records_of(scope, status="failed")
    with engine.connect() as conn:
        result = failure_groups(conn, since=h(24), until=NOW, scope=scope)
        tenants = tenants_with_failures(conn, since=h(24), until=NOW, scope=scope)
        other = failure_groups(conn, since=h(24), until=NOW, tenant="globex", scope=scope)
    assert result.total_failures == len(failed)
    assert {g.endpoint for g in result.groups} == {r["endpoint"] for r in failed}
    assert tenants == sorted({r["tenant"] for r in failed})
    assert other.total_failures == (10 + 5 if scope.allows("globex") else 0)
    for group in result.groups:  # a shared endpoint's group is never "(several)" for a scope
        assert scope.unrestricted or group.tenant in scope.tenants


def test_unrestricted_is_the_default(engine, world):
    assert bodies.tenants_body(engine, now=NOW, period="24h") == bodies.tenants_body(
        engine, now=NOW, period="24h", scope=ALL)
