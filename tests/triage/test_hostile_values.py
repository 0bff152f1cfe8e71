"""Triage over what a customer's endpoint can make us store: any JSON in the headers (not
only strings: numbers beyond float, lists, nested objects, null), Retry-After ``inf`` /
``1e300`` / ``nan``, any status (any integer, text, null), any attempts. Neither form
raises, and the batch form (the advisor's) agrees with the single one."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intel.triage import CATEGORIES, classify_delivery, classify_frame

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: 10**400 does not fit a float
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["inf", "-inf", "nan", "1e300", "1e-300", "-1", "429", "503 Slow Down"])
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=3),
    max_leaves=10,
)
header_names = st.sampled_from(
    ["Retry-After", "retry-after", "X-RateLimit-Reset", "RateLimit-Reset", "RateLimit",
     "X-RateLimit-Remaining", "Content-Type", "Server", "CF-RAY"]
) | st.text(max_size=12)
headers = st.one_of(
    json_values,
    st.dictionaries(header_names, json_values, max_size=5),
    st.lists(st.tuples(header_names, json_values), max_size=4),
    st.text(max_size=80),
)
statuses = (st.none() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
            | st.booleans())
deliveries = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["failed", "delivered", "pending", "", None]) | json_values,
        "http_status": statuses,
        "error": st.none() | st.text(max_size=120) | json_values,
        "response_headers": headers,
        "response_body": st.none() | st.text(max_size=300) | json_values | st.binary(max_size=60),
        "attempts": st.none() | st.integers() | st.text(max_size=4),
    }
)


def _check(result):
    assert result.category in CATEGORIES
    assert isinstance(result.score, int) and 0 <= result.score <= 100
    assert isinstance(result.reason, str) and result.reason


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delivery=deliveries)
def test_classify_delivery_never_raises(delivery):
    _check(classify_delivery(delivery))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(deliveries, min_size=1, max_size=8))
def test_the_batch_form_never_raises_and_agrees(rows):
    frame = pd.DataFrame(
        {
            "status": [r["status"] for r in rows],
            "http_status": pd.array([r["http_status"] for r in rows], dtype="object"),
            "error": [r["error"] for r in rows],
            "response_body": [r["response_body"] for r in rows],
            "response_headers": [r["response_headers"] for r in rows],
        }
    )
    out = classify_frame(frame)
    for row, category, score in zip(rows, out["category"], out["score"], strict=True):
        single = classify_delivery(row)
        assert (category, int(score)) == (single.category, single.score)


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "inf"}, {"Retry-After": "1e300"}, {"Retry-After": "nan"},
     {"X-RateLimit-Reset": "1e300"}, {"Retry-After": 10**400}, {"Retry-After": float("inf")},
     {"Retry-After": [["nested"]]}, {"Retry-After": None}],
)
def test_a_429_with_an_unusable_wait_is_still_rate_limited(headers):
    result = classify_delivery({"status": "failed", "http_status": 429,
                                "response_headers": headers})
    assert result.category == "rate-limited"
