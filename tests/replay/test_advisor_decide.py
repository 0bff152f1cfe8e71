"""The advisor's decision rules (``intel.advisor.decide``), one row per branch: each
reason it can give, in its order of precedence, and every threshold at and either side
of its edge. Pure: no database.

A row overrides the evidence of a delivery that would be replayed — transient (score 92)
to an endpoint that has answered since and has not failed again — by field name:
``Candidate`` fields (its claim, payload, URL, headers), ``TriageResult`` fields (the
verdict), ``EndpointHealth`` fields, ``incident`` and ``ReplaySettings`` fields.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from intel.advisor.candidate import Candidate
from intel.advisor.decide import (
    ALREADY_REPLAYED,
    CANNOT_REPLAY,
    DECISIONS,
    IN_PROGRESS,
    INVESTIGATE,
    OUTCOME_UNKNOWN,
    REPLAY,
    RETRY_LATER,
    REVIEW,
    RULES,
    WAIT,
    Decision,
    decide,
)
from intel.advisor.health import EndpointHealth, OpenIncident
from intel.settings.replay import ReplaySettings
from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN, TriageResult

FAILED = datetime(2026, 11, 5, 14, 30, tzinfo=UTC)
RECOVERED = FAILED + timedelta(hours=1)  # the endpoint's latest success
URL = "https://hooks.acme.example/in"
SECRET_URL = "https://alice:hunter2@creds.example/hooks"
WEEK = FAILED + timedelta(days=7)
S503 = "HTTP 503 Service Unavailable"


def _incident(target: str, type_: str = "endpoint_spike") -> OpenIncident:
    return OpenIncident(id="inc-1", type=type_, target=target, severity="critical",
                        detected_at=FAILED - timedelta(minutes=30))


def _weigh(over: dict) -> Decision:
    """The decision for the default evidence with ``over`` applied, by field name."""
    candidate = {"id": "d1", "tenant": "acme", "endpoint": URL, "created_at": FAILED,
                 "failed_at": FAILED, "claim_job": "rj-7"}
    verdict = {"category": TRANSIENT, "score": 92, "reason": S503, "recommended_action": ""}
    health = {"last_success_at": RECOVERED, "down_failures_since": 0,
              "last_down_failure_at": FAILED, "episodes": 1, "recent_deliveries": 20}
    settings: dict = {}
    incident = None
    parts = [(candidate, {f.name for f in fields(Candidate)}),
             (verdict, {f.name for f in fields(TriageResult)}),
             (health, {f.name for f in fields(EndpointHealth)}),
             (settings, set(ReplaySettings.model_fields))]
    for key, value in over.items():
        if key == "incident":
            incident = value
            continue
        target = next((part for part, names in parts if key in names), None)
        assert target is not None, f"not a field of the evidence: {key}"
        target[key] = value
    return decide(Candidate(**candidate), TriageResult(**verdict), EndpointHealth(**health),
                  incident, ReplaySettings(**settings))


# (overrides, decision, rule, a part of the reason, not_before)
CASES = [
    # --- the replay tables: a job holds it, or a replay answered ------------------------
    pytest.param({"claim_state": "succeeded"}, ALREADY_REPLAYED, "replayed",
                 "already replayed successfully (job rj-7)", None, id="replayed"),
    pytest.param({"claim_state": "succeeded", "category": PERMANENT, "no_payload": True,
                  "incident": _incident("*", "burst")},
                 ALREADY_REPLAYED, "replayed", "already replayed", None,
                 id="replayed-beats-everything"),
    pytest.param({"claim_state": "queued"}, IN_PROGRESS, "in a job",
                 "in replay job rj-7, not finished yet (in progress)", None, id="job-queued"),
    pytest.param({"claim_state": "sending"}, IN_PROGRESS, "in a job",
                 "in replay job rj-7, not finished yet", None, id="job-sending"),
    pytest.param({"claim_state": "queued", "claim_job": "rj-other", "last_success_at": None},
                 IN_PROGRESS, "in a job", "in replay job rj-other", None,
                 id="in-another-job-while-down"),
    pytest.param({"claim_state": "unknown"}, OUTCOME_UNKNOWN, "outcome unknown",
                 "outcome unknown — check with the receiver: its replay in job rj-7 may have "
                 "reached the receiver", None, id="outcome-unknown"),
    pytest.param({"claim_state": "unknown"}, OUTCOME_UNKNOWN, "outcome unknown",
                 "Never resent automatically; an operator may resend it deliberately (same "
                 "webhook-id)", None, id="outcome-unknown-never-resent"),
    pytest.param({"claim_state": "unknown", "category": PERMANENT}, OUTCOME_UNKNOWN,
                 "outcome unknown", "outcome unknown", None, id="outcome-unknown-of-permanent"),
    # --- the triage verdict ---------------------------------------------------------------
    pytest.param({"category": PERMANENT, "score": 95, "reason": "HTTP 410 Gone"}, INVESTIGATE,
                 "permanent", "permanent failure: HTTP 410 Gone", None, id="permanent"),
    pytest.param({"category": PERMANENT, "no_payload": True, "last_success_at": None},
                 INVESTIGATE, "permanent", "permanent failure", None,
                 id="permanent-before-payload-and-health"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "120"}},
                 RETRY_LATER, "rate-limited", "rate-limited: not before 2026-11-05T14:32:00Z",
                 FAILED + timedelta(seconds=120), id="retry-after-seconds"),
    pytest.param({"category": RATE_LIMITED,
                  "response_headers": {"Retry-After": "Thu, 05 Nov 2026 17:00:00 GMT"}},
                 RETRY_LATER, "rate-limited", "not before 2026-11-05T17:00:00Z",
                 datetime(2026, 11, 5, 17, tzinfo=UTC), id="retry-after-date"),
    pytest.param({"category": RATE_LIMITED,
                  "response_headers": {"X-RateLimit-Reset": str(int(FAILED.timestamp()) + 90)}},
                 RETRY_LATER, "rate-limited", "not before 2026-11-05T14:31:30Z",
                 FAILED + timedelta(seconds=90), id="ratelimit-reset-epoch"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "0"}},
                 RETRY_LATER, "rate-limited", "not before 2026-11-05T14:30:00Z", FAILED,
                 id="retry-after-zero"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "604799"}},
                 RETRY_LATER, "rate-limited", "rate-limited: not before",
                 WEEK - timedelta(seconds=1), id="wait-under-a-week"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "604800"}},
                 RETRY_LATER, "rate-limited", "rate-limited: not before 2026-11-12T14:30:00Z",
                 WEEK, id="wait-of-a-week-not-capped"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "604801"}},
                 RETRY_LATER, "rate-limited, capped",
                 "rate-limited: the response asked for more than 7 days (Retry-After: 604801); "
                 "not before 2026-11-12T14:30:00Z at the earliest", WEEK,
                 id="wait-over-a-week-capped"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "inf"}},
                 RETRY_LATER, "rate-limited, capped", "more than 7 days (Retry-After: inf)",
                 WEEK, id="retry-after-inf"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"X-RateLimit-Reset": "1e300"}},
                 RETRY_LATER, "rate-limited, capped", "(X-RateLimit-Reset: 1e300)", WEEK,
                 id="ratelimit-reset-1e300"),
    pytest.param({"category": RATE_LIMITED, "response_headers": None}, RETRY_LATER,
                 "rate-limited, no usable time",
                 "rate-limited; the response gave no usable time to wait", None,
                 id="rate-limited-no-headers"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "nan"}},
                 RETRY_LATER, "rate-limited, no usable time", "no usable time", None,
                 id="retry-after-nan"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "-30"}},
                 RETRY_LATER, "rate-limited, no usable time", "no usable time", None,
                 id="retry-after-negative"),
    pytest.param({"category": RATE_LIMITED, "response_headers": "Retry-After: 30"},
                 RETRY_LATER, "rate-limited, no usable time", "no usable time", None,
                 id="headers-not-an-object"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "60"},
                  "failed_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC)},
                 RETRY_LATER, "rate-limited, no usable time", "no usable time", None,
                 id="wait-past-the-calendar"),
    pytest.param({"category": RATE_LIMITED, "response_headers": {"Retry-After": "120"},
                  "incident": _incident(URL), "last_success_at": None},
                 RETRY_LATER, "rate-limited", "not before", FAILED + timedelta(seconds=120),
                 id="rate-limited-before-incident-and-health"),
    pytest.param({"score": 79}, REVIEW, "low score",
                 "transient, but triage is not confident enough (score 79 ≤ 80)", None,
                 id="score-under-edge"),
    pytest.param({"score": 80}, REVIEW, "low score",
                 "transient, but triage is not confident enough (score 80 ≤ 80)", None,
                 id="score-at-edge"),
    pytest.param({"score": 81}, REPLAY, "recovered", "the endpoint has succeeded since", None,
                 id="score-over-edge"),
    pytest.param({"score": 50, "no_payload": True}, REVIEW, "low score", "score 50", None,
                 id="low-score-before-payload"),
    pytest.param({"category": UNKNOWN, "score": 40, "reason": "no rule matched"}, REVIEW,
                 "unclassified", "unclassified: no rule matched", None, id="unknown"),
    pytest.param({"category": UNKNOWN, "score": 100, "reason": "odd"}, REVIEW, "unclassified",
                 "unclassified: odd", None, id="unknown-at-full-score"),
    # --- can it be sent at all? -------------------------------------------------------------
    pytest.param({"no_payload": True}, CANNOT_REPLAY, "no payload",
                 "no stored payload to replay", None, id="no-payload"),
    pytest.param({"no_payload": True, "endpoint_disabled": True, "endpoint": "ftp://x/"},
                 CANNOT_REPLAY, "no payload", "no stored payload", None,
                 id="no-payload-first"),
    pytest.param({"endpoint_disabled": True}, CANNOT_REPLAY, "endpoint disabled",
                 "the endpoint is disabled", None, id="endpoint-disabled"),
    pytest.param({"endpoint_disabled": True, "last_success_at": None,
                  "incident": _incident(URL)},
                 CANNOT_REPLAY, "endpoint disabled", "disabled", None,
                 id="disabled-before-incident-and-health"),
    pytest.param({"endpoint": "ftp://files.acme.example/in"}, CANNOT_REPLAY, "refused URL",
                 "scheme 'ftp' is not allowed (only http and https)", None, id="ftp-url"),
    pytest.param({"endpoint": "http://"}, CANNOT_REPLAY, "refused URL",
                 "the URL has no host", None, id="url-without-host"),
    pytest.param({"endpoint": "https://hooks.acme.example:99999/in"}, CANNOT_REPLAY,
                 "refused URL", "not a valid URL (Port out of range", None, id="url-bad-port"),
    pytest.param({"endpoint": "https://[::1/"}, CANNOT_REPLAY, "refused URL",
                 "not a valid URL", None, id="url-unparseable"),
    # --- would it succeed now? ---------------------------------------------------------------
    pytest.param({"incident": _incident(URL)}, WAIT, "open incident",
                 f"open incident inc-1 (endpoint_spike, critical) on {URL} since "
                 "2026-11-05T14:00:00Z", None, id="incident-on-endpoint"),
    pytest.param({"incident": _incident("acme", "tenant_spike")}, WAIT, "open incident",
                 "open incident inc-1 (tenant_spike, critical) on acme since", None,
                 id="incident-on-tenant"),
    pytest.param({"incident": _incident("*", "burst")}, WAIT, "open incident",
                 "(burst, critical) on the platform since", None, id="incident-on-platform"),
    pytest.param({"endpoint": SECRET_URL, "incident": _incident(SECRET_URL)}, WAIT,
                 "open incident", "on https://***@creds.example/hooks since", None,
                 id="incident-url-redacted"),
    pytest.param({"incident": _incident(URL), "last_success_at": None,
                  "down_failures_since": 5},
                 WAIT, "open incident", "open incident inc-1", None,
                 id="incident-before-health"),
    pytest.param({"last_success_at": None}, WAIT, "no success since",
                 "endpoint still down: no successful delivery to it since the failure", None,
                 id="never-succeeded"),
    pytest.param({"last_success_at": FAILED - timedelta(seconds=1)}, WAIT,
                 "success before the failure",
                 "endpoint still down: its latest success (2026-11-05T14:29:59Z) is before this "
                 "failure", None, id="success-a-second-before"),
    pytest.param({"last_success_at": FAILED}, WAIT, "success before the failure",
                 "its latest success (2026-11-05T14:30:00Z) is before this failure", None,
                 id="success-at-the-failure"),
    pytest.param({"last_success_at": FAILED + timedelta(seconds=1)}, REPLAY, "recovered",
                 "the endpoint has succeeded since (2026-11-05T14:30:01Z)", None,
                 id="success-a-second-after"),
    pytest.param({"down_failures_since": 1}, WAIT, "failing again",
                 "endpoint failing again: 1 transport/5xx failure(s) since its latest success "
                 "at 2026-11-05T15:30:00Z", None, id="failed-again-default-cutoff"),
    pytest.param({"down_failures_since": 0, "advisor_down_again_failures": 3}, REPLAY,
                 "recovered", "and has not failed again since", None, id="cutoff-3-none-since"),
    pytest.param({"down_failures_since": 1, "advisor_down_again_failures": 3}, REPLAY,
                 "recovered, failures tolerated",
                 f"{S503}; the endpoint has succeeded since (2026-11-05T15:30:00Z); 1 "
                 "transport/5xx failure(s) since then, fewer than "
                 "replay.advisor_down_again_failures (3), so it still counts as recovered", None,
                 id="cutoff-3-one-tolerated"),
    pytest.param({"down_failures_since": 2, "advisor_down_again_failures": 3}, REPLAY,
                 "recovered, failures tolerated", "; 2 transport/5xx failure(s) since then",
                 None, id="cutoff-3-under-edge"),
    pytest.param({"down_failures_since": 3, "advisor_down_again_failures": 3}, WAIT,
                 "failing again", "endpoint failing again: 3 transport/5xx failure(s)", None,
                 id="cutoff-3-at-edge"),
    pytest.param({"down_failures_since": 4, "advisor_down_again_failures": 3}, WAIT,
                 "failing again", "endpoint failing again: 4", None, id="cutoff-3-over-edge"),
    pytest.param({"last_replay_failed_at": RECOVERED + timedelta(minutes=10)}, WAIT,
                 "replay failed since",
                 "a replay of it failed at 2026-11-05T15:40:00Z, after the endpoint's latest "
                 "success (2026-11-05T15:30:00Z): waiting for the endpoint to succeed again",
                 None, id="replay-failed-after-recovery"),
    pytest.param({"last_replay_failed_at": RECOVERED}, WAIT, "replay failed since",
                 "a replay of it failed at 2026-11-05T15:30:00Z", None,
                 id="replay-failed-at-recovery"),
    pytest.param({"last_replay_failed_at": RECOVERED - timedelta(seconds=1)}, REPLAY,
                 "recovered", "has not failed again since", None,
                 id="replay-failed-before-recovery"),
    pytest.param({"last_replay_failed_at": RECOVERED + timedelta(minutes=1),
                  "down_failures_since": 2},
                 WAIT, "failing again", "failing again", None,
                 id="failing-again-before-replay-failure"),
    pytest.param({"episodes": 3, "recent_deliveries": 30}, REVIEW, "unstable",
                 "endpoint unstable: 3 separate transport/5xx failure episodes in 30 deliveries "
                 "in the last 6h; a replay may fail again", None, id="flaky-share-at-edge"),
    pytest.param({"episodes": 3, "recent_deliveries": 31}, REPLAY, "recovered",
                 "has not failed again since", None, id="flaky-share-under-edge"),
    pytest.param({"episodes": 4, "recent_deliveries": 30}, REVIEW, "unstable",
                 "4 separate transport/5xx failure episodes in 30 deliveries", None,
                 id="flaky-share-over-edge"),
    pytest.param({"episodes": 2, "recent_deliveries": 2}, REPLAY, "recovered",
                 "has succeeded since", None, id="flaky-under-min-episodes"),
    pytest.param({"episodes": 1, "recent_deliveries": 20, "advisor_unstable_min_episodes": 1,
                  "advisor_unstable_share": 0.05},
                 REVIEW, "unstable", "1 separate transport/5xx failure episodes in 20", None,
                 id="flaky-min-episodes-1-at-share-edge"),
    pytest.param({"episodes": 1, "recent_deliveries": 21, "advisor_unstable_min_episodes": 1,
                  "advisor_unstable_share": 0.05},
                 REPLAY, "recovered", "has succeeded since", None,
                 id="flaky-min-episodes-1-under-share-edge"),
    pytest.param({"episodes": 3, "recent_deliveries": 1000, "advisor_unstable_share": 0.0},
                 REVIEW, "unstable", "3 separate", None, id="flaky-any-share"),
    pytest.param({"episodes": 5, "recent_deliveries": 10, "advisor_unstable_window": "2h"},
                 REVIEW, "unstable", "in 10 deliveries in the last 2h", None,
                 id="flaky-window-named"),
    pytest.param({"episodes": 0, "recent_deliveries": 0}, REPLAY, "recovered",
                 "has succeeded since", None, id="no-recent-deliveries"),
    pytest.param({"episodes": 5, "recent_deliveries": 10, "down_failures_since": 1}, WAIT,
                 "failing again", "failing again", None, id="failing-again-before-flaky"),
    pytest.param({"episodes": 5, "recent_deliveries": 10,
                  "last_replay_failed_at": RECOVERED + timedelta(minutes=5)},
                 WAIT, "replay failed since", "a replay of it failed", None,
                 id="replay-failure-before-flaky"),
    pytest.param({"episodes": 5, "recent_deliveries": 10, "down_failures_since": 1,
                  "advisor_down_again_failures": 2},
                 REVIEW, "unstable", "endpoint unstable", None, id="flaky-before-tolerated"),
    # --- replay ----------------------------------------------------------------------------
    pytest.param({}, REPLAY, "recovered",
                 f"{S503}; the endpoint has succeeded since (2026-11-05T15:30:00Z) and has not "
                 "failed again since", None, id="recovered"),
    pytest.param({"score": 100, "down_failures_since": 0, "last_down_failure_at": None},
                 REPLAY, "recovered", "and has not failed again since", None,
                 id="recovered-no-down-failure"),
    pytest.param({"reason": f"connect to {SECRET_URL} refused"}, REPLAY, "recovered",
                 "connect to https://***@creds.example/hooks refused; the endpoint", None,
                 id="reason-redacted"),
]


@pytest.mark.parametrize(("over", "decision", "rule", "says", "not_before"), CASES)
def test_decide(over, decision, rule, says, not_before):
    decided = _weigh(over)
    assert (decided.decision, decided.rule) == (decision, rule)
    assert says in decided.reason
    assert decided.not_before == not_before
    assert "hunter2" not in decided.reason


def test_every_rule_and_decision_has_a_row():
    ruled = {p.values[2] for p in CASES}
    assert ruled == {r.name for r in RULES}
    assert {p.values[1] for p in CASES} == set(DECISIONS)


def test_the_rules_are_named_once_and_give_every_decision():
    assert len({r.name for r in RULES}) == len(RULES)
    assert {r.decision for r in RULES} == set(DECISIONS)
