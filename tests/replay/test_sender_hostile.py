"""The replay sender against a hostile receiver: any status, headers and body are described
without raising (hypothesis), the 429 wait comes from the shared parser and is capped,
a charset that is not a text encoding does not crash a job, stored headers are capped,
and an endpoint URL's credentials are never sent as Basic auth (unless allowed) nor
shown — against a real local receiver counting the Authorization header."""

from __future__ import annotations

import base64
import json
import logging
import math
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intel.replay import jobs as J
from intel.replay import replay_single
from intel.replay.retry_after import MAX_WAIT_S
from intel.replay.runner import run_job
from intel.replay.sender import (
    FAILED,
    RATE_LIMITED,
    SUCCEEDED,
    decode_body,
    describe_response,
    outbound_url,
    plan_rate_limit,
)
from intel.settings.limits import LimitSettings
from intel.store.schema import delivery_attempts, replay_items
from tests.replay.replay_helpers import T0, Answer, delivery, seed
from tests.replay.replay_helpers import settings as replay_settings

NOW = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)


# --- describing a response (pure) -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "wait", "capped"),
    [
        (200, {}, SUCCEEDED, None, False),
        (429, {"Retry-After": "30"}, RATE_LIMITED, 30.0, False),
        (429, {"Retry-After": "inf"}, RATE_LIMITED, MAX_WAIT_S, True),
        (429, {"Retry-After": "1e300"}, RATE_LIMITED, MAX_WAIT_S, True),
        (429, {"Retry-After": "nan"}, RATE_LIMITED, None, False),
        (429, {"X-RateLimit-Reset": "1e300"}, RATE_LIMITED, MAX_WAIT_S, True),
        (429, {"X-RateLimit-Reset-After": "2"}, RATE_LIMITED, 2.0, False),
        (503, {"Retry-After": "30"}, FAILED, None, False),
        (-1, {}, FAILED, None, False),
        (10**6, {}, FAILED, None, False),
    ],
)
def test_describe_response(status, headers, outcome, wait, capped):
    result = describe_response(started=NOW, finished=NOW, status=status, headers=headers,
                               body=b"x", duration_ms=1.0)
    assert (result.outcome, result.retry_after_s, result.retry_after_capped) == (
        outcome, wait, capped)


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("text/plain; charset=base64", b"aGVsbG8=", "aGVsbG8="),  # not a text encoding
        ("text/plain; charset=zlib", b"\x00\x01", "\x00\x01"),
        ("text/plain; charset=hex", b"zz", "zz"),
        ("text/plain; charset=rot13", b"uryyb", "uryyb"),
        ("text/plain; charset=no-such", b"ok", "ok"),
        ("text/plain; charset=latin-1", "é".encode("latin-1"), "é"),
        ('text/plain; charset="utf-16"', "hi".encode("utf-16"), "hi"),
        ("text/plain", b"\xff\xfe bad", "\ufffd\ufffd bad"),
        (None, b"ok", "ok"),
        (12, b"ok", "ok"),
    ],
)
def test_decode_body_only_uses_text_encodings(content_type, body, text):
    assert decode_body(body, content_type) == text


def test_stored_headers_are_capped():
    headers = [(f"x-h{i}", "v" * 100) for i in range(500)]
    result = describe_response(started=NOW, finished=NOW, status=500, headers=headers,
                               body=b"", duration_ms=1.0,
                               limits=LimitSettings(max_headers_bytes=2048))
    assert len(json.dumps(result.headers).encode()) <= 2048
    assert "…truncated" in result.headers
    assert "header(s) dropped" in result.headers["…truncated"]


@pytest.mark.parametrize(
    ("wait", "capped", "retries", "action", "pause", "says"),
    [
        (30.0, False, 0, "pause", 30.0, "as Retry-After: 30 asked"),
        (None, False, 0, "pause", 5.0, "no usable Retry-After"),
        (MAX_WAIT_S, True, 0, "stop", 0.0, f"more than {MAX_WAIT_S:g} s"),
        (3600.0, False, 0, "stop", 0.0, "3600 s"),
        (30.0, False, 3, "give_up", 0.0, "after 3 retries"),
    ],
)
def test_plan_rate_limit(wait, capped, retries, action, pause, says):
    result = describe_response(started=NOW, finished=NOW, status=429, headers={},
                               body=b"", duration_ms=1.0)
    result = type(result)(**{**result.__dict__, "retry_after_s": wait,
                             "retry_after_capped": capped,
                             "retry_after_from": "Retry-After: 30" if wait else None})
    plan = plan_rate_limit(result, retries, max_retry_after_s=300, rate_limit_pause_s=5.0,
                           rate_limit_retries=3)
    assert (plan.action, plan.pause_s) == (action, pause)
    assert says in plan.reason


