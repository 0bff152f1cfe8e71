"""The advisor's decision for one failed delivery: a table of rules, the first that
applies decides, and its sentence says why.

``replay`` (recommended)
    triage says ``transient-endpoint-down`` with a score above 80 (``safe_to_retry``),
    the endpoint has succeeded *after* this failure and is not failing again since
    (``intel.advisor.health``), no replay of this delivery has failed since that
    success, no incident is open on the endpoint, its tenant or the platform, and the
    endpoint is not unstable. When a raised ``replay.advisor_down_again_failures``
    tolerates failures since the success, the reason says how many.
``wait``
    transient, but the endpoint has not succeeded since, is failing again, has an open
    incident, or a replay of this delivery failed after the endpoint's latest success: a
    replay now would fail.
``retry_later``
    ``rate-limited``: not before the failure + ``Retry-After`` (or the
    ``RateLimit-Reset`` / ``X-RateLimit-Reset`` header), read by
    ``intel.replay.retry_after`` as the replay sender reads it; no ``not_before`` when
    the response gave no usable time, and a wait beyond a week (``inf``, ``1e300``) is
    capped to a week and says so.
``investigate``
    ``permanent-4xx``: never recommended; a replay cannot fix it.
``review``
    ``unknown``, transient with a score of 80 or less, or transient to an unstable
    (flaky) endpoint.
``already_replayed``
    a replay of it succeeded (its claim).
``in_progress``
    it is in a replay job that has not finished (the job holds its claim): never
    recommended again while the job holds it, so a second "replay the recommendation"
    gets only what is not in a job.
``outcome_unknown``
    its latest replay's outcome is unknown: the request may have reached the receiver.
    Never recommended, nor sent again automatically; an operator may resend it
    deliberately (same ``webhook-id``).
``cannot_replay``
    no stored payload, a non-http(s) URL, or the endpoint is disabled.

The decision does not depend on the clock: a ``not_before`` is counted from the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from intel.advisor.candidate import Candidate
from intel.advisor.health import EndpointHealth, OpenIncident
from intel.redact import redact_text
from intel.replay import states as S
from intel.replay.retry_after import RetryHint, add_wait, retry_hint
from intel.replay.safety import check_url
from intel.settings.replay import ReplaySettings
from intel.timeutil import to_rfc3339
from intel.triage.result import (
    PERMANENT,
    RATE_LIMITED,
    SAFE_TO_RETRY_SCORE,
    TRANSIENT,
    TriageResult,
)

REPLAY = "replay"
WAIT = "wait"
RETRY_LATER = "retry_later"
INVESTIGATE = "investigate"
REVIEW = "review"
ALREADY_REPLAYED = "already_replayed"
IN_PROGRESS = "in_progress"
OUTCOME_UNKNOWN = "outcome_unknown"
CANNOT_REPLAY = "cannot_replay"
DECISIONS = (REPLAY, WAIT, RETRY_LATER, INVESTIGATE, REVIEW, ALREADY_REPLAYED, IN_PROGRESS,
             OUTCOME_UNKNOWN, CANNOT_REPLAY)
UNKNOWN_TEXT = "outcome unknown — check with the receiver"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the advisor does with one delivery, why (safe to show: credentials in URLs
    are masked), and for ``retry_later`` the earliest time to send it again. ``rule``
    names the rule of :data:`RULES` that decided."""

    decision: str
    reason: str
    not_before: datetime | None = None
    rule: str = ""


def not_before(headers: object, failed_at: datetime) -> datetime | None:
    """When a rate-limited delivery may be sent again, from its response headers; None
    when they give no usable time."""
    hint = retry_hint(headers, failed_at)
    return None if hint is None else add_wait(failed_at, hint.seconds)


@dataclass(frozen=True)
class Facts:
    """What one decision reads. The derived values are worked out when a rule first asks
    (only rate-limited deliveries parse headers; only replayable ones check the URL)."""

    candidate: Candidate
    verdict: TriageResult
    health: EndpointHealth
    incident: OpenIncident | None
    settings: ReplaySettings

    @property
    def claim(self) -> str | None:
        return self.candidate.claim_state

    @property
    def job(self) -> str | None:
        return self.candidate.claim_job

    @property
    def category(self) -> str:
        return self.verdict.category

    @property
    def score(self) -> int:
        return int(self.verdict.score)

    @property
    def last_ok(self) -> datetime | None:
        return self.health.last_success_at

    @cached_property
    def hint(self) -> RetryHint | None:
        return retry_hint(self.candidate.response_headers, self.candidate.failed_at)

    @cached_property
    def not_before(self) -> datetime | None:
        hint = self.hint
        return None if hint is None else add_wait(self.candidate.failed_at, hint.seconds)

    @cached_property
    def url_problem(self) -> str | None:
        refused = check_url(self.candidate.endpoint)
        return refused.removeprefix("refused: ") if refused else None

    @property
    def replay_failed_since_recovery(self) -> bool:
        at = self.candidate.last_replay_failed_at
        return at is not None and self.last_ok is not None and at >= self.last_ok


@dataclass(frozen=True, slots=True)
class Rule:
    """When ``when`` holds, the delivery gets ``decision`` because ``says``; ``dated``: the
    decision carries the delivery's not-before time."""

    name: str
    decision: str
    when: Callable[[Facts], bool]
    says: Callable[[Facts], str]
    dated: bool = False


def _unknown_outcome(f: Facts) -> str:
    return (f"{UNKNOWN_TEXT}: its replay in job {f.job} may have reached the receiver (no "
            "answer: a timeout after sending, a dropped connection or a runner stopped in "
            "flight). Never resent automatically; an operator may resend it deliberately "
            "(same webhook-id)")


