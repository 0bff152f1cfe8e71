""""Replay the recommendation" is one function (``intel.replay.jobs.create_recommended_job``)
for the app, the API and the CLI: the three record the same provenance (source
``advisor``; filters tenant, since, until, confidence, recommended, launched_from; the
same audit details), differing only in ``launched_from`` and the operator, and each runs
its job to the end with the real runner (a detached process for the app and the API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import streamlit as st
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from intel.api import create_app
from intel.api.auth import forget_touches
from intel.audit import AuditFilter, list_events
from intel.auth.tokens import create_token
from intel.cli import main as cli_main
from intel.replay import jobs as J
from intel.settings import get_settings
from intel.store.schema import replay_jobs
from intel.timeutil import utcnow
from tests.replay.replay_helpers import Answer, delivery, seed, wait_for
from tests.views.apptest import as_identity, write_config

TENANTS = ("viaapp", "viaapi", "viacli")


@pytest.fixture
def world(engine, db_url, tmp_path, monkeypatch, receiver):
    config = write_config(tmp_path, "replay:\n  allow_private_networks: true\n"
                                    "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    monkeypatch.setenv("INTEL_REPLAY_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    st.cache_data.clear()
    now = utcnow()
    records = []
    for tenant in TENANTS:
        url = receiver.url(f"/{tenant}")
        receiver.route(f"/{tenant}", Answer(200))
        records.append(delivery(f"{tenant}-ok", url, tenant=tenant, status="delivered",
                                http_status=200, response_body="ok",
                                created_at=now - timedelta(minutes=5),
                                last_attempt_at=now - timedelta(minutes=5)))
        for i in range(2):
            at = now - timedelta(minutes=60 + i)
            records.append(delivery(f"{tenant}-{i}", url, tenant=tenant, created_at=at,
                                    last_attempt_at=at))
    seed(engine, records)
    yield engine
    get_settings.cache_clear()
    st.cache_data.clear()


def _app_launch(tenant):
    import streamlit as st

    from ui.replay import launch_recommended
    from ui.session import require_identity

    made = launch_recommended(identity=require_identity(), tenant=tenant, since="24h")
    st.text(made.job_id or "none")


def _job_of(engine, tenant) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(replay_jobs)).mappings().all()
    (job,) = [dict(r) for r in rows if r["preview"]["filters"].get("tenant") == tenant]
    return job


def test_app_api_and_cli_create_it_the_same_way(world, receiver, capsys):
    engine = world
    # the app: "Start replay" in the dialog calls ui.replay.launch_recommended
    at = as_identity(AppTest.from_function(_app_launch, args=("viaapp",), default_timeout=30),
                     "alice", "operator")
    at.run()
    assert not at.exception, at.exception
    # the API: POST /replay/jobs {"recommended": true}
    forget_touches()
    _row, secret = create_token(engine, name="robot", role="operator", actor="test",
                                now=utcnow() - timedelta(minutes=1))
    with TestClient(create_app()) as client:
        response = client.post("/replay/jobs", json={"recommended": True, "tenant": "viaapi",
                                                     "since": "24h"},
                               headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 202, response.text
    # the CLI: replay --recommended
    code = cli_main(["replay", "--recommended", "--tenant", "viacli", "--since", "24h",
                     "--operator", "carol", "--json", "--no-resume-stale"])
    capsys.readouterr()
    assert code == 0

    jobs = {t: _job_of(engine, t) for t in TENANTS}
    assert wait_for(lambda: all(J.get_job(engine, j["id"])["status"] == "completed"
                                for j in jobs.values()), timeout=30)
    assert sorted(receiver.receipts) == sorted(f"{t}-{i}" for t in TENANTS for i in range(2))
    assert set(receiver.receipts.values()) == {1}
    assert {t: j["created_by"] for t, j in jobs.items()} == {
        "viaapp": "alice", "viaapi": "robot", "viacli": "carol"}
    for tenant, job in jobs.items():
        filters = job["preview"]["filters"]
        assert job["source"] == "advisor" and job["total"] == 2
        assert set(filters) == {"tenant", "since", "until", "confidence", "recommended",
                                "launched_from"}
        assert filters["launched_from"] == tenant.removeprefix("via")
        assert filters["recommended"] == 2 and filters["tenant"] == tenant
    created = {e["target_id"]: e for e in
               list_events(engine, AuditFilter(action_prefix="replay.job.create"))[0]}
    details = [created[j["id"]]["details"] for j in jobs.values()]
    assert len({frozenset(d) for d in details}) == 1  # the same audit details everywhere
    assert {d["source"] for d in details} == {"advisor"}
