"""Failure groups: hand-made failures fold by endpoint, category and signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from intel.deliveries.write import upsert_deliveries
from intel.groups import FailureRow, failure_groups, fold_rows, group_link
from intel.groups.fold import SEVERAL

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
A = "https://hooks.acme.example/in"
B = "https://api.beta.example/webhooks"


def _row(endpoint=A, status=None, error=None, body=None, headers=None, n=1, minute=0,
         example="d1", tenant="acme"):
    at = T0 + timedelta(minutes=minute)
    return FailureRow(endpoint, status, error, body, headers, n, at, at, example, tenant, tenant)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # numbers, IPs and ports stripped: two "connection refused" fold into one
        (
            [_row(error="dial tcp 10.0.0.5:443: connect: connection refused", n=3),
             _row(error="dial tcp 10.0.7.19:8443: connect: connection refused", n=2,
                  example="d2")],
            [(A, "transient-endpoint-down", 5, 2)],
        ),
        # request ids / uuids in bodies stripped
        (
            [_row(status=404, body='{"error":"not found","request_id":"3f2b9c1e-8d4a-4b6e-9f1a-'
                  '2c3d4e5f6a7b"}', n=4),
             _row(status=404, body='{"error":"not found","request_id":"a1b2c3d4-0000-4b6e-9f1a-'
                  '2c3d4e5f6a7b"}', n=1, example="d9")],
            [(A, "permanent-4xx", 5, 2)],
        ),
        # host names stripped: the same DNS failure for two hosts folds
        (
            [_row(error="dial tcp: lookup hooks.acme.example on 127.0.0.53:53: no such host"),
             _row(error="dial tcp: lookup other.acme.example on 10.1.1.1:53: no such host",
                  example="d3")],
            [(A, None, 2, 2)],
        ),
        # the same error on different endpoints stays apart
        (
            [_row(error="connect ECONNREFUSED 10.0.0.5:443", n=2),
             _row(endpoint=B, error="connect ECONNREFUSED 10.0.0.6:443", n=1, example="d2")],
            [(A, "transient-endpoint-down", 2, 1), (B, "transient-endpoint-down", 1, 1)],
        ),
        # different problems on one endpoint stay apart, biggest first
        (
            [_row(status=401, body="Invalid signature", n=1),
             _row(status=503, body="Service Unavailable", n=7, example="d2"),
             _row(status=429, headers={"Retry-After": "30"}, n=2, example="d3")],
            [(A, "transient-endpoint-down", 7, 1), (A, "rate-limited", 2, 1),
             (A, "permanent-4xx", 1, 1)],
        ),
    ],
    ids=["ips-ports", "uuids", "hosts", "endpoints-apart", "problems-apart"],
)
def test_fold_rows(rows, expected):
    groups = fold_rows(rows)
    got = [(g.endpoint, g.category, g.count, g.variants) for g in groups]
    want = [(e, c if c is not None else got[i][1], n, v) for i, (e, c, n, v) in
            enumerate(expected)]
    assert got == want


def test_fold_keeps_times_example_and_tenants():
    rows = [
        _row(error="read tcp 10.0.0.1:5000->10.0.0.2:443: read: connection reset by peer",
             n=2, minute=5, example="b", tenant="acme"),
        _row(error="read tcp 10.0.0.9:5123->10.0.0.3:443: read: connection reset by peer",
             n=5, minute=1, example="c", tenant="beta"),
    ]
    [group] = fold_rows(rows)
    assert group.count == 7
    assert group.first_seen == T0 + timedelta(minutes=1)
    assert group.last_seen == T0 + timedelta(minutes=5)
    assert group.example_id == "c"  # the biggest raw form
    assert "10.0.0.9" in group.example_text
    assert group.tenant == SEVERAL
    assert group.recommended_action and group.reason


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
    cats = sorted((g.category, g.count) for g in result.groups)
    assert cats == [("permanent-4xx", 1)] + [("rate-limited", 1)] * 3


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


def test_fold_by_rule_is_coarser():
    rows = [
        _row(status=422, body='{"detail":[{"loc":["body","amount"],"msg":"field required"}]}',
             n=3, example="a"),
        _row(status=422, body='{"detail":[{"loc":["body","currency"],"msg":"field required"}]}',
             n=5, example="b"),
        _row(status=503, body="Service Unavailable", n=1, example="c"),
    ]
    by_signature = fold_rows(rows)
    by_rule = fold_rows(rows, by="rule")
    assert [(g.category, g.count) for g in by_signature] == [
        ("permanent-4xx", 5), ("permanent-4xx", 3), ("transient-endpoint-down", 1)]
    assert [(g.category, g.count, g.variants) for g in by_rule] == [
        ("permanent-4xx", 8, 2), ("transient-endpoint-down", 1, 1)]
    assert by_rule[0].example_id == "b" and "currency" in by_rule[0].signature
    with pytest.raises(ValueError, match="fold by"):
        fold_rows(rows, by="tenant")
