"""The REST API over a real store (SQLite and PostgreSQL), as an admin token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from intel.api import create_app
from intel.audit import record
from intel.auth.tokens import create_token
from intel.deliveries.write import upsert_deliveries
from intel.settings import get_settings
from intel.timeutil import utcnow


def _delivery(i, **over):
    at = utcnow() - timedelta(minutes=30 - i)
    rec = {
        "id": f"d{i}", "tenant": "acme", "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid", "status": "failed", "http_status": 503, "error": None,
        "response_headers": {"Retry-After": "30"}, "response_body": "Service Unavailable",
        "attempts": 1, "created_at": at, "last_attempt_at": at, "duration_ms": 20.0,
        "payload": {"n": i}, "extra": None,
    }
    rec.update(over)
    return rec


TOKEN_NAME = "api-test"


def _message(response) -> str:
    return response.json()["error"]["message"]


@pytest.fixture
def client(db_url, engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    now = utcnow()
    with engine.begin() as conn:
        upsert_deliveries(conn, [
            _delivery(1),
            _delivery(2, http_status=404, response_body="no such hook", response_headers=None),
            _delivery(3, status="delivered", http_status=200, response_body="ok"),
        ], now=now)
        record(conn, actor="alice", action="replay.single", at=now, target_type="delivery",
               target_id="d1")
    _info, secret = create_token(engine, name=TOKEN_NAME, role="admin", actor="test", now=now)
    with TestClient(create_app(), headers={"Authorization": f"Bearer {secret}"}) as c:
        yield c
    get_settings.cache_clear()


def test_health(client):
    assert client.get("/health").json()["status"] == "ok"


def test_deliveries_filters_and_paging(client):
    body = client.get("/deliveries", params={"status": "failed", "window": "24h"}).json()
    assert body["total"] == 2
    assert {d["id"] for d in body["deliveries"]} == {"d1", "d2"}
    assert body["deliveries"][0]["last_attempt_at"].endswith("Z")
    body = client.get("/deliveries", params={"window": "24h", "per_page": 1, "page": 2}).json()
    assert body["total"] == 3 and len(body["deliveries"]) == 1


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "lost"}, "status"),
        ({"window": "2y"}, "window"),
        ({"window": "custom", "since": "yesterday"}, "since"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(client, params, fragment):
    response = client.get("/deliveries", params=params)
    assert response.status_code == 400
    assert fragment in _message(response)
    assert response.json()["error"]["where"] == f"query.{fragment}"


def test_one_delivery_with_triage_and_404(client):
    body = client.get("/deliveries/d2").json()
    assert body["triage"]["category"] == "permanent-4xx"
    assert body["attempts_timeline"][0]["attempt_no"] == 1
    assert client.get("/deliveries/nope").status_code == 404


def test_triage_single_and_batch(client):
    one = client.get("/triage/deliveries/d1").json()
    assert one["category"] == "transient-endpoint-down" and 0 <= one["score"] <= 100
    batch = client.post("/triage/deliveries/batch", json={"ids": ["d1", "d2", "zz"]}).json()
    assert [r["id"] for r in batch["results"]] == ["d1", "d2"]
    assert batch["results"][1]["category"] == "permanent-4xx"
    assert batch["not_found"] == ["zz"]
    too_many = client.post("/triage/deliveries/batch", json={"ids": [str(i) for i in range(101)]})
    assert too_many.status_code == 400 and "at most 100" in _message(too_many)


def test_replay_recommendations_body(client):
    body = client.get("/replay/recommendations", params={"since": "24h"}).json()
    for key in ("recommended_ids", "total_recommended", "total_analyzed", "confidence",
                "reasoning"):
        assert key in body
    assert "d2" not in body["recommended_ids"]  # permanent: never recommended
    assert client.get("/replay/recommendations", params={"since": "whenever"}).status_code == 400


def test_replay_job_rejects_bad_requests(client):
    assert client.post("/replay/jobs", json={"operator": "alice"}).status_code == 400
    unknown = client.post("/replay/jobs", json={"operator": "alice", "ids": ["nope"]})
    assert unknown.status_code == 400 and "nope" in _message(unknown)
    assert client.get("/replay/jobs/nope").status_code == 404


@pytest.mark.parametrize(
    "path", ["endpoints", "tenants", "operators", "system-health", "recommendations", "adoption"]
)
def test_insights_bodies(client, path):
    response = client.get(f"/insights/{path}", params={"period": "24h"})
    assert response.status_code == 200, response.text
    assert client.get(f"/insights/{path}", params={"period": "2y"}).status_code == 400


def test_insights_endpoints_counts(client):
    body = client.get("/insights/endpoints", params={"period": "24h"}).json()
    assert body["endpoints"][0]["failures"] == 2


def test_audit_listing(client):
    body = client.get("/audit", params={"action": "replay"}).json()
    assert body["total"] == 1 and body["events"][0]["actor"] == "alice"
    assert client.get("/audit", params={"since": "soon"}).status_code == 400


def _open_incident(engine):
    from intel.incidents.lifecycle import advance
    from intel.incidents.store import apply_transitions, load_active
    from tests.detect.test_lifecycle import SETTLE, sig

    now = utcnow()
    step = advance({}, [sig()], now - timedelta(minutes=2), SETTLE)
    with engine.begin() as conn:
        apply_transitions(conn, step.transitions, now - timedelta(minutes=2))
        return next(iter(load_active(conn).values()))


def test_anomalies_active_history_and_acknowledge(client, engine):
    incident = _open_incident(engine)
    active = client.get("/anomalies/active").json()["incidents"]
    assert [i["id"] for i in active] == [incident.id]
    assert active[0]["status"] == "active" and active[0]["detected_at"].endswith("Z")
    history = client.get("/anomalies/history", params={"since": "1h"}).json()
    assert [i["id"] for i in history["incidents"]] == [incident.id]
    assert client.get("/anomalies/history", params={"since": "then"}).status_code == 400

    acked = client.post(f"/anomalies/{incident.id}/acknowledge",
                        json={"operator": "alice", "note": "known"})
    assert acked.status_code == 200, acked.text
    again = client.post(f"/anomalies/{incident.id}/acknowledge", json={"operator": "bob"})
    assert again.status_code == 409
    assert client.post("/anomalies/nope/acknowledge", json={"operator": "x"}).status_code == 404
    events = client.get("/audit", params={"action": "incident.ack"}).json()["events"]
    # the token's name, not the body's "operator"
    assert events[0]["actor"] == TOKEN_NAME and events[0]["details"]["via"] == "api"