def _capped_wait(f: Facts) -> str:
    return (f"rate-limited: the response asked for more than {f.hint.seconds / 86400:g} "
            f"days ({f.hint.describe()}); not before {to_rfc3339(f.not_before)} at the "
            "earliest")


def _failed_again(f: Facts) -> str:
    return (f"endpoint failing again: {f.health.down_failures_since} transport/5xx "
            f"failure(s) since its latest success at {to_rfc3339(f.last_ok)}")


def _replay_failed(f: Facts) -> str:
    return (f"a replay of it failed at {to_rfc3339(f.candidate.last_replay_failed_at)}, "
            f"after the endpoint's latest success ({to_rfc3339(f.last_ok)}): waiting for "
            "the endpoint to succeed again")


def _unstable(f: Facts) -> str:
    return (f"endpoint unstable: {f.health.episodes} separate transport/5xx failure "
            f"episodes in {f.health.recent_deliveries} deliveries in the last "
            f"{f.settings.advisor_unstable_window}; a replay may fail again")


def _recovered(f: Facts) -> str:
    return (f"{f.verdict.reason}; the endpoint has succeeded since ({to_rfc3339(f.last_ok)})"
            " and has not failed again since")


def _recovered_tolerated(f: Facts) -> str:
    return (f"{f.verdict.reason}; the endpoint has succeeded since ({to_rfc3339(f.last_ok)})"
            f"; {f.health.tolerated_failures(f.settings)} transport/5xx failure(s) since "
            "then, fewer than replay.advisor_down_again_failures "
            f"({f.settings.advisor_down_again_failures}), so it still counts as recovered")


#: In order; the first rule whose ``when`` holds decides, and the last always holds.
RULES: tuple[Rule, ...] = (
    # What the replay tables say comes first: a job holds it, or a replay has answered.
    Rule("replayed", ALREADY_REPLAYED, lambda f: f.claim == S.CLAIM_SUCCEEDED,
         lambda f: f"already replayed successfully (job {f.job})"),
    Rule("in a job", IN_PROGRESS, lambda f: f.claim in S.CLAIM_HELD,
         lambda f: f"in replay job {f.job}, not finished yet (in progress)"),
    Rule("outcome unknown", OUTCOME_UNKNOWN, lambda f: f.claim == S.CLAIM_UNKNOWN,
         _unknown_outcome),
    # Then the triage verdict: what a replay cannot fix, should not send yet, or is unsure of.
    Rule("permanent", INVESTIGATE, lambda f: f.category == PERMANENT,
         lambda f: f"permanent failure: {f.verdict.reason}"),
    Rule("rate-limited, no usable time", RETRY_LATER,
         lambda f: f.category == RATE_LIMITED and f.not_before is None,
         lambda f: "rate-limited; the response gave no usable time to wait"),
    Rule("rate-limited, capped", RETRY_LATER,
         lambda f: f.category == RATE_LIMITED and f.hint.capped, _capped_wait, dated=True),
    Rule("rate-limited", RETRY_LATER, lambda f: f.category == RATE_LIMITED,
         lambda f: f"rate-limited: not before {to_rfc3339(f.not_before)}", dated=True),
    Rule("low score", REVIEW,
         lambda f: f.category == TRANSIENT and f.score <= SAFE_TO_RETRY_SCORE,
         lambda f: (f"transient, but triage is not confident enough (score {f.score} ≤ "
                    f"{SAFE_TO_RETRY_SCORE})")),
    Rule("unclassified", REVIEW, lambda f: f.category != TRANSIENT,
         lambda f: f"unclassified: {f.verdict.reason}"),
    # Transient and confident: can it be sent at all?
    Rule("no payload", CANNOT_REPLAY, lambda f: f.candidate.no_payload,
         lambda f: "no stored payload to replay"),
    Rule("endpoint disabled", CANNOT_REPLAY, lambda f: f.candidate.endpoint_disabled,
         lambda f: "the endpoint is disabled"),
    Rule("refused URL", CANNOT_REPLAY, lambda f: f.url_problem is not None,
         lambda f: f.url_problem),
    # Would it succeed now?
    Rule("open incident", WAIT, lambda f: f.incident is not None,
         lambda f: f.incident.describe()),
    Rule("no success since", WAIT, lambda f: f.last_ok is None,
         lambda f: "endpoint still down: no successful delivery to it since the failure"),
    Rule("success before the failure", WAIT,
         lambda f: not f.health.recovered_after(f.candidate.failed_at),
         lambda f: (f"endpoint still down: its latest success ({to_rfc3339(f.last_ok)}) is "
                    "before this failure")),
    Rule("failing again", WAIT, lambda f: f.health.failing_again(f.settings), _failed_again),
    Rule("replay failed since", WAIT, lambda f: f.replay_failed_since_recovery, _replay_failed),
    Rule("unstable", REVIEW, lambda f: f.health.unstable(f.settings), _unstable),
    Rule("recovered, failures tolerated", REPLAY,
         lambda f: f.health.tolerated_failures(f.settings) > 0, _recovered_tolerated),
    Rule("recovered", REPLAY, lambda f: True, _recovered),
)


def decide(candidate: Candidate, verdict: TriageResult, health: EndpointHealth,
           incident: OpenIncident | None, settings: ReplaySettings) -> Decision:
    """The decision for ``candidate`` given its triage ``verdict``, its endpoint's
    ``health``, the open ``incident`` covering it (``intel.advisor.health
    .incident_covering``) and the advisor's settings. Pure; never raises on stored
    values (headers and URLs are the customer's)."""
    facts = Facts(candidate, verdict, health, incident, settings)
    rule = next(r for r in RULES if r.when(facts))
    return Decision(rule.decision, redact_text(rule.says(facts)),
                    facts.not_before if rule.dated else None, rule.name)
