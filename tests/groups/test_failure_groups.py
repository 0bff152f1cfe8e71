"""Failure groups from the store (SQLite and PostgreSQL): hand-made failures folded into
problems, the tenant filter, the rate-limit header flags and the history link. The folding
itself is tabled over pure functions in tests/groups/test_fold.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from intel.deliveries.write import upsert_deliveries
from intel.groups import failure_groups, group_link
from intel.groups.fold import SEVERAL

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
A = "https://hooks.acme.example/in"
B = "https://api.beta.example/webhooks"
C = "https://hooks.acme.example/orders"


def _failure(i, endpoint=A, minute=0, tenant="acme", **fields):
    at = T0 + timedelta(minutes=minute)
    rec = {
        "id": f"f{i:03d}", "tenant": tenant, "endpoint": endpoint, "event_type": "x.y",
        "status": "failed", "http_status": None, "error": None, "response_headers": None,
        "response_body": None, "attempts": 1, "created_at": at, "last_attempt_at": at,
        "duration_ms": 5.0, "payload": None, "extra": None,
    }
    rec.update(fields)
    return rec


@pytest.fixture
def stored(engine):
    records = []
    # 40 "connection refused" to different pod IPs on A: one group
    for i in range(40):
        records.append(_failure(i, minute=i, error=f"dial tcp 10.0.{i}.{i + 1}:443: connect: "
                                "connection refused"))
    # 12 rate-limited on B, with the header in any case
    for i in range(12):
        records.append(_failure(100 + i, endpoint=B, minute=i, tenant="beta", http_status=403,
                                response_headers={"x-ratelimit-remaining": "0",
                                                  "X-Request-Id": f"req-{i}"},
                                response_body="API rate limit exceeded for installation"))
    # 3 signature failures on B with varying timestamps in the body
    for i in range(3):
        records.append(_failure(200 + i, endpoint=B, minute=50 + i, tenant="beta",
                                http_status=401, response_body=f"Invalid signature at {1000 + i}"))
    # outside the window / delivered: never counted
    records.append(_failure(900, minute=-120, error="connect: connection refused"))
    records.append(_failure(901, status="delivered", http_status=200))
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
    return engine


def test_failure_groups_from_the_store(stored):
    with stored.connect() as conn:
        result = failure_groups(conn, since=T0, until=T0 + timedelta(hours=2))
    got = [(g.endpoint, g.category, g.count, g.tenant) for g in result.groups]
    assert got == [
        (A, "transient-endpoint-down", 40, "acme"),
        (B, "rate-limited", 12, "beta"),
        (B, "permanent-4xx", 3, "beta"),
    ]
    assert result.total_failures == 55
    assert result.distinct_rows == 40 + 1 + 3
    assert result.distinct_forms == 1 + 1 + 1  # IPs, request ids and timestamps stripped
    assert result.floor == 5
    assert [(c.category, c.failures, c.groups) for c in result.by_category()] == [
        ("transient-endpoint-down", 40, 1), ("permanent-4xx", 3, 1), ("rate-limited", 12, 1)]
    refused = result.groups[0]
    assert refused.first_seen == T0 and refused.last_seen == T0 + timedelta(minutes=39)
    assert refused.example_id == "f000"
    limited = result.groups[1]
    assert "X-Ratelimit-Remaining: 0" in limited.reason or "quota" in limited.reason


def test_failure_groups_tenant_filter(stored):
    with stored.connect() as conn:
        result = failure_groups(conn, since=T0, until=T0 + timedelta(hours=2), tenant="beta")
    assert [(g.category, g.count) for g in result.groups] == [
        ("rate-limited", 12), ("permanent-4xx", 3)
    ]


def test_header_flags_keep_rate_limited_apart_from_plain_403(engine):
    records = [
        _failure(1, http_status=403, response_body="Forbidden",
                 response_headers={"X-RateLimit-Remaining": "0"}),
        _failure(2, http_status=403, response_body="Forbidden",
                 response_headers={"Retry-After": "60"}),
        _failure(3, http_status=403, response_body="Forbidden", response_headers={"Server": "x"}),
        _failure(4, http_status=403, response_body="Forbidden",
                 response_headers={"RateLimit": "limit=100, remaining=0, reset=30"}),
    ]
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
        result = failure_groups(conn, since=T0, until=T0 + timedelta(hours=1))
    assert result.distinct_rows == 4
    # three rate-limit answers are one problem with three raw forms; the plain 403 apart
    got = sorted((g.category, g.count, g.forms) for g in result.groups)
    assert got == [("permanent-4xx", 1, 1), ("rate-limited", 3, 3)]


def test_group_link_filters_the_history_to_the_group(stored):
    with stored.connect() as conn:
        group = failure_groups(conn, since=T0, until=T0 + timedelta(hours=2)).groups[0]
    link = group_link(group)
    assert link.startswith("/?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert query == {
        "endpoint": A, "category": "transient-endpoint-down", "status": "failed",
        "window": "custom", "since": "2026-11-05T12:00:00Z", "until": "2026-11-05T12:39:01Z",
    }
    assert "tenant=acme" in group_link(group, tenant="acme")


def test_a_tenant_problem_and_sporadic_failures_from_the_store(engine):
    """acme's rotated secret answers 401 on two endpoints: one tenant problem; three
    scattered timeouts on three endpoints: one sporadic problem; 30 refusals on B: B's."""
    records = [_failure(i, endpoint=A if i % 2 else C, minute=i, http_status=401,
                        response_body=f'{{"error":"invalid_signature","ts":{1700000000 + i}}}')
               for i in range(8)]
    records += [_failure(100 + i, endpoint=B, minute=i, tenant="beta",
                         error=f"dial tcp 10.2.0.{i}:443: connect: connection refused")
                for i in range(30)]
    records += [_failure(200 + i, endpoint=f"https://h{i}.example/x", minute=i, tenant=f"t{i}",
                         error="context deadline exceeded") for i in range(3)]
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
        result = failure_groups(conn, since=T0, until=T0 + timedelta(hours=1))
        per_tenant = failure_groups(conn, since=T0, until=T0 + timedelta(hours=1),
                                    per="tenant", floor=1)
        unfolded = failure_groups(conn, since=T0, until=T0 + timedelta(hours=1), floor=1)
    got = [(g.scope, g.endpoint, g.tenant, g.kind, g.count) for g in result.groups]
    assert got == [
        ("endpoint", B, "beta", "endpoint-down", 30),
        ("tenant", SEVERAL, "acme", "credentials", 8),
        ("sporadic", SEVERAL, SEVERAL, "endpoint-down", 3),
    ]
    tenant_group = result.groups[1]
    assert tenant_group.by_endpoint() == [(A, "acme", 4), (C, "acme", 4)]
    query = {k: v[0] for k, v in parse_qs(urlsplit(group_link(tenant_group)).query).items()}
    assert query["tenant"] == "acme" and "endpoint" not in query
    sporadic = {k: v[0] for k, v in
                parse_qs(urlsplit(group_link(result.groups[2])).query).items()}
    assert "tenant" not in sporadic and "endpoint" not in sporadic
    assert [(g.tenant, g.count) for g in per_tenant.groups] == [
        ("beta", 30), ("acme", 8), ("t2", 1), ("t1", 1), ("t0", 1)]
    # floor 1: nothing sporadic, and the tenant-wide 401s are still the tenant's
    assert [(g.scope, g.count) for g in unfolded.groups] == [
        ("endpoint", 30), ("tenant", 8), ("endpoint", 1), ("endpoint", 1), ("endpoint", 1)]
