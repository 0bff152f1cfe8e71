"""classify_frame equals classify_delivery row by row."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from intel.triage import classify_delivery, classify_frame
from intel.triage.engine import FRAME_COLUMNS, PRECOMPUTED_HEADERS_COLUMN
from intel.triage.signature import relevant_headers


def _families(rng: random.Random):
    host = f"h{rng.randint(0, 50)}.acme{rng.randint(0, 9)}.test"
    ip = f"192.0.2.{rng.randint(1, 254)}"
    n = rng.randint(1, 99999)
    return [
        (
            None,
            f'Post "https://{host}/in": dial tcp {ip}:443: connect: connection refused',
            None,
            None,
        ),
        (None, f"connect ETIMEDOUT {ip}:{rng.randint(1, 65535)}", None, None),
        (None, f"getaddrinfo ENOTFOUND {host}", None, None),
        (None, f"x509: certificate has expired (serial {n})", None, None),
        (503, None, "<h1>503 Service Unavailable</h1>", {"Retry-After": str(n % 300)}),
        (502, None, "<title>502 Bad Gateway</title>", {"Server": "nginx"}),
        (429, None, f'{{"retry_after": {n % 60}}}', {"X-RateLimit-Remaining": "0"}),
        (403, None, f"API rate limit exceeded for {ip}", {"x-ratelimit-remaining": "0"}),
        (404, None, f"Cannot POST /hooks/{n}", None),
        (401, None, f'{{"error":"invalid signature","id":"{n:x}"}}', None),
        (500, None, f"trace {n}", {"Content-Type": "text/plain"}),
        ("503", None, None, None),
        (522.0, None, None, None),
        (None, f"HTTP Error {rng.choice([404, 503, 429])}: whatever", None, None),
        (True, ["odd", n], {"k": n}, "Retry-After: 4"),
        (None, None, None, [("RateLimit", "limit=10, remaining=0")]),
        (None, b"socket hang up", None, None),
        (None, float("nan"), float("nan"), float("nan")),
        (None, n, n * 1.5, None),
    ]


def make_frame(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        status, error, body, headers = rng.choice(_families(rng))
        records.append(
            {
                "id": f"d{i}",
                "status": rng.choice(["failed", "failed", "failed", "pending", "delivered"]),
                "http_status": status,
                "error": error,
                "response_body": body,
                "response_headers": headers,
            }
        )
    return pd.DataFrame.from_records(records)


def assert_rows_equal(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    assert list(out.columns) == list(FRAME_COLUMNS)
    assert out.index.equals(frame.index)
    for (index, record), (_, row) in zip(
        frame.to_dict("index").items(), out.iterrows(), strict=True
    ):
        expected = classify_delivery(record)
        got = (row.category, int(row.score), row.reason, row.recommended_action, row.rule)
        assert got == (
            expected.category,
            expected.score,
            expected.reason,
            expected.recommended_action,
            expected.rule,
        ), index


def test_batch_equals_row_by_row_on_varied_failures():
    frame = make_frame(3000)
    out = classify_frame(frame)
    assert_rows_equal(frame, out)
    assert out["category"].nunique() == 4
    assert out["score"].dtype == np.int64


def test_batch_keeps_a_custom_index():
    frame = make_frame(200, seed=9)
    frame.index = pd.Index([f"row-{i}" for i in range(len(frame))][::-1])
    assert_rows_equal(frame, classify_frame(frame))


@pytest.mark.parametrize("dtype", ["Int64", "float64", "object", "str"])
def test_http_status_column_dtypes(dtype):
    frame = pd.DataFrame(
        {"status": ["failed"] * 4, "http_status": [503, None, 404, 429], "error": [None] * 4}
    )
    frame["http_status"] = frame["http_status"].astype(dtype)
    assert_rows_equal(frame, classify_frame(frame))


def test_precomputed_headers_column_gives_the_same_answers():
    frame = make_frame(500, seed=5)
    fast = frame.drop(columns=["response_headers"])
    fast[PRECOMPUTED_HEADERS_COLUMN] = [relevant_headers(h) for h in frame["response_headers"]]
    pd.testing.assert_frame_equal(classify_frame(fast), classify_frame(frame))


def test_missing_columns_count_as_empty():
    frame = pd.DataFrame({"http_status": [503, 404]})
    assert_rows_equal(frame, classify_frame(frame))
    out = classify_frame(pd.DataFrame(index=[7, 8]))
    assert list(out["rule"]) == ["no-evidence", "no-evidence"]


def test_empty_frame():
    out = classify_frame(pd.DataFrame(columns=["http_status", "error"]))
    assert list(out.columns) == list(FRAME_COLUMNS)
    assert len(out) == 0
