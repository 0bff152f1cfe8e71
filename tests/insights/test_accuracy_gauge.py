"""The Insights accuracy gauge: strict accuracy (the gate's), accepted accuracy beside it,
the same figures as the Accuracy page's report over the same labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.auth.scope import TenantScope
from intel.deliveries.write import upsert_deliveries
from intel.insights.accuracy import triage_accuracy
from intel.labels.accuracy import accuracy_report
from intel.labels.store import create_label

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
T, P, R, U = "transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown"
S503 = {"http_status": 503, "response_body": "Service Unavailable"}  # rules: transient
S404 = {"http_status": 404, "response_body": "Not Found"}  # rules: permanent
TLS = {"http_status": None, "error": "x509: certificate signed by unknown authority"}  # P


def _delivery(i: int, tenant: str, fields: dict, acceptable: list[str] | None) -> dict:
    at = NOW - timedelta(hours=3, minutes=i)
    record = {"id": f"g{i:03d}", "tenant": tenant, "endpoint": "https://h.example/in",
              "status": "failed", "http_status": None, "error": None, "response_body": None,
              "created_at": at, "last_attempt_at": at, "attempts": 1}
    record.update(fields)
    if acceptable is not None:  # where the dev-set import keeps it
        record["extra"] = {"acceptable": acceptable}
    return record


# (fields, label, acceptable, tenant): expected (labelled, strict right, accepted right)
SETS = {
    "all right": ([(S503, T, None, "acme"), (S404, P, None, "acme")], (2, 2, 2)),
    "accepted alternative": (
        [(S404, T, [T, P, U], "acme"), (S503, T, None, "acme"), (TLS, P, [P, U], "beta")],
        (3, 2, 3)),
    "wrong, not accepted": ([(S404, T, None, "acme"), (S503, P, [P, U], "acme")], (2, 0, 0)),
    "mixed": ([(S503, T, None, "acme"), (S404, R, [R, P], "beta"), (S404, U, None, "beta"),
               (TLS, P, None, "acme")], (4, 2, 3)),
}


def _store(engine, rows) -> None:
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(i, tenant, fields, acc)
                                 for i, (fields, _, acc, tenant) in enumerate(rows)], now=NOW)
        for i, (_, label, _, _) in enumerate(rows):
            create_label(conn, delivery_id=f"g{i:03d}", category=label, labeler="lead",
                         now=NOW - timedelta(hours=1))


@pytest.mark.parametrize(("rows", "expected"), SETS.values(), ids=SETS.keys())
def test_gauge_is_strict_with_accepted_beside_it(engine, rows, expected):
    _store(engine, rows)
    body = triage_accuracy(engine, NOW)
    labelled, strict, accepted = expected
    assert (body["labelled"], body["correct"], body["accepted_correct"]) == expected
    assert body["accuracy"] == body["strict_accuracy"] == pytest.approx(strict / labelled)
    assert body["accepted_accuracy"] == pytest.approx(accepted / labelled)
    assert body["basis"] == "strict" and body["target"] == 0.85
    assert body["gate_passed"] is (strict / labelled >= 0.85)
    with engine.connect() as conn:
        report = accuracy_report(conn, as_of=NOW).report  # the Accuracy page's report
    assert (report.n, report.correct, report.accepted_correct) == expected
    assert sum(b["labelled"] for b in body["by_label"]) == labelled
    assert sum(b["correct"] for b in body["by_label"]) == strict


@pytest.mark.parametrize(("tenants", "expected"), [(["acme"], (2, 2, 2)), (["beta"], (2, 0, 1)),
                                                  (["acme", "beta"], (4, 2, 3)),
                                                  (["nobody"], (0, 0, 0))])
def test_gauge_within_a_scope(engine, tenants, expected):
    _store(engine, SETS["mixed"][0])
    body = triage_accuracy(engine, NOW, scope=TenantScope.of(tenants))
    assert (body["labelled"], body["correct"], body["accepted_correct"]) == expected
    if expected[0] == 0:
        assert body["accuracy"] is None and body["accepted_accuracy"] is None


def test_labels_after_now_are_not_counted_yet(engine):
    _store(engine, SETS["all right"][0])
    assert triage_accuracy(engine, NOW - timedelta(hours=2))["labelled"] == 0
    assert triage_accuracy(engine, NOW - timedelta(hours=1))["labelled"] == 2  # at: counted
