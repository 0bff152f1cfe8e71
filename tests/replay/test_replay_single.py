"""Single replays against a real local server, on SQLite and PostgreSQL: signing, the
attempt record, how the delivery row changes, refusals, timeouts, audit."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from intel.audit import AuditFilter, list_events
from intel.replay import replay_single
from intel.replay.jobs import claim_of, release_claim
from intel.replay.signing import BadSecret, encode_payload, secret_bytes, sign
from intel.store.schema import deliveries, delivery_attempts, replay_claims
from tests.replay.replay_helpers import SECRET, T0, Answer, delivery, seed, settings


def _delivery_row(engine, did):
    with engine.connect() as conn:
        return conn.execute(sa.select(deliveries).where(deliveries.c.id == did)).mappings().one()


def _replay_attempts(engine, did):
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id == did, delivery_attempts.c.kind == "replay")
                .order_by(delivery_attempts.c.id)
            ).mappings()
        ]


# --- signing (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [{"a": 1, "b": [1, 2], "c": "ünïcode"}, '{"raw": "json"}', "plain text body", [1, 2]],
)
def test_our_signature_is_what_standardwebhooks_computes(payload):
    message = encode_payload(payload)
    ts = int(T0.timestamp())
    ours = sign(SECRET, "msg_1", ts, message.body)
    assert ours == Webhook(SECRET).sign("msg_1", T0, message.body.decode())


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!!", "", "   "])
def test_bad_secrets_are_rejected(secret):
    with pytest.raises(BadSecret):
        secret_bytes(secret)


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ({"a": 1}, "application/json"),
        ('{"a": 1}', "application/json"),
        ("hello", "text/plain; charset=utf-8"),
        (None, None),
    ],
)
def test_encode_payload(payload, content_type):
    message = encode_payload(payload)
    assert (message.content_type if message else None) == content_type


# --- over HTTP, with the store ------------------------------------------------------------


def test_signed_replay_verifies_with_standardwebhooks(sqlite_engine, receiver):
    engine = sqlite_engine
    url = receiver.url("/signed/acme")
    receiver.secrets["/signed"] = SECRET
    seed(engine, [delivery("evt_1", url)], {url: SECRET})
    first = replay_single(engine, "evt_1", operator="alice", settings=settings())
    assert first.succeeded, first.reason
    got = receiver.requests[0]
    assert got.verified is True
    assert got.headers["webhook-id"] == "evt_1"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 10
    # the server-side library parses exactly the stored payload
    assert json.loads(got.body) == {"id": "evt_1", "amount": 10, "note": "héllo"}
    assert Webhook(SECRET).verify(got.body, got.headers)["note"] == "héllo"


def test_wrong_secret_fails_verification_and_the_replay_fails(sqlite_engine, receiver):
    engine = sqlite_engine
    url = receiver.url("/signed/other")
    receiver.secrets["/signed"] = SECRET
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    seed(engine, [delivery("evt_2", url)], {url: other})
    out = replay_single(engine, "evt_2", operator="alice", settings=settings())
    assert out.outcome == "failed" and out.http_status == 401
    assert receiver.requests[0].verified is False


def test_webhook_id_is_stable_and_timestamp_fresh(sqlite_engine, receiver):
    engine = sqlite_engine
    url = receiver.url("/flaky")
    receiver.route("/flaky", lambda r, n: Answer(500) if n == 1 else Answer(200))
    seed(engine, [delivery("evt_3", url)])
    assert replay_single(engine, "evt_3", operator="a", settings=settings()).outcome == "failed"
    assert replay_single(engine, "evt_3", operator="a", settings=settings()).succeeded
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == ["evt_3", "evt_3"]
    assert "webhook-signature" not in receiver.requests[0].headers  # no secret configured


def test_success_marks_delivered_and_records_the_attempt(engine, receiver):
    url = receiver.url("/ok")
    receiver.route("/ok", Answer(202, headers={"X-Receipt": "r-1"}, body='{"queued":true}'))
    seed(engine, [delivery("d1", url, attempts=3)])
    out = replay_single(engine, "d1", operator="alice", settings=settings())
    assert out.succeeded and out.http_status == 202
    row = _delivery_row(engine, "d1")
    assert row["status"] == "delivered"
    assert row["http_status"] == 202
    assert row["error"] is None
    assert row["attempts"] == 4
    assert row["last_attempt_at"] > T0
    assert row["response_body"] == '{"queued":true}'
    (attempt,) = _replay_attempts(engine, "d1")
    assert attempt["status"] == "delivered"
    assert attempt["operator"] == "alice" and attempt["job_id"] == out.job_id
    assert attempt["response_headers"]["x-receipt"] == "r-1"
    assert attempt["duration_ms"] > 0
    assert attempt["attempt_no"] == 4
    assert claim_of(engine, "d1")["state"] == "succeeded"
    events, _ = list_events(engine, AuditFilter(action_prefix="replay"))
    assert [e["action"] for e in events] == ["replay.single"]
    assert events[0]["actor"] == "alice" and events[0]["target_id"] == "d1"
    assert events[0]["details"]["outcome"] == "succeeded"


def test_failure_leaves_the_delivery_row_and_releases_the_claim(engine, receiver):
    url = receiver.url("/down")
    receiver.route("/down", Answer(503, body="<html>down</html>"))
    seed(engine, [delivery("d2", url)])
    before = _delivery_row(engine, "d2")
    out = replay_single(engine, "d2", operator="bob", settings=settings())
    assert out.outcome == "failed" and out.reason == "HTTP 503"
    after = _delivery_row(engine, "d2")
    assert {k: after[k] for k in ("status", "http_status", "last_attempt_at", "attempts")} == {
        k: before[k] for k in ("status", "http_status", "last_attempt_at", "attempts")
    }
    (attempt,) = _replay_attempts(engine, "d2")
    assert attempt["status"] == "failed" and attempt["response_body"] == "<html>down</html>"
    assert claim_of(engine, "d2") is None


def test_refused_replay_is_recorded_with_its_reason(engine, receiver):
    url = receiver.url("/internal")
    seed(engine, [delivery("d3", url)])
    out = replay_single(engine, "d3", operator="carol",
                        settings=settings(allow_private_networks=False))
    assert out.outcome == "refused"
    assert "127.0.0.1 is a loopback address" in out.reason
    (attempt,) = _replay_attempts(engine, "d3")
    assert attempt["status"] == "refused" and "replay.allow_private_networks" in attempt["error"]
    assert not receiver.requests


def test_timeout_is_an_unknown_outcome_never_sent_again(sqlite_engine, receiver):
    engine = sqlite_engine
    url = receiver.url("/slow")
    receiver.route("/slow", Answer(200, delay_s=1.5))
    seed(engine, [delivery("d4", url)])
    out = replay_single(engine, "d4", operator="dan", settings=settings(timeout_s=0.3))
    assert out.outcome == "unknown"
    assert out.reason.startswith("outcome unknown: timeout: no response within 0.3 s")
    assert out.attempt["status"] == "unknown"
    assert _delivery_row(engine, "d4")["status"] == "failed"  # as the platform saw it
    assert claim_of(engine, "d4")["state"] == "unknown"
    again = replay_single(engine, "d4", operator="dan", settings=settings(timeout_s=0.3))
    assert again.outcome == "skipped" and "outcome unknown" in again.reason
    assert receiver.receipts["d4"] == 1


def test_no_payload_is_refused(engine, receiver):
    url = receiver.url("/x")
    seed(engine, [delivery("d5", url, payload=None)])
    out = replay_single(engine, "d5", operator="dan", settings=settings())
    assert out.outcome == "refused" and "no stored payload" in out.reason
    assert not receiver.requests


def test_already_replayed_is_skipped_not_sent_again(engine, receiver):
    url = receiver.url("/once")
    seed(engine, [delivery("d6", url)])
    assert replay_single(engine, "d6", operator="a", settings=settings()).succeeded
    # the platform re-reports it as failed: the succeeded claim still stops a second send
    seed(engine, [delivery("d6", url, attempts=2)])
    again = replay_single(engine, "d6", operator="a", settings=settings())
    assert again.outcome == "skipped" and "already replayed successfully" in again.reason
    assert receiver.receipts["d6"] == 1


def test_released_unknown_claim_allows_a_new_send(engine, receiver):
    url = receiver.url("/u")
    seed(engine, [delivery("d7", url)])
    with engine.begin() as conn:
        conn.execute(replay_claims.insert().values(delivery_id="d7", job_id="rj-old",
                                                   state="unknown", claimed_at=T0))
    blocked = replay_single(engine, "d7", operator="a", settings=settings())
    assert blocked.outcome == "skipped" and "outcome unknown" in blocked.reason
    assert release_claim(engine, "d7", operator="lead", now=T0)
    assert replay_single(engine, "d7", operator="a", settings=settings()).succeeded
    events, _ = list_events(engine, AuditFilter(action_prefix="replay.claim"))
    assert events[0]["actor"] == "lead"


def test_deliberate_resend_of_an_unknown_outcome_keeps_the_webhook_id(engine, receiver):
    receiver.secrets["/r"] = SECRET
    url = receiver.url("/r")
    seed(engine, [delivery("d8", url)], secrets={url: SECRET})
    receiver.route("/r", lambda r, n: Answer(200, delay_s=1.0) if n == 1 else Answer(200))
    first = replay_single(engine, "d8", operator="a", settings=settings(timeout_s=0.3))
    assert first.outcome == "unknown"
    assert replay_single(engine, "d8", operator="a", settings=settings()).outcome == "skipped"
    resent = replay_single(engine, "d8", operator="lead", settings=settings(),
                           resend_unknown=True)
    assert resent.succeeded
    assert receiver.receipts["d8"] == 2  # the operator's resend, and only it
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == ["d8", "d8"] and all(r.verified for r in receiver.requests)
    assert claim_of(engine, "d8")["state"] == "succeeded"
    (event,) = list_events(engine, AuditFilter(action_prefix="replay.unknown.resend"))[0]
    assert event["actor"] == "lead" and event["details"]["previous_job_id"] == first.job_id
    # succeeded now: even a deliberate resend does not send it again
    assert replay_single(engine, "d8", operator="lead", settings=settings(),
                         resend_unknown=True).outcome == "skipped"
    assert receiver.receipts["d8"] == 2


