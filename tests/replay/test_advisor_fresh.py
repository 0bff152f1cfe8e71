"""A fresh advisor: after a replay job starts, progresses or ends (anywhere: another tab,
the API, the CLI), the advisor panel and the Replay advisor page show the new count, the
deliveries in a job as "in progress", and no active "Replay all recommended" for them —
without a manual refresh. AppTest never fires ``run_every``: the panel's fragment
function (``ui.advisor.advisor_live``) is called directly, run after run, as its timer
would; the page is run again as a rerun of the fragment's ``st.rerun`` would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.replay import items as I
from intel.replay import jobs as J
from intel.replay.runner import run_job
from intel.replay.sender import SendResult
from intel.settings import get_settings
from intel.store.db import make_engine
from intel.timeutil import utcnow
from tests.replay.replay_helpers import Answer, delivery, seed, settings
from tests.views.apptest import as_identity, write_config

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "advisor.py")
IDS = ["r1", "r2", "r3"]


@pytest.fixture
def world(sqlite_url, tmp_path, monkeypatch, receiver):
    config = write_config(tmp_path, "replay:\n  allow_private_networks: true\n"
                                    "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()
    st.cache_data.clear()
    now = utcnow().replace(microsecond=0)
    ok = receiver.url("/hooks/acme/ok")
    receiver.route("/hooks/acme/ok", Answer(200))
    engine = make_engine(sqlite_url)
    seed(engine, [
        *(delivery(d, ok, created_at=now - timedelta(minutes=90 - 10 * i),
                   last_attempt_at=now - timedelta(minutes=90 - 10 * i))
          for i, d in enumerate(IDS)),
        delivery("ok1", ok, status="delivered", http_status=200, response_body="ok",
                 created_at=now - timedelta(minutes=5), last_attempt_at=now - timedelta(minutes=5)),
    ])
    yield engine, now
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()


def _fragment():
    """The advisor panel's live part, called directly (as its run_every timer would)."""
    from ui.advisor import advisor_live
    from ui.session import require_identity

    advisor_live(None, "24h", require_identity(), "fresh")


def _text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [t.value for t in at.text]).replace("\\", "")


def _replay_all(at: AppTest):
    found = [b for b in at.button if b.label == "Replay all recommended"]
    return found[0] if found else None


def _head(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "recommended for replay" in m.value)


def test_the_panel_follows_a_job_from_start_to_end(world, receiver):
    engine, now = world
    at = as_identity(AppTest.from_function(_fragment, default_timeout=30), "alice", "operator",
                     now=now)
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**3 deliveries**")
    assert not _replay_all(at).disabled

    # a job over two of them starts elsewhere (the CLI, the API, another tab)
    job_id, _ = J.create_job(engine, IDS[:2], operator="bob", source="cli", now=utcnow())
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**1 deliveries**")  # only what is not in the job
    assert f"2 in progress in unfinished replay job(s) {job_id} (2)" in _text(at)
    assert not _replay_all(at).disabled  # the one not in a job is still offered
    # "why" is redrawn with the head, from the same advice: it cannot show the old count
    assert [e.label for e in at.expander] == ["Why these deliveries?"]

    # it progresses: one of its two is delivered (the runner's own transactions)
    with engine.begin() as conn:
        claimed = I.claim_item(conn, job_id, "r1", utcnow())
    assert isinstance(claimed, I.Claimed)
    with engine.begin() as conn:
        I.finish_item(conn, job_id, "r1", SendResult("succeeded", utcnow(), utcnow(),
                                                     http_status=200), operator="bob",
                      now=utcnow())
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**1 deliveries**")
    assert f"1 in progress in unfinished replay job(s) {job_id} (1)" in _text(at)
    assert "1 of 2 failed deliveries" in _text(at)  # r1 is no failure any more

    # it ends: the two are delivered, and no longer failures at all
    assert run_job(engine, job_id, settings()).status == "completed"
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**1 deliveries**")
    assert "in unfinished replay job(s)" not in _text(at)

    # the last one is replayed through "replay the recommendation" (the API, say)
    made = J.create_recommended_job(engine, operator="carol", now=utcnow(),
                                    launched_from="api", settings=settings())
    assert made.advice["recommended_ids"] == ["r3"]
    at.run()
    assert _head(at).startswith("**0 deliveries**")  # in the job: in progress
    assert _replay_all(at).disabled
    assert f"1 in progress in unfinished replay job(s) {made.job_id} (1)" in _text(at)
    run_job(engine, made.job_id, settings())
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**0 deliveries**")
    assert _replay_all(at).disabled
    assert sorted(receiver.receipts) == ["r2", "r3"] and set(receiver.receipts.values()) == {1}


