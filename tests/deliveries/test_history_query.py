"""History queries: the filter vocabulary, its URL form, and SQL results on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from intel.deliveries import query as Q
from intel.deliveries.links import history_link
from intel.deliveries.query import FilterError, HistoryFilter, HistoryView
from intel.deliveries.write import upsert_deliveries
from intel.store.schema import delivery_attempts
from intel.triage import classify_delivery

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
A = "https://hooks.acme.example/in"
A2 = "https://hooks.acme.example/billing"
B = "https://api.beta.example/hooks"

# --- the filter and its URL ----------------------------------------------------------------

FILTERS = [
    HistoryFilter(),
    HistoryFilter(status="failed"),
    HistoryFilter(tenant="acme", endpoint=A, status="pending", event_type="invoice.paid",
                  category="rate-limited", window="7d"),
    HistoryFilter(window="1h", category="unknown"),
    HistoryFilter(window="custom", since=NOW - timedelta(days=2)),
    HistoryFilter(window="custom", until=NOW),
    HistoryFilter(window="custom", since=NOW - timedelta(hours=3, microseconds=5), until=NOW),
    HistoryFilter(window="custom"),
    HistoryFilter(tenant="t with spaces & ?", endpoint="https://x.example/a?b=c&d=é"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_filter_url_round_trip(flt):
    assert HistoryFilter.from_params(flt.to_params()) == flt
    # through a real link, as other pages build them
    link = history_link(**flt.to_params())
    from urllib.parse import parse_qsl, urlsplit

    assert HistoryFilter.from_params(dict(parse_qsl(urlsplit(link).query))) == flt


def test_view_round_trip_keeps_page_and_id():
    view = HistoryView(flt=HistoryFilter(tenant="acme"), page=3, id="d 1")
    parsed, problems = Q.parse_view(view.to_params())
    assert (parsed, problems) == (view, [])


PARSE = [
    # (case, params, expected filter, problem fragments)
    ("bare-is-landing", {}, HistoryFilter(status="failed"), []),
    ("other-params-only-is-landing", {"utm": "x"}, HistoryFilter(status="failed"), []),
    ("absent-status-is-all", {"tenant": "acme"}, HistoryFilter(tenant="acme"), []),
    ("status-all", {"status": "all", "window": "7d"}, HistoryFilter(window="7d"), []),
    ("since-implies-custom", {"since": "2026-11-04T16:30:00Z"},
     HistoryFilter(window="custom", since=NOW - timedelta(days=1)), []),
    ("list-values-take-last", {"tenant": ["a", "b"]}, HistoryFilter(tenant="b"), []),
    ("bad-status", {"status": "boom", "tenant": "t"}, HistoryFilter(tenant="t"),
     ["status: expected one of delivered, failed, pending or all, got 'boom'"]),
    ("bad-category", {"category": "meh", "window": "1h"}, HistoryFilter(window="1h"),
     ["category: expected one of"]),
    ("bad-window", {"window": "2d"}, HistoryFilter(), ["window: expected one of"]),
    ("bad-since", {"window": "custom", "since": "yesterday"}, HistoryFilter(window="custom"),
     ["since: not an RFC 3339 timestamp: 'yesterday'"]),
    ("since-with-named-window", {"window": "24h", "since": "2026-11-04T16:30:00Z"},
     HistoryFilter(), ["since/until are ignored with window=24h"]),
    ("until-before-since",
     {"since": "2026-11-05T00:00:00Z", "until": "2026-11-04T00:00:00Z"},
     HistoryFilter(window="custom", since=datetime(2026, 11, 5, tzinfo=UTC)),
     ["until must be after since"]),
    ("empty-values-are-absent", {"tenant": "", "status": "failed"},
     HistoryFilter(status="failed"), []),
]


@pytest.mark.parametrize(("params", "expected", "problems"), [p[1:] for p in PARSE],
                         ids=[p[0] for p in PARSE])
def test_parse_is_lenient_and_names_problems(params, expected, problems):
    flt, found = Q.parse_filter(params)
    assert flt == expected
    assert len(found) == len(problems)
    for fragment, problem in zip(problems, found, strict=True):
        assert fragment in problem


def test_strict_parse_and_constructor_refuse_bad_values():
    with pytest.raises(FilterError, match="status"):
        HistoryFilter.from_params({"status": "nope"})
    with pytest.raises(FilterError, match="window=custom"):
        HistoryFilter(since=NOW)
    with pytest.raises(FilterError, match="must be after"):
        HistoryFilter(window="custom", since=NOW, until=NOW)
    with pytest.raises(FilterError, match="window"):
        HistoryFilter(window="3d")


DESCRIBE = [
    (HistoryFilter(status="failed", endpoint=A, tenant="acme"),
     f"Failed deliveries to {A} for tenant acme in the last 24 h"),
    (HistoryFilter(), "Deliveries in the last 24 h"),
    (HistoryFilter(window="7d", event_type="invoice.paid"),
     "Deliveries of type invoice.paid in the last 7 days"),
    (HistoryFilter(window="1h", category="permanent-4xx"),
     "Failed and pending deliveries triaged permanent-4xx in the last hour"),
    (HistoryFilter(window="custom", since=NOW - timedelta(days=1), until=NOW, status="pending"),
     "Pending deliveries from 2026-11-04 16:30 to 2026-11-05 16:30 UTC"),
    (HistoryFilter(window="custom", since=NOW), "Deliveries since 2026-11-05 16:30 UTC"),
    (HistoryFilter(window="custom"), "Deliveries at any time"),
]


@pytest.mark.parametrize(("flt", "sentence"), DESCRIBE, ids=range(len(DESCRIBE)))
def test_describe(flt, sentence):
    assert flt.describe() == sentence


def test_describe_names_the_pinned_time_of_a_named_window():
    assert HistoryFilter().describe(NOW).endswith("(as of 2026-11-05 16:30 UTC)")


# --- SQL on hand-made data -----------------------------------------------------------------


def _d(i, minutes_ago, *, tenant="acme", endpoint=A, status="failed", **fields):
    at = NOW - timedelta(minutes=minutes_ago)
    rec = {
        "id": f"d{i:03d}", "tenant": tenant, "endpoint": endpoint, "event_type": "invoice.paid",
        "status": status, "http_status": None, "error": None, "response_headers": None,
        "response_body": None, "attempts": 1, "created_at": at - timedelta(seconds=5),
        "last_attempt_at": at, "duration_ms": 5.0, "payload": {"n": i}, "extra": None,
    }
    if status == "delivered":
        rec["http_status"] = 200
    rec.update(fields)
    return rec


DATA = [
    _d(1, 5, http_status=503, response_body="<html>503 Service Unavailable</html>"),
    _d(2, 10, error="dial tcp 10.0.0.7:443: connect: connection refused"),
    _d(3, 20, status="delivered"),
    _d(4, 30, http_status=401, response_body='{"error":"invalid signature"}'),
    _d(5, 30, http_status=429, response_headers={"Retry-After": "120"}),  # same time as d004
    _d(6, 50, status="pending", http_status=503),
    _d(7, 90, endpoint=A2, status="delivered", event_type="customer.created"),
    _d(8, 120, tenant="beta", endpoint=B, http_status=404),
    _d(9, 60 * 20, tenant="beta", endpoint=B, status="delivered"),
    _d(10, 60 * 30, tenant="beta", endpoint=B, error="weird thing happened"),  # 30 h ago
    _d(11, 60 * 24 * 8, status="failed", http_status=500),  # 8 days ago
    _d(12, 0, status="delivered"),  # exactly now: inside a named window
]


@pytest.fixture
def history_engine(engine):
    with engine.begin() as conn:
        upsert_deliveries(conn, DATA, now=NOW)
    return engine


def _ids(rows):
    return [r["id"] for r in rows]


QUERIES = [
    # (case, filter, ids in order)
    ("24h-all", HistoryFilter(),
     ["d012", "d001", "d002", "d003", "d004", "d005", "d006", "d007", "d008", "d009"]),
    ("24h-failed", HistoryFilter(status="failed"), ["d001", "d002", "d004", "d005", "d008"]),
    ("1h", HistoryFilter(window="1h"), ["d012", "d001", "d002", "d003", "d004", "d005", "d006"]),
    ("7d-tenant", HistoryFilter(window="7d", tenant="beta"), ["d008", "d009", "d010"]),
    ("endpoint", HistoryFilter(endpoint=A2), ["d007"]),
    ("event-type", HistoryFilter(window="7d", event_type="customer.created"), ["d007"]),
    ("pending", HistoryFilter(status="pending"), ["d006"]),
    ("custom-half-open",
     HistoryFilter(window="custom", since=NOW - timedelta(minutes=30), until=NOW - timedelta(
         minutes=5)),
     ["d002", "d003", "d004", "d005"]),
    ("custom-unbounded", HistoryFilter(window="custom", tenant="acme", status="failed"),
     ["d001", "d002", "d004", "d005", "d011"]),
]


@pytest.mark.parametrize(("flt", "expected"), [q[1:] for q in QUERIES], ids=[q[0] for q in QUERIES])
def test_pages_and_totals(history_engine, flt, expected):
    result = Q.view_page(history_engine, flt, NOW)
    assert _ids(result.rows) == expected
    assert result.total == len(expected)
    statuses = [r["status"] for r in result.rows]
    assert result.by_status == {s: statuses.count(s) for s in set(statuses)}
    rows, total = Q.page(history_engine, flt, NOW)
    assert (_ids(rows), total) == (expected, len(expected))


def test_pagination(history_engine):
    flt = HistoryFilter()
    seen = []
    for number in (1, 2, 3, 4):
        result = Q.view_page(history_engine, flt, NOW, page=number, per_page=3)
        assert result.total == 10 and result.pages == 4
        seen += _ids(result.rows)
    assert seen == _ids(Q.view_page(history_engine, flt, NOW).rows)
    last = Q.view_page(history_engine, flt, NOW, page=4, per_page=3)
    assert (last.first, last.last) == (10, 10)
    assert Q.view_page(history_engine, flt, NOW, page=9, per_page=3).rows == []


CATEGORY_CASES = [
    ("transient", HistoryFilter(category="transient-endpoint-down"), ["d001", "d002", "d006"]),
    ("permanent", HistoryFilter(category="permanent-4xx"), ["d004", "d008"]),
    ("rate-limited", HistoryFilter(category="rate-limited"), ["d005"]),
    ("unknown-7d", HistoryFilter(window="7d", category="unknown"), ["d010"]),
    ("with-status", HistoryFilter(category="transient-endpoint-down", status="pending"),
     ["d006"]),
    ("with-tenant", HistoryFilter(category="permanent-4xx", tenant="beta"), ["d008"]),
    ("delivered-has-none", HistoryFilter(category="unknown", status="delivered"), []),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in CATEGORY_CASES],
                         ids=[c[0] for c in CATEGORY_CASES])
def test_category_filter(history_engine, flt, expected):
    result = Q.view_page(history_engine, flt, NOW)
    assert _ids(result.rows) == expected
    assert result.total == len(expected)
    assert result.note is None
    for row in result.rows:  # the same answer as triaging the whole delivery
        assert classify_delivery(row).category == flt.category
    assert sum(result.by_status.values()) == len(expected)


def test_category_counts_and_pages_reuse_the_triage_pass(history_engine):
    flt = HistoryFilter(window="custom", category="transient-endpoint-down")  # all time
    with history_engine.connect() as conn:
        matches = Q.category_matches(conn, flt, NOW)
    assert matches.ids == ("d001", "d002", "d006", "d011")
    assert matches.by_category == {
        "transient-endpoint-down": 4, "permanent-4xx": 2, "rate-limited": 1, "unknown": 1,
    }
    assert matches.candidates == 8
    second = Q.view_page(history_engine, flt, NOW, page=2, per_page=3, matches=matches)
    assert _ids(second.rows) == ["d011"] and second.total == 4


def test_category_filter_refuses_a_view_too_broad(history_engine, monkeypatch):
    monkeypatch.setattr(Q, "CATEGORY_SCAN_LIMIT", 3)
    result = Q.view_page(history_engine, HistoryFilter(category="unknown"), NOW)
    assert result.rows == [] and result.total == 0
    assert "needs a narrower view: 6 failed and pending deliveries match (limit 3)" in result.note


def test_rows_get_their_triage_and_delivered_ones_none(history_engine):
    rows = Q.with_triage(Q.view_page(history_engine, HistoryFilter(window="1h"), NOW).rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["d001"]["category"] == "transient-endpoint-down"
    assert by_id["d004"]["category"] == "permanent-4xx"
    assert by_id["d005"]["category"] == "rate-limited" and "Retry-After" in by_id["d005"]["reason"]
    assert by_id["d003"]["category"] is None and by_id["d003"]["reason"] is None
    for row in rows:
        if row["category"]:
            expected = classify_delivery(row)
            assert (row["score"], row["recommended_action"]) == (
                expected.score, expected.recommended_action
            )


def test_get_delivery_has_every_field_and_the_attempts_in_order(history_engine):
    with history_engine.begin() as conn:
        conn.execute(delivery_attempts.insert(), [
            {"delivery_id": "d001", "attempt_no": 2, "kind": "replay", "status": "delivered",
             "http_status": 200, "finished_at": NOW + timedelta(minutes=2),
             "operator": "alice", "job_id": "j1"},
            {"delivery_id": "d001", "attempt_no": 2, "kind": "replay", "status": "failed",
             "http_status": 503, "finished_at": NOW + timedelta(minutes=1), "operator": "bob",
             "job_id": None},
        ])
    delivery = Q.get_delivery(history_engine, "d001")
    assert delivery["payload"] == {"n": 1} and delivery["http_status"] == 503
    assert {"extra", "updated_at", "created_at", "response_headers"} <= set(delivery)
    timeline = delivery["attempts_timeline"]
    assert [(a["kind"], a["operator"]) for a in timeline] == [
        ("delivery", None), ("replay", "bob"), ("replay", "alice")
    ]
    assert Q.get_delivery(history_engine, "nope") is None


def test_option_lists(history_engine):
    assert Q.tenants(history_engine) == ["acme", "beta"]
    assert Q.tenants(history_engine, limit=1) == ["acme"]
    assert Q.event_types(history_engine) == ["customer.created", "invoice.paid"]
    assert Q.endpoints(history_engine) == sorted([A, A2, B])
    assert Q.endpoints(history_engine, "acme") == sorted([A, A2])
    assert Q.endpoints(history_engine, "acme", since=NOW - timedelta(minutes=60)) == [A]


def test_status_totals_use_one_statement(history_engine):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(history_engine, "before_cursor_execute", count)
    try:
        result = Q.view_page(history_engine, HistoryFilter(window="7d"), NOW)
    finally:
        sa.event.remove(history_engine, "before_cursor_execute", count)
    assert result.by_status == {"failed": 6, "delivered": 4, "pending": 1}
    assert len(statements) == 2  # the totals, the page


def test_with_triage_uses_the_given_classifier_and_skips_delivered():
    import pandas as pd

    from intel.deliveries.query import with_triage

    seen = []

    def classify(frame):
        seen.append(list(frame["id"]))
        return pd.DataFrame(
            {"category": "unknown", "score": 7, "reason": "model said so",
             "recommended_action": "look", "rule": "model"},
            index=frame.index,
        )

    rows = [{"id": "a", "status": "failed"}, {"id": "b", "status": "delivered"}]
    out = with_triage(rows, classify=classify)
    assert seen == [["a"]]
    assert out[0]["score"] == 7 and out[0]["reason"] == "model said so"
    assert out[1]["category"] is None