header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["inf", "-inf", "nan", "1e300", "-5", "Fri, 31 Dec 9999 23:59:59 GMT",
                     "text/html; charset=base64", "text/plain; charset=zlib", "reset=inf",
                     "text/plain; charset=utf-7", "text/plain; charset=utf-16"]),
    st.binary(max_size=20),
    st.integers(),
    st.floats(allow_nan=True),
)
header_names = st.sampled_from(
    ["Retry-After", "X-RateLimit-Reset", "RateLimit-Reset", "RateLimit", "Content-Type",
     "X-RateLimit-Reset-After"]
) | st.text(max_size=10) | st.binary(max_size=10)
any_headers = st.one_of(
    st.lists(st.tuples(header_names, header_values), max_size=6),
    st.dictionaries(header_names, header_values, max_size=6),
    st.none(), st.integers(), st.text(max_size=20),
)
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.none() | st.integers() | st.text(max_size=4) | st.booleans(),
    headers=any_headers,
    body=st.binary(max_size=300),
    finished=times,
    excerpt=st.integers(-5, 500),
    retries=st.integers(0, 10),
    max_wait=st.floats(0, 1e6),
    default_pause=st.floats(0, 1e4),
)
def test_response_handling_never_raises(status, headers, body, finished, excerpt, retries,
                                        max_wait, default_pause):
    result = describe_response(started=finished, finished=finished, status=status,
                               headers=headers, body=body, duration_ms=1.0,
                               body_excerpt_chars=excerpt)
    assert result.outcome in (SUCCEEDED, FAILED, RATE_LIMITED)
    assert isinstance(result.body, str) and len(result.body) <= max(0, excerpt)
    assert isinstance(result.headers, dict)
    stored = result.body + json.dumps(result.headers, ensure_ascii=False)
    assert "\x00" not in stored
    stored.encode("utf-8")  # no unpaired surrogate either: both stores can hold it
    if result.retry_after_s is not None:
        assert 0.0 <= result.retry_after_s <= MAX_WAIT_S
    if result.outcome == RATE_LIMITED:
        plan = plan_rate_limit(result, retries, max_retry_after_s=max_wait,
                               rate_limit_pause_s=default_pause, rate_limit_retries=3)
        assert plan.action in ("pause", "give_up", "stop")
        assert math.isfinite(plan.pause_s) and 0.0 <= plan.pause_s <= max(max_wait,
                                                                           default_pause)


# --- over HTTP --------------------------------------------------------------------------


def _attempt(engine, did):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(delivery_attempts).where(delivery_attempts.c.delivery_id == did,
                                               delivery_attempts.c.kind == "replay")
        ).mappings().one()


def test_a_charset_that_is_not_a_text_encoding_does_not_crash_the_replay(sqlite_engine,
                                                                        receiver):
    receiver.route("/b64", Answer(200, headers={"Content-Type": "text/plain; charset=base64"},
                                  body="aGVsbG8="))
    seed(sqlite_engine, [delivery("evt_b", receiver.url("/b64"))])
    out = replay_single(sqlite_engine, "evt_b", operator="alice", settings=replay_settings())
    assert out.outcome == "succeeded"
    assert _attempt(sqlite_engine, "evt_b")["response_body"] == "aGVsbG8="


@pytest.mark.parametrize(
    ("headers", "body", "stored"),
    [
        ({}, "a\x00b", "a\ufffdb"),  # PostgreSQL text cannot hold a NUL
        ({"Content-Type": "text/plain; charset=utf-7"}, "+2AA-", "\ufffd"),  # a lone surrogate
    ],
)
def test_a_body_no_store_holds_is_stored_as_text(engine, receiver, headers, body, stored):
    receiver.route("/odd", Answer(500, headers=headers, body=body))
    seed(engine, [delivery("evt_o", receiver.url("/odd"))])
    out = replay_single(engine, "evt_o", operator="alice", settings=replay_settings())
    assert out.outcome == "failed" and out.http_status == 500
    assert _attempt(engine, "evt_o")["response_body"] == stored


