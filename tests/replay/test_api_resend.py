"""``POST /replay/jobs`` with ``resend_unknown``: the API's deliberate resend of an unknown
outcome, against a real receiver that drops the connection after reading the request, on
SQLite and PostgreSQL. Without the flag the API's job skips it (never sent twice); with
it, the same ``webhook-id`` is sent once more, audited as the token's name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from intel.api import create_app, deps
from intel.audit import AuditFilter, list_events
from intel.auth.tokens import create_token
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.runner import run_job
from intel.settings import get_settings
from intel.timeutil import utcnow
from tests.replay.fault_helpers import TLS, fault_settings, no_duplicates, outcomes, world
from tests.replay.replay_helpers import Answer


@pytest.fixture
def client(engine, db_url, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("replay:\n  allow_private_networks: true\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()
    launched: list[str] = []
    app = create_app()
    app.dependency_overrides[deps.engine] = lambda: engine
    app.dependency_overrides[deps.launcher] = lambda: (
        lambda job_id, **_: launched.append(job_id))
    _, secret = create_token(engine, name="ops-bot", role="operator", actor="test",
                             now=utcnow())
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {secret}"
        yield c, launched
    get_settings.cache_clear()


def test_the_api_resends_an_unknown_outcome_only_when_asked(engine, receiver, client):
    api, launched = client
    s = fault_settings()
    modes = world(engine, receiver, "acme", utcnow(), {"drop": 1})
    (did,) = modes
    first = J.create_recommended_job(engine, operator="alice", now=utcnow(),
                                     launched_from="cli", settings=s)
    run_job(engine, first.job_id, s, verify=TLS)
    assert outcomes(engine, modes) == {did: S.UNKNOWN} and receiver.accepted[did] == 1

    # a plain job by id: created, but the delivery is skipped, never sent
    made = api.post("/replay/jobs", json={"ids": [did]})
    assert made.status_code == 202, made.text
    run_job(engine, made.json()["job_id"], s, verify=TLS)
    assert receiver.accepted[did] == 1

    # the deliberate resend: sent once more, the same webhook-id, audited as the token
    receiver.route("/acme/drop", Answer(200))
    resent = api.post("/replay/jobs", json={"ids": [did], "resend_unknown": True,
                                            "operator": "mallory"})
    assert resent.status_code == 202, resent.text
    job_id = resent.json()["job_id"]
    assert launched[-1] == job_id
    run_job(engine, job_id, s, verify=TLS)
    assert receiver.accepted[did] == 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {did}
    no_duplicates(receiver, modes, resent={did})
    (event,) = list_events(engine, AuditFilter(action_prefix="replay.unknown.resend"))[0]
    assert event["actor"] == "ops-bot" and event["target_id"] == did


def test_resend_unknown_goes_with_ids(client):
    api, _ = client
    answer = api.post("/replay/jobs", json={"recommended": True, "resend_unknown": True})
    assert answer.status_code == 400
    assert answer.json()["error"]["where"] == "body.resend_unknown"
