"""The advisor's recovery rule, as the README states it: a recommended endpoint has
answered successfully since the failure *and has not failed again since* (no
transport/5xx failure after its latest success, with the default
``replay.advisor_down_again_failures`` of 1). The issue's ``litware/ledger``: a success,
then a 522 and a broken pipe — with the default cutoff its older failure waits; only a
raised cutoff tolerates them, and then the advice says so (reason and health note). Also
the held-back decisions of the replay tables: in a job ("in progress"), outcome unknown
("check with the receiver"), already replayed. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.advisor import get_replay_recommendations
from intel.settings.replay import ReplaySettings
from intel.store.schema import replay_claims
from tests.replay.replay_helpers import delivery, seed

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
LEDGER = "https://ledger.litware.example/hooks"
PIPE = {"http_status": None, "response_body": None,
        "error": "write tcp 10.2.0.4:443: write: broken pipe"}
CF522 = {"http_status": 522, "response_body": "<html>522 Connection timed out</html>"}


def _at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def _ledger(engine, failures_after_success: int) -> None:
    records = [
        delivery("l1", LEDGER, tenant="litware", created_at=_at(120), last_attempt_at=_at(120)),
        delivery("l-ok", LEDGER, tenant="litware", status="delivered", http_status=200,
                 response_body="ok", created_at=_at(60), last_attempt_at=_at(60)),
    ]
    for i, shape in enumerate([CF522, PIPE, CF522][:failures_after_success]):
        records.append(delivery(f"l-again{i}", LEDGER, tenant="litware",
                                created_at=_at(30 - 10 * i), last_attempt_at=_at(30 - 10 * i),
                                **shape))
    seed(engine, records)


@pytest.mark.parametrize(
    ("cutoff", "again", "decision", "health", "says"),
    [
        (1, 0, "replay", "recovered",
         "have not failed again since (no transport/5xx failure after their latest success)"),
        (1, 1, "wait", "failing again", "endpoint failing again: 1 transport/5xx failure(s)"),
        (1, 2, "wait", "failing again", "endpoint failing again: 2 transport/5xx failure(s)"),
        (3, 2, "replay", "recovered",
         "have not failed again since (fewer than 3 transport/5xx failures after their "
         "latest success)"),
        (3, 3, "wait", "failing again", "endpoint failing again: 3 transport/5xx failure(s)"),
    ],
    ids=["clean", "default-one-failure", "default-litware-ledger", "raised-tolerates",
         "raised-reached"],
)
def test_has_not_failed_again_since(engine, cutoff, again, decision, health, says):
    _ledger(engine, again)
    s = ReplaySettings(advisor_down_again_failures=cutoff)
    advice = get_replay_recommendations(engine, None, "24h", now=NOW, settings=s)
    (ep,) = advice["affected_endpoints"]
    assert ep["health"] == health and ep["down_failures_since_success"] == again
    if decision == "replay":
        assert advice["recommended_ids"] == ["l1"]
        assert says in advice["reasoning"]
    else:
        assert "l1" not in advice["recommended_ids"]
        held = {h["id"]: h for h in advice["held_back"]}
        assert held["l1"]["decision"] == decision and says in held["l1"]["reason"]
    # the health note says why a failing-after-recovery endpoint still counts as recovered
    tolerated = decision == "replay" and again > 0
    assert (ep["health_note"] is not None) == tolerated
    if tolerated:
        assert f"{again} transport/5xx failure(s) since its latest success" in ep["health_note"]
        assert "still counted as recovered" in ep["health_note"]


def test_the_default_rule_is_the_readme_rule():
    """README: a recommended endpoint "has not failed again" since its latest success."""
    assert ReplaySettings().advisor_down_again_failures == 1


@pytest.mark.parametrize(
    ("claim", "decision", "says"),
    [
        ("queued", "in_progress", "in replay job rj-1, not finished yet (in progress)"),
        ("sending", "in_progress", "in replay job rj-1, not finished yet (in progress)"),
        ("unknown", "outcome_unknown", "outcome unknown — check with the receiver"),
        ("succeeded", "already_replayed", "already replayed successfully (job rj-1)"),
    ],
)
def test_what_the_replay_tables_hold_is_never_recommended(engine, claim, decision, says):
    _ledger(engine, 0)
    with engine.begin() as conn:
        conn.execute(replay_claims.insert().values(delivery_id="l1", job_id="rj-1", state=claim,
                                                   claimed_at=_at(5)))
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == []
    (held,) = [h for h in advice["held_back"] if h["id"] == "l1"]
    assert held["decision"] == decision and says in held["reason"]
    assert advice["breakdown"]["by_decision"] == {decision: 1}
    unknown = [u["id"] for u in advice["outcome_unknown"]]
    assert unknown == (["l1"] if claim == "unknown" else [])
    assert advice["outcome_unknown_total"] == len(unknown)
    jobs = advice["in_progress"]["jobs"]
    assert jobs == ([{"job_id": "rj-1", "count": 1}] if decision == "in_progress" else [])
