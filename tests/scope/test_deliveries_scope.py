"""Delivery history under a tenant scope: pages, totals, options, one delivery."""

from __future__ import annotations

from collections import Counter

import pytest

from intel.auth import ALL
from intel.deliveries import query as Q
from intel.deliveries.query import HistoryFilter
from tests.scope.world import (
    EVENT_TYPE,
    NOW,
    RECORDS,
    SCOPES,
    A,
    G,
    I,
    S,
    records_of,
    visible_tenants,
)

SCOPE_NAMES = list(SCOPES)


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_history_pages_and_totals_hold_only_the_scope(engine, world, name):
    scope = SCOPES[name]
    mine = records_of(scope)
    result = Q.view_page(engine, HistoryFilter(window="24h"), NOW, per_page=1000, scope=scope)
    assert {r["id"] for r in result.rows} == {r["id"] for r in mine}
    assert result.total == len(mine)
    assert result.by_status == dict(Counter(r["status"] for r in mine))
    failed = Q.view_page(engine, HistoryFilter(window="24h", status="failed"), NOW,
                         per_page=1000, scope=scope)
    assert failed.total == len(records_of(scope, status="failed"))
    # the legacy (rows, total) form scopes too
    rows, total = Q.page(engine, HistoryFilter(window="24h"), NOW, per_page=5, scope=scope)
    assert total == len(mine) and all(scope.allows(r["tenant"]) for r in rows)


@pytest.mark.parametrize(
    ("name", "flt", "expected_tenants"),
    [
        # a filter on another tenant finds nothing, as if the tenant did not exist
        ("acme", HistoryFilter(tenant="globex"), set()),
        ("acme", HistoryFilter(tenant="acme"), {"acme"}),
        # a shared endpoint shows only the scope's deliveries to it
        ("acme", HistoryFilter(endpoint=S), {"acme"}),
        ("globex", HistoryFilter(endpoint=S), {"globex"}),
        ("all", HistoryFilter(endpoint=S), {"acme", "globex"}),
        ("acme", HistoryFilter(endpoint=G), set()),
        ("acme", HistoryFilter(event_type=EVENT_TYPE["globex"]), set()),
        ("stranger", HistoryFilter(), set()),
    ],
)
def test_filters_never_reach_outside_the_scope(engine, world, name, flt, expected_tenants):
    result = Q.view_page(engine, flt, NOW, per_page=1000, scope=SCOPES[name])
    assert {r["tenant"] for r in result.rows} == expected_tenants
    assert result.total == len(result.rows) == sum(result.by_status.values())


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_triage_category_filter_counts_only_the_scope(engine, world, name):
    scope = SCOPES[name]
    flt = HistoryFilter(window="24h", category="permanent-4xx")
    with engine.connect() as conn:
        matches = Q.category_matches(conn, flt, NOW, scope=scope)
    expected_ids = {r["id"] for r in records_of(scope, status="failed", http_status=404)}
    assert set(matches.ids) == expected_ids
    assert matches.candidates == len([r for r in records_of(scope)
                                      if r["status"] in ("failed", "pending")])
    assert sum(matches.by_category.values()) == matches.candidates
    page = Q.view_page(engine, flt, NOW, per_page=1000, scope=scope)
    assert {r["id"] for r in page.rows} == expected_ids
    # a cached match list of a wider scope never widens the page's rows
    with engine.connect() as conn:
        wide = Q.category_matches(conn, flt, NOW)
    page = Q.view_page(engine, flt, NOW, per_page=1000, matches=wide, scope=scope)
    assert {r["tenant"] for r in page.rows} <= visible_tenants(scope)


@pytest.mark.parametrize(
    ("name", "tenants", "endpoints", "event_types"),
    [
        ("all", ["acme", "globex", "initech"], sorted([A, S, G, I]),
         sorted(EVENT_TYPE.values())),
        ("acme", ["acme"], sorted([A, S]), ["invoice.paid"]),
        ("globex", ["globex"], sorted([G, S]), ["order.created"]),
        ("acme+initech", ["acme", "initech"], sorted([A, S, I]),
         ["invoice.paid", "user.created"]),
        ("stranger", [], [], []),
    ],
)
def test_filter_options_are_the_scope_s(engine, world, name, tenants, endpoints, event_types):
    scope = SCOPES[name]
    assert Q.tenants(engine, scope=scope) == tenants
    assert Q.endpoints(engine, scope=scope) == endpoints
    assert Q.event_types(engine, scope=scope) == event_types
    # one tenant's endpoints: none for a tenant outside the scope
    expected_acme = sorted([A, S]) if scope.allows("acme") else []
    assert Q.endpoints(engine, "acme", scope=scope) == expected_acme


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_one_delivery_outside_the_scope_is_not_found(engine, world, name):
    scope = SCOPES[name]
    for record in RECORDS[:: 7]:
        found = Q.get_delivery(engine, record["id"], scope=scope)
        if scope.allows(record["tenant"]):
            assert found is not None and found["id"] == record["id"]
            assert found["attempts_timeline"]
        else:
            # exactly the answer for an id that does not exist
            assert found is None
            assert found == Q.get_delivery(engine, "no-such-delivery", scope=scope)


def test_no_scope_means_every_tenant(engine, world):
    assert Q.view_page(engine, HistoryFilter(), NOW, per_page=1000).total == len(RECORDS)
    assert Q.view_page(engine, HistoryFilter(), NOW, per_page=1000, scope=ALL).total == len(
        RECORDS)