def test_the_panel_lists_unknown_outcomes_and_never_offers_them(world, receiver):
    engine, now = world
    receiver.route("/hooks/acme/ok", Answer(None))  # reads the request, drops the connection
    job_id, _ = J.create_job(engine, ["r1"], operator="bob", source="cli", now=utcnow())
    run_job(engine, job_id, settings())
    assert J.claim_of(engine, "r1")["state"] == "unknown"
    at = as_identity(AppTest.from_function(_fragment, default_timeout=30), "vera", "viewer",
                     now=now)
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**2 deliveries**")
    assert "1 outcome unknown — check with the receiver" in at.warning[0].value
    unknown = at.dataframe[0].value
    assert list(unknown["id"]) == ["r1"] and list(unknown["job"]) == [job_id]
    assert _replay_all(at) is None  # a viewer is offered no replay at all


def test_the_advisor_page_after_a_job_completes(world, receiver):
    engine, now = world
    at = as_identity(AppTest.from_file(PAGE, default_timeout=30), "alice", "operator", now=now)
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**3 deliveries**")
    assert not _replay_all(at).disabled

    # "replay the recommendation" from the CLI: while its job is unfinished, the page
    # shows them in progress and offers nothing
    made = J.create_recommended_job(engine, operator="bob", now=utcnow(),
                                    launched_from="cli", settings=settings())
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**0 deliveries**")
    assert _replay_all(at).disabled
    assert f"3 in progress in unfinished replay job(s) {made.job_id} (3)" in _text(at)

    assert run_job(engine, made.job_id, settings()).status == "completed"
    at.run()
    assert not at.exception, at.exception
    assert _head(at).startswith("**0 deliveries**")
    assert _replay_all(at).disabled
    assert "in unfinished replay job(s)" not in _text(at)
    jobs = at.dataframe[-1].value  # recent replay jobs
    assert list(jobs["job"]) == [made.job_id] and list(jobs["status"]) == ["completed"]
    assert list(jobs["succeeded"]) == [3]


def test_an_operator_resends_an_unknown_outcome_in_one_click(world, receiver):
    engine, now = world
    receiver.route("/hooks/acme/ok", Answer(None))  # reads the request, drops the connection
    job_id, _ = J.create_job(engine, ["r1"], operator="bob", source="cli", now=utcnow())
    run_job(engine, job_id, settings())
    receiver.route("/hooks/acme/ok", Answer(200))
    at = as_identity(AppTest.from_function(_fragment, default_timeout=30), "lead", "operator",
                     now=now)
    at.run()
    resend = next(b for b in at.button if b.label == "↻ Resend selected (same webhook-id)")
    assert resend.disabled  # nothing selected yet
    assert receiver.accepted["r1"] == 1
    at.session_state["fresh_unknown"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    next(b for b in at.button if b.label == "↻ Resend selected (same webhook-id)").click().run()
    assert not at.exception, at.exception
    # sent again, deliberately, with the same webhook-id; the claim is now a success
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["r1", "r1"]
    assert J.claim_of(engine, "r1")["state"] == "succeeded"
    assert "Resend of r1: succeeded (HTTP 200)" in at.success[0].value
    assert not at.warning  # nothing is an unknown outcome any more
    assert _head(at).startswith("**2 deliveries**")
