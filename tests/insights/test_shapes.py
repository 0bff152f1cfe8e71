"""Classifying failure shapes in SQL gives exactly what triage says delivery by delivery:
on the 143 real-world failures of /work/shared/datasets/triage_dev.jsonl and on a
matrix of rate-limit headers, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from intel.insights.shapes import category_counts
from intel.store.schema import deliveries
from intel.triage import classify_delivery
from tests.conftest import DEV_SET
from tests.insights.world import NOW, delivery, write

DATASET = DEV_SET
X = "https://x.example/hook"


def _dataset() -> list[dict]:
    if not DATASET.exists():
        pytest.skip(f"{DATASET} is not here")
    records = []
    with DATASET.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            raw = json.loads(line)
            at = NOW - timedelta(minutes=i + 1)
            records.append(delivery(
                raw["endpoint"], f"tenant{i % 3}", raw["status"], at,
                http_status=raw.get("http_status"), error=raw.get("error"),
                response_body=raw.get("response_body"),
                response_headers=raw.get("response_headers"),
            ))
    return records


def _header_matrix() -> list[dict]:
    cases = [
        (403, {"X-RateLimit-Remaining": "0"}),
        (403, {"X-RateLimit-Remaining": "4999"}),
        (403, {"x-ratelimit-remaining": 0}),
        (403, {"Retry-After": "30"}),
        (400, {"RateLimit": "limit=100, remaining=0, reset=30"}),
        (400, {"RateLimit": "limit=100, remaining=7, reset=30"}),
        (503, {"Retry-After": "120"}),
        (503, None),
        (429, None),
        (503, {"X-RateLimit-Remaining": "0"}),
    ]
    records = []
    for i, (status, headers) in enumerate(cases):
        for copy in range(3):  # headers that vary between copies must not split or mix
            varied = None if headers is None else {**headers, "X-Request-Id": f"r{i}-{copy}"}
            records.append(delivery(X, f"tenant{copy}", "failed",
                                    NOW - timedelta(minutes=10 * i + copy + 1),
                                    http_status=status, response_headers=varied))
    return records


@pytest.mark.parametrize("data", [_dataset, _header_matrix], ids=["triage_dev", "headers"])
def test_folded_shapes_equal_triage_one_by_one(engine, data):
    records = write(engine, data())
    expected = Counter((r["tenant"], classify_delivery(r).category) for r in records)
    c = deliveries.c
    folded = category_counts(
        engine, where=[c.last_attempt_at >= NOW - timedelta(days=1)],
        by=[c.tenant.label("tenant")],
    )
    got = Counter({(t, cat): int(n) for t, cat, n in
                   folded[["tenant", "category", "n"]].itertuples(index=False)})
    assert got == expected


def test_not_failed_deliveries_get_their_own_category(engine):
    write(engine, [delivery(X, "t", "delivered", NOW - timedelta(minutes=1)),
                   delivery(X, "t", "pending", NOW - timedelta(minutes=2)),
                   delivery(X, "t", "failed", NOW - timedelta(minutes=3), http_status=500)])
    c = deliveries.c
    folded = category_counts(engine, where=[c.tenant == "t"], failed_only=False)
    assert dict(zip(folded["category"], folded["n"], strict=True)) == {
        "not-failed": 2, "transient-endpoint-down": 1,
    }
