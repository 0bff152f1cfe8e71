"""classify_delivery: the public contract (CONTRACTS §2), odd inputs, safety, caching."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intel.triage import CATEGORIES, TriageResult, classify_delivery
from intel.triage.engine import classify_key, clear_caches, decide
from intel.triage.signature import raw_key

FIELDS = [
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
    "duration_ms", "payload",
]  # fmt: skip


def check(result):
    assert isinstance(result, TriageResult)
    assert result.category in CATEGORIES
    assert isinstance(result.score, int) and not isinstance(result.score, bool)
    assert 0 <= result.score <= 100
    assert isinstance(result.reason, str) and result.reason
    assert isinstance(result.recommended_action, str) and result.recommended_action
    assert f"rule `{result.rule}`" in result.reason


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60)
    | st.sampled_from(["503", "429", "delivered", "connection refused", "Retry-After", "0"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(FIELDS) | st.text(max_size=10)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=10))
def test_never_raises_on_arbitrary_dicts(delivery):
    check(classify_delivery(delivery))


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["Retry-After", "X-RateLimit-Remaining", "ratelimit"]), values, max_size=3
    ),
    st.one_of(st.none(), st.integers(100, 599), st.text(max_size=5)),
)
def test_never_raises_on_odd_headers(headers, status):
    check(
        classify_delivery({"status": "failed", "http_status": status, "response_headers": headers})
    )


@pytest.mark.parametrize(
    "delivery",
    [
        None,
        42,
        "text",
        [],
        [("http_status", 503)],
        {},
        {"status": None},
        {"http_status": float("nan")},
        {"http_status": math.inf},
        {"http_status": True},
        {"http_status": [503]},
        {"http_status": {"code": 503}},
        {"http_status": b"503"},
        {"error": b"\xff\xfe connection refused"},
        {"error": ["connection", "refused"]},
        {"error": {"message": "socket hang up"}},
        {"response_body": 12.5},
        {"response_headers": "not: a: header"},
        {"response_headers": 17},
        {"response_headers": [1, 2, None]},
        {"response_headers": {None: "x", 3: 4}},
        {"response_headers": {"Retry-After": ["1", "2"]}},
        {"status": ["delivered"]},
        {"error": "x" * 200_000},
        {"response_body": "<style>" + "a{}" * 40_000 + "</style>503"},
    ],
)
def test_odd_values_do_not_raise(delivery):
    check(classify_delivery(delivery))


class ExplodingMapping(OrderedDict):
    def get(self, key, default=None):
        raise RuntimeError("boom")


def test_a_mapping_that_raises_reads_as_empty():
    result = classify_delivery(ExplodingMapping(http_status=503))
    check(result)
    assert result.category == "unknown"


@pytest.mark.parametrize(
    ("http_status", "category"),
    [
        (503, "transient-endpoint-down"),
        ("503", "transient-endpoint-down"),
        (" 503 ", "transient-endpoint-down"),
        (503.0, "transient-endpoint-down"),
        ("503 Service Unavailable", "transient-endpoint-down"),
        (404, "permanent-4xx"),
        ("404.0", "permanent-4xx"),
        (429, "rate-limited"),
        (True, "unknown"),
        (503.5, "unknown"),
        (99, "unknown"),
        (600, "unknown"),
        ([503], "unknown"),
    ],
)
def test_http_status_types(http_status, category):
    assert classify_delivery({"status": "failed", "http_status": http_status}).category == category


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "30"},
        {"retry-after": "30"},
        {"RETRY-AFTER": 30},
        [("Retry-After", "30")],
        [["retry-after", "30"]],
        ["Retry-After: 30"],
        [{"name": "Retry-After", "value": "30"}],
        "Retry-After: 30\r\nContent-Type: text/html",
        '{"Retry-After": "30"}',
    ],
)
def test_header_shapes_and_case(headers):
    result = classify_delivery(
        {"status": "failed", "http_status": 503, "response_headers": headers}
    )
    assert result.rule == "http-5xx-retry-after"
    assert "Retry-After: 30" in result.reason


def test_delivered_is_not_a_failure():
    result = classify_delivery({"status": "delivered", "http_status": 200})
    assert result.category == "unknown"
    assert result.score == 0
    assert "not a failure" in result.reason
    assert result.rule == "delivered-not-a-failure"
    assert not result.safe_to_retry


def test_delivered_wins_over_error_text():
    result = classify_delivery({"status": "delivered", "error": "connection refused"})
    assert result.rule == "delivered-not-a-failure"


def test_pending_with_an_error_is_triaged():
    result = classify_delivery({"status": "pending", "error": "connect ECONNREFUSED 10.0.0.1:80"})
    assert result.category == "transient-endpoint-down"


def test_safe_to_retry_property():
    assert classify_delivery({"http_status": 503}).safe_to_retry
    assert not classify_delivery({"http_status": 500}).safe_to_retry
    assert not classify_delivery({"http_status": 404}).safe_to_retry


def test_to_dict_has_the_contract_fields():
    body = classify_delivery({"http_status": 502}).to_dict()
    assert set(body) >= {"category", "score", "reason", "recommended_action", "rule"}


def test_same_failure_different_hosts_share_one_decision():
    clear_caches()
    a = {
        "error": 'Post "https://a.acme.test/x": dial tcp 192.0.2.1:443: connect: connection refused'
    }
    b = {
        "error": 'Post "https://b.other.test/y": dial tcp 198.51.100.9:8443: '
        "connect: connection refused"
    }
    ra, rb = classify_delivery(a), classify_delivery(b)
    assert (ra.category, ra.score, ra.rule) == (rb.category, rb.score, rb.rule)
    assert decide.cache_info().misses == 1
    assert classify_key.cache_info().misses == 2


def test_results_are_memoised_and_stable():
    delivery = {"http_status": 429, "response_headers": {"Retry-After": "9"}}
    first = classify_delivery(delivery)
    assert classify_delivery(dict(delivery)) == first
    assert classify_key(raw_key(delivery)) is classify_key(raw_key(delivery))


def test_reason_is_readable_evidence():
    result = classify_delivery({"error": "Error: getaddrinfo EAI_AGAIN hooks.acme.test"})
    assert result.reason.startswith("Temporary DNS failure: 'eai_again'")
    assert result.reason.endswith("— rule `dns-temporary-failure`")


# --- the literal prefilter gives what the whole regex gives ------------------------------


def _corpus():
    from intel.triage.signature import as_text, normalize_text
    from tests.triage.test_rules import CASES, FAMILIES

    texts = set()
    for _, delivery in CASES:
        texts.add(normalize_text(as_text(delivery.get("error"))))
        texts.add(normalize_text(as_text(delivery.get("response_body"))))
    for _, _, error, body, _ in FAMILIES:
        texts.add(normalize_text(as_text(error)))
        texts.add(normalize_text(as_text(body)))
    return sorted(texts)


def test_prefiltered_matchers_equal_the_whole_regex():
    import re

    from intel.triage.engine import _CAPS, _COMPILED

    corpus = _corpus()
    pairs = [
        (getattr(c.rule, name), getattr(c, name))
        for c in _COMPILED
        for name in ("error", "body", "text", "unless")
        if getattr(c, name) is not None
    ] + [(c.cap.text, c.text) for c in _CAPS if c.text is not None]
    for source, matcher in pairs:
        whole = re.compile(source, re.IGNORECASE | re.ASCII)
        for text in corpus:
            found = whole.search(text)
            expected = None if found is None else (found.group(0) or text)
            assert matcher.search(text) == expected, (source[:40], text)


@pytest.mark.parametrize(
    ("pattern", "parts"),
    [
        ("a|b", ["a", "b"]),
        (r"a(b|c)|d", ["a(b|c)", "d"]),
        (r"[|]x|\|y", ["[|]x", r"\|y"]),
        (r"[]|]z|w", ["[]|]z", "w"]),
        ("single", ["single"]),
    ],
)
def test_split_alternatives(pattern, parts):
    from intel.triage.engine import split_alternatives

    assert split_alternatives(pattern) == parts


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("connection refused", ("connection refused",)),
        (r"\bx509\b", ("x509",)),
        ("abc|defg", ("defg", "abc")),
        (r"timed? ?out", ("time",)),
        (r"a?b?c?d", None),  # no literal of 3+ characters is certain
        (r"(could|can) not resolve", (" not resolve",)),
        (r"(foo|ba)r", None),
        (r"(?<![a-z])not[ _]found", ("found",)),
    ],
)
def test_required_literals(pattern, literals):
    from intel.triage.engine import required_literals

    assert required_literals(pattern) == literals
