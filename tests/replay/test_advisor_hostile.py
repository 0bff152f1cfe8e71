"""The advisor never raises on what a customer's endpoint stored: Retry-After ``inf``,
``1e300``, ``nan``, ``X-RateLimit-Reset: 1e300``, headers that are not an object, huge
numbers; on SQLite and PostgreSQL, and for any single delivery (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intel.advisor import DECISIONS, get_replay_recommendations
from intel.advisor.candidate import Candidate
from intel.advisor.decide import decide, not_before
from intel.advisor.health import EndpointHealth, OpenIncident
from intel.replay.retry_after import MAX_WAIT_S
from intel.settings.replay import ReplaySettings
from intel.store.schema import incidents
from intel.triage import classify_delivery
from intel.triage.result import CATEGORIES, TriageResult
from tests.replay.replay_helpers import delivery, seed

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
FAILED_AT = NOW - timedelta(minutes=10)
LIMITED = "https://limited.example/hooks"
SECRET_URL = "https://alice:hunter2@creds.example/hooks"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "inf"}, FAILED_AT + timedelta(seconds=MAX_WAIT_S)),
        ({"Retry-After": "1e300"}, FAILED_AT + timedelta(seconds=MAX_WAIT_S)),
        ({"X-RateLimit-Reset": "1e300"}, FAILED_AT + timedelta(seconds=MAX_WAIT_S)),
        ({"RateLimit-Reset": "inf"}, FAILED_AT + timedelta(seconds=MAX_WAIT_S)),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-30"}, None),
        ({"Retry-After": 10**30}, FAILED_AT + timedelta(seconds=MAX_WAIT_S)),
        ({"Retry-After": ["30"]}, FAILED_AT + timedelta(seconds=30)),
        ({"Retry-After": {"x": 1}}, None),
        ("Retry-After: 30", None),
        ([1, 2], None),
    ],
)
def test_not_before_of_hostile_headers(headers, expected):
    assert not_before(headers, FAILED_AT) == expected


HOSTILE_HEADERS = [
    {"Retry-After": "inf"},
    {"Retry-After": "1e300"},
    {"Retry-After": "nan"},
    {"X-RateLimit-Reset": "1e300"},
    {"x-ratelimit-reset": "-1e300"},
    {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"Retry-After": 10**30},
    {"Retry-After": 1e300},
    {"Retry-After": None, "RateLimit": "reset=inf"},
    {"Retry-After": ["inf", "1"]},
    {"Retry-After": {"deep": [{"er": "1e300"}]}},
    ["Retry-After", "inf"],
    "Retry-After: inf",
    12345,
    {"": "", "retry-after ": " 1e300 "},
]


def _world(engine):
    rows = []
    for i, headers in enumerate(HOSTILE_HEADERS):
        rows.append(delivery(f"h{i:02d}", LIMITED, http_status=429, response_headers=headers,
                             response_body='{"error":"slow down"}', created_at=FAILED_AT,
                             last_attempt_at=FAILED_AT))
    # odd evidence for the other rules: huge numbers, control characters, a credentialed URL
    rows += [
        delivery("x1", SECRET_URL, http_status=None, response_body=None,
                 error="dial tcp 10.0.0.7:443: connect: connection refused",
                 created_at=FAILED_AT, last_attempt_at=FAILED_AT),
        delivery("x3", SECRET_URL, http_status=None, response_body=None,
                 error="odd: https://alice:hunter2@creds.example/x said no",
                 created_at=FAILED_AT, last_attempt_at=FAILED_AT),
        delivery("x2", LIMITED, http_status=599, response_body="\x01\x02" * 500 + "1e300",
                 response_headers={"Retry-After": "inf", "Content-Type": "\x7f?"},
                 created_at=datetime(1, 1, 1, tzinfo=UTC), last_attempt_at=FAILED_AT),
        delivery("ok", SECRET_URL, status="delivered", http_status=200, response_body="ok",
                 created_at=NOW - timedelta(minutes=5), last_attempt_at=NOW - timedelta(minutes=5)),
    ]
    seed(engine, rows)
    with engine.begin() as conn:
        conn.execute(incidents.insert().values(
            id="inc-c", dedup_key=f"endpoint_spike|{SECRET_URL}", type="endpoint_spike",
            target=SECRET_URL, severity="critical", status="active", current_failures=9,
            peak_failures=9, baseline=1.0, detected_at=NOW - timedelta(minutes=20),
            updated_at=NOW))


def test_the_advisor_runs_over_hostile_stored_values(engine):
    _world(engine)
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)  # never raises
    held = {h["id"]: h for h in advice["held_back"]}
    assert advice["total_analyzed"] == len(HOSTILE_HEADERS) + 3
    capped = FAILED_AT + timedelta(seconds=MAX_WAIT_S)
    for i in (0, 1, 3):  # inf, 1e300, X-RateLimit-Reset 1e300: capped to a week, said so
        h = held[f"h{i:02d}"]
        assert h["decision"] == "retry_later"
        assert h["not_before"] == capped.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "more than 7 days" in h["reason"]
    assert held["h02"]["not_before"] is None and "no usable time" in held["h02"]["reason"]
    assert all(h["decision"] in DECISIONS for h in held.values())
    assert held["x1"]["decision"] == "wait"  # the open incident on its endpoint
    assert "***@creds.example" in held["x1"]["reason"]
    text = repr(advice)
    assert "hunter2" not in "".join(h["reason"] for h in held.values())
    assert "alice:hunter2" in text  # the data field itself is kept (the API/UI redact it)


# --- one delivery, any evidence ---------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(
    max_size=30)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)
header_value = json_values | st.sampled_from(
    ["inf", "-inf", "nan", "1e300", "-1", "0", "Fri, 31 Dec 9999 23:59:59 GMT", "30, 60",
     "reset=inf"])
headers = st.one_of(
    json_values,
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after", "X-RateLimit-Reset", "RateLimit-Reset",
                         "RateLimit", "X-RateLimit-Reset-After"]) | st.text(max_size=10),
        header_value, max_size=4),
)
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC))
endpoints = st.sampled_from([LIMITED, SECRET_URL, "ftp://x/", "", "http://", "not a url",
                             "https://[::1/"]) | st.text(max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.none() | st.integers() | st.text(max_size=5),
    error=st.none() | st.text(max_size=60) | json_values,
    body=st.none() | st.text(max_size=200) | json_values,
    hdrs=headers,
    category=st.none() | st.sampled_from(CATEGORIES),
    score=st.integers(0, 100),
    claim=st.sampled_from([None, "sending", "succeeded", "unknown"]),
    failed_at=times,
    last_ok=st.none() | times,
    again=st.integers(0, 10),
    endpoint=endpoints,
    no_payload=st.booleans(),
    disabled=st.none() | st.booleans(),
    incident=st.booleans(),
)
def test_the_decision_never_raises(status, error, body, hdrs, category, score, claim,
                                   failed_at, last_ok, again, endpoint, no_payload, disabled,
                                   incident):
    triage = classify_delivery({"status": "failed", "http_status": status, "error": error,
                                "response_body": body, "response_headers": hdrs})
    verdict = TriageResult(category or triage.category, score if category else triage.score,
                           triage.reason, triage.recommended_action)
    candidate = Candidate(id="d", tenant="acme", endpoint=endpoint, created_at=failed_at,
                          failed_at=failed_at, response_headers=hdrs, no_payload=no_payload,
                          endpoint_disabled=bool(disabled), claim_state=claim,
                          claim_job="rj-1")
    health = EndpointHealth(last_success_at=last_ok, down_failures_since=again,
                            episodes=again, recent_deliveries=2 * again)
    on = OpenIncident(id="inc", type="endpoint_spike", severity="warning", target=endpoint,
                      detected_at=failed_at) if incident else None
    decided = decide(candidate, verdict, health, on, ReplaySettings())
    assert decided.decision in DECISIONS
    assert isinstance(decided.reason, str) and decided.reason
    assert decided.not_before is None or isinstance(decided.not_before, datetime)
