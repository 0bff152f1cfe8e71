"""The sandbox answers like the simulated endpoint would now, verifies signatures, follows
scenario changes, and replays to it behave as the advisor expects."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from intel.replay import replay_now
from intel.replay.sender import make_client, send_replay
from intel.sandbox import SandboxThread
from intel.secretbox import default_box
from intel.store.schema import endpoints, sim_events
from intel.timeutil import utcnow
from tests.replay.replay_helpers import SECRET, delivery, seed, settings, wait_for

REPO = Path(__file__).resolve().parents[2]


def _event(eid, kind, target, start, end, **details):
    return {"id": eid, "kind": kind, "is_anomaly": 1, "expected_type": None, "target": target,
            "start_at": start, "end_at": end, "description": f"test {kind}", "details": details}


@pytest.fixture
def sandbox(request):
    """The sandbox on the test's database (``engine`` or ``sqlite_engine``)."""
    name = "engine" if "engine" in request.fixturenames else "sqlite_engine"
    with SandboxThread(request.getfixturevalue(name), reload_s=0.2) as sb:
        yield sb


def _url(sb, slug):
    return f"{sb.base_url}/hooks/acme/{slug}"


def _scenario(engine, sb):
    now = utcnow()
    rows = [
        _event("o1", "outage", _url(sb, "down"), now - timedelta(minutes=5),
               now + timedelta(hours=1), endpoints=[_url(sb, "down")], mode="503"),
        _event("o2", "outage", _url(sb, "recovered"), now - timedelta(hours=2),
               now - timedelta(hours=1), endpoints=[_url(sb, "recovered")], mode="503"),
        _event("o3", "outage", _url(sb, "refusing"), now - timedelta(minutes=5),
               now + timedelta(hours=1), endpoints=[_url(sb, "refusing")], mode="refuse"),
        _event("r1", "ratelimit", _url(sb, "limited"), now - timedelta(minutes=5),
               now + timedelta(hours=1), endpoints=[_url(sb, "limited")], retry_after_s=7),
        _event("p1", "profile_gone", _url(sb, "gone"), now - timedelta(days=1),
               now + timedelta(days=1)),
    ]
    with engine.begin() as conn:
        conn.execute(sim_events.insert(), rows)
        conn.execute(endpoints.insert().values(url=_url(sb, "signed"),
                                               signing_secret=default_box().seal(SECRET),
                                               disabled=False, updated_at=now))
    sb.app.reload()


def _post(sb, slug, **kw):
    return httpx.post(_url(sb, slug), content=b'{"a":1}', timeout=5, **kw)


def test_sandbox_follows_the_scenario(engine, sandbox):
    _scenario(engine, sandbox)
    assert _post(sandbox, "healthy").status_code == 200
    assert _post(sandbox, "down").status_code == 503
    assert _post(sandbox, "recovered").status_code == 200
    assert _post(sandbox, "gone").status_code == 410
    limited = _post(sandbox, "limited")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    with pytest.raises(httpx.RemoteProtocolError):
        _post(sandbox, "refusing")  # closed without an answer
    assert httpx.get(f"{sandbox.base_url}/elsewhere").status_code == 404
    health = httpx.get(f"{sandbox.base_url}/_sandbox/health").json()
    assert health["ok"] is True and health["endpoints_with_secret"] == 1


def test_sandbox_verifies_signatures(sqlite_engine, sandbox):
    engine = sqlite_engine
    _scenario(engine, sandbox)
    unsigned = _post(sandbox, "signed", headers={"webhook-id": "x", "webhook-timestamp": "1"})
    assert unsigned.status_code == 401 and "signature" in unsigned.text

    async def signed(secret):
        async with make_client(allow_private_networks=True, timeout_s=5) as client:
            return await send_replay(client, delivery_id="evt_9", url=_url(sandbox, "signed"),
                                     payload={"a": 1}, secret=secret, timeout_s=5)

    # the stored (encrypted) secret: the sender decrypts it to sign, the sandbox to verify
    assert asyncio.run(signed(default_box().seal(SECRET))).http_status == 200
    other = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    assert asyncio.run(signed(default_box().seal(other))).http_status == 401


def test_sandbox_reloads_the_scenario(sqlite_engine, sandbox):
    engine = sqlite_engine
    _scenario(engine, sandbox)
    assert _post(sandbox, "later").status_code == 200
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sim_events.insert(), [
            _event("o9", "outage", _url(sandbox, "later"), now - timedelta(seconds=1),
                   now + timedelta(hours=1), endpoints=[_url(sandbox, "later")], mode="502")])
    assert wait_for(lambda: _post(sandbox, "later").status_code == 502, timeout=5)


def test_replays_to_the_sandbox_fail_while_down_and_succeed_once_recovered(sqlite_engine, sandbox):
    engine = sqlite_engine
    _scenario(engine, sandbox)
    records = [delivery(i, _url(sandbox, "down")) for i in range(3)] + [
        delivery(i, _url(sandbox, "recovered")) for i in range(3, 6)]
    seed(engine, records)
    result = replay_now(engine, [r["id"] for r in records], operator="demo",
                        settings=settings(circuit_breaker_failures=10))
    summary = result.summary
    assert summary["succeeded"] == 3 and summary["failed"] == 3
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()
    assert stats["received_more_than_once"] == 0 and stats["answers"] == {"503": 3, "200": 3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves(sqlite_url):
    db_url = sqlite_url
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "intel", "sandbox", "--port", str(port), "--db", db_url],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).json()
            except httpx.HTTPError:
                return None

        assert wait_for(up, timeout=20)
        assert up()["ok"] is True
        assert httpx.post(f"http://127.0.0.1:{port}/hooks/t/e", content=b"{}").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_sandbox_command_bad_port_in_use(sqlite_url):
    db_url = sqlite_url
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "intel", "sandbox", "--port", str(port), "--db", db_url],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
        )
    assert done.returncode == 2
    assert f"--port {port}" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30