@pytest.mark.parametrize("value", ["inf", "1e300"])
def test_an_endless_retry_after_stops_the_endpoint_and_says_why(sqlite_engine, receiver, value):
    receiver.route("/forever", Answer(429, headers={"Retry-After": value}))
    url = receiver.url("/forever")
    seed(sqlite_engine, [delivery(i, url) for i in range(3)])
    job_id, _ = J.create_job(sqlite_engine, [f"d{i:04d}" for i in range(3)], operator="a",
                             source="cli", now=T0)
    result = run_job(sqlite_engine, job_id, replay_settings(per_endpoint_concurrency=1))
    assert len(receiver.requests) == 1
    assert result.summary["failed"] == 1 and result.summary["skipped"] == 2
    with sqlite_engine.connect() as conn:
        reason = conn.execute(sa.select(replay_items.c.reason).where(
            replay_items.c.delivery_id == "d0000")).scalar()
    assert f"(Retry-After: {value})" in reason and "longer than replay.max_retry_after_s" in reason


def test_a_rate_limit_reset_header_sets_the_pause(sqlite_engine, receiver):
    limited = Answer(429, headers={"X-RateLimit-Reset-After": "0.5"})
    receiver.route("/reset", lambda receipt, n: limited if n == 1 else Answer())
    url = receiver.url("/reset")
    seed(sqlite_engine, [delivery(0, url)])
    job_id, _ = J.create_job(sqlite_engine, ["d0000"], operator="a", source="cli", now=T0)
    result = run_job(sqlite_engine, job_id, replay_settings(rate_limit_pause_s=30.0))
    assert result.summary["succeeded"] == 1  # paused 0.5 s, not the 30 s default
    times = receiver.times_for("/reset")
    assert len(times) == 2 and 0.45 <= times[1] - times[0] < 5


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@h.example/x?q=1", "https://h.example/x?q=1"),
        ("https://user@h.example:8443/", "https://h.example:8443/"),
        ("https://a:b@c@h.example/", "https://h.example/"),
        ("https://h.example/p@x", "https://h.example/p@x"),  # '@' in the path is no userinfo
        ("https://h.example/", "https://h.example/"),
    ],
)
def test_outbound_url_strips_userinfo(url, expected):
    assert outbound_url(url) == expected
    assert outbound_url(url, forward_credentials=True) == url


def _with_credentials(receiver, path):
    return receiver.url(path).replace("://", "://alice:s3cr3t-pw@", 1)


def test_url_credentials_are_never_sent_by_default(engine, receiver, caplog):
    url = _with_credentials(receiver, "/creds")
    seed(engine, [delivery("evt_c", url)])
    with caplog.at_level(logging.DEBUG):
        out = replay_single(engine, "evt_c", operator="alice", settings=replay_settings())
    assert out.outcome == "succeeded"
    [receipt] = receiver.requests
    assert "authorization" not in receipt.headers
    assert "s3cr3t-pw" not in caplog.text


def test_url_credentials_are_forwarded_only_when_allowed(engine, receiver):
    url = _with_credentials(receiver, "/creds")
    seed(engine, [delivery("evt_c", url)])
    replay_single(engine, "evt_c", operator="alice",
                  settings=replay_settings(forward_url_credentials=True))
    [receipt] = receiver.requests
    expected = "Basic " + base64.b64encode(b"alice:s3cr3t-pw").decode()
    assert receipt.headers["authorization"] == expected


def test_credentials_never_reach_an_error_or_a_stop_reason(sqlite_engine, receiver, caplog):
    receiver.route("/dead", Answer(None))  # dropped without an answer
    url = _with_credentials(receiver, "/dead")
    seed(sqlite_engine, [delivery(i, url) for i in range(3)])
    job_id, _ = J.create_job(sqlite_engine, [f"d{i:04d}" for i in range(3)], operator="a",
                             source="cli", now=T0 + timedelta(seconds=1))
    with caplog.at_level(logging.DEBUG):
        result = run_job(sqlite_engine, job_id, replay_settings(per_endpoint_concurrency=1,
                                                                circuit_breaker_failures=2))
    # dropped after reading: the outcome is unknown (never sent again); two of them in a
    # row trip the breaker like two failures
    assert result.summary["unknown"] == 2 and result.summary["skipped"] == 1
    with sqlite_engine.connect() as conn:
        texts = [*conn.execute(sa.select(replay_items.c.reason)).scalars(),
                 *conn.execute(sa.select(delivery_attempts.c.error)).scalars()]
        summary = conn.execute(sa.text("SELECT summary FROM replay_jobs")).scalar()
    assert all("s3cr3t-pw" not in (t or "") for t in texts)
    assert "s3cr3t-pw" not in str(summary) and "***@127.0.0.1" in str(summary)
    assert "s3cr3t-pw" not in caplog.text
