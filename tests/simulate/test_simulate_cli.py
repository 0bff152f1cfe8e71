"""``python -m intel simulate``: summary, bad input, live mode stopping on a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from intel.cli import main
from intel.store.db import make_engine

REPO = Path(__file__).resolve().parents[2]


def test_simulate_prints_a_summary(db_url, capsys):
    code = main(["simulate", "--db", db_url, "--deliveries", "1500", "--days", "1",
                 "--end", "2026-11-05T16:30:00Z", "--seed", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Simulated 1,500 deliveries (seed 5, scenario default)" in out
    assert "2026-11-04T16:30:00Z to 2026-11-05T16:30:00Z" in out
    assert "Ground truth:" in out
    code = main(["simulate", "--db", db_url, "--deliveries", "1500", "--days", "1",
                 "--end", "2026-11-05T16:30:00Z", "--seed", "5", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["deliveries"] == 1500 and summary["seed"] == 5
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() == 1500
    engine.dispose()


@pytest.mark.parametrize("args, message", [
    (["--deliveries", "-1"], "--deliveries"),
    (["--days", "0"], "--days"),
    (["--end", "tomorrow"], "--end"),
    (["--endpoint-base", "ftp://sandbox"], "--endpoint-base"),
    (["--scenario", "chaos"], "--scenario"),
    (["--live-interval", "soon"], "--live-interval"),
    (["--live-incident", "meteor"], "--live-incident"),
    (["--with-history"], "--with-history needs --live"),
])
def test_bad_input_names_the_flag(sqlite_url, capsys, args, message):
    assert main(["simulate", "--db", sqlite_url, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simulate: ") and message in err and "Traceback" not in err


def test_live_mode_appends_until_sigint(sqlite_url):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "intel", "simulate", "--db", sqlite_url, "--live",
         "--live-interval", "0.5s", "--deliveries", "5000000", "--days", "1", "--seed", "3"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    engine = make_engine(sqlite_url)
    try:
        deadline = time.monotonic() + 15
        count = 0
        while time.monotonic() < deadline and count == 0:
            time.sleep(0.3)
            with engine.connect() as conn:
                count = conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar()
        assert count > 0
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()
    assert proc.returncode == 0, err
    assert "Live simulation stopped" in out
    with make_engine(sqlite_url).connect() as conn:
        live = conn.execute(sa.text(
            "SELECT count(*) FROM sim_events WHERE id LIKE 'sim3-live%'")).scalar()
    assert live == 1
