"""The advisor's report: the ``GET /replay/recommendations`` body (CONTRACTS §4) assembled
from every candidate's decision.

Recommended ids, the held-back list and the outcome-unknown list are sorted oldest first
(``created_at``), then tenant, then endpoint. Affected endpoints: most recommended first,
then most failures.

Confidence
----------
How likely the recommended replays are to succeed, from the evidence behind them:

* **high**: every recommended delivery has a triage score of 90 or more, and at least
  95 % of them go to endpoints that have recovered cleanly (no transport/5xx failure
  since their latest success).
* **medium**: the mean triage score is 85 or more, and at least 75 % go to cleanly
  recovered endpoints.
* **low**: anything else, including when nothing is recommended.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    UNKNOWN_TEXT,
    WAIT,
    Decision,
)
from intel.advisor.health import EndpointHealth, OpenIncident
from intel.settings.replay import ReplaySettings
from intel.timeutil import to_rfc3339
from intel.triage.result import SAFE_TO_RETRY_SCORE, TriageResult

HELD_BACK_LIMIT = 500  # rows of the held-back and outcome-unknown lists (totals are exact)
ENDPOINT_LIMIT = 200

AGE_BUCKETS = (
    ("< 15 min", timedelta(minutes=15)),
    ("15-60 min", timedelta(hours=1)),
    ("1-6 h", timedelta(hours=6)),
    ("6-24 h", timedelta(hours=24)),
    ("1-3 d", timedelta(days=3)),
    ("3-7 d", timedelta(days=7)),
    ("> 7 d", None),
)

# How the reasoning names each held-back decision ("Of the rest: 3 <text>; ...").
HELD_TEXT = {
    WAIT: "wait for endpoints that are still down, failing again or under an incident",
    RETRY_LATER: "are rate-limited (retry after their not-before time)",
    INVESTIGATE: "are permanent failures (investigate; never replayed)",
    REVIEW: "need manual review (unknown or low-confidence triage, or an unstable endpoint)",
    ALREADY_REPLAYED: "were already replayed successfully",
    IN_PROGRESS: "are in a replay job that has not finished (in progress)",
    OUTCOME_UNKNOWN: f"had a replay whose {UNKNOWN_TEXT} (never resent automatically)",
    CANNOT_REPLAY: "cannot be replayed (no payload, bad URL or disabled endpoint)",
}


@dataclass(frozen=True, slots=True)
class Assessed:
    """One candidate with all the advisor weighed for it and what it decided."""

    candidate: Candidate
    verdict: TriageResult
    health: EndpointHealth
    incident: OpenIncident | None
    decision: Decision


def age_bucket(age: timedelta) -> str:
    for label, upper in AGE_BUCKETS:
        if upper is None or age < upper:
            return label
    return AGE_BUCKETS[-1][0]


def confidence_of(scores: list[int], clean: list[bool]) -> str:
    """high / medium / low, as defined in the module docstring."""
    if not scores:
        return "low"
    clean_share = sum(clean) / len(clean)
    if min(scores) >= 90 and clean_share >= 0.95:
        return "high"
    if sum(scores) / len(scores) >= 85 and clean_share >= 0.75:
        return "medium"
    return "low"


def _endpoint_entry(first: Assessed, settings: ReplaySettings) -> dict:
    """An affected endpoint, its health as the first of its deliveries saw it."""
    c, incident = first.candidate, first.incident
    label = first.health.label(incident, settings)
    return {
        "endpoint": c.endpoint,
        "tenant": c.tenant,
        "failures": 0,
        "recommended": 0,
        "waiting": 0,
        "by_decision": defaultdict(int),
        "last_success_at": to_rfc3339(first.health.last_success_at),
        "down_failures_since_success": first.health.down_failures_since,
        "incident": incident.id if incident else None,
        "health": label,
        "health_note": first.health.note(label, settings),
    }


def _affected_endpoints(assessed: list[Assessed], settings: ReplaySettings) -> list[dict]:
    per_endpoint: dict[str, dict] = {}
    for a in assessed:
        ep = per_endpoint.get(a.candidate.endpoint)
        if ep is None:
            ep = per_endpoint[a.candidate.endpoint] = _endpoint_entry(a, settings)
        decision = a.decision.decision
        ep["failures"] += 1
        ep["by_decision"][decision] += 1
        if decision == REPLAY:
            ep["recommended"] += 1
        elif decision in (WAIT, RETRY_LATER):
            ep["waiting"] += 1
    for ep in per_endpoint.values():
        ep["by_decision"] = dict(ep["by_decision"])
    return sorted(per_endpoint.values(),
                  key=lambda e: (-e["recommended"], -e["failures"], e["endpoint"]))


def build_report(assessed: list[Assessed], *, tenant: str | None, since: datetime,
                 now: datetime, total_failures: int, settings: ReplaySettings) -> dict:
    """The JSON-ready body for ``assessed`` (the analysed candidates) out of
    ``total_failures`` failures in ``[since, now]``."""
    recommended = sorted((a for a in assessed if a.decision.decision == REPLAY),
                         key=lambda a: a.candidate.order)
    held = sorted((a for a in assessed if a.decision.decision != REPLAY),
                  key=lambda a: a.candidate.order)
    unknown = [a for a in held if a.decision.decision == OUTCOME_UNKNOWN]
    analyzed = len(assessed)
    by_decision = Counter(a.decision.decision for a in assessed)
    by_category = Counter(a.verdict.category for a in assessed)
    scores = [int(a.verdict.score) for a in recommended]
    clean = [a.health.clean for a in recommended]
    confidence = confidence_of(scores, clean)
    in_progress_jobs = Counter(a.candidate.claim_job for a in assessed
                               if a.decision.decision == IN_PROGRESS)
    ages_all = Counter(age_bucket(now - a.candidate.created_at) for a in assessed)
    ages_rec = Counter(age_bucket(now - a.candidate.created_at) for a in recommended)
    endpoints = _affected_endpoints(assessed, settings)
    n_rec = len(recommended)
    return {
        "recommended_ids": [a.candidate.id for a in recommended],
        "total_recommended": n_rec,
        "total_analyzed": analyzed,
        "confidence": confidence,
        "reasoning": reasoning(n_rec, analyzed, total_failures, by_decision, since, scores,
                               clean, confidence, settings),
        "share_of_failures": round(n_rec / analyzed if analyzed else 0.0, 4),
        "breakdown": {
            "by_category": {c: by_category[c] for c in sorted(by_category)},
            "by_decision": {d: by_decision[d] for d in DECISIONS if by_decision[d]},
        },
        "age_distribution": [
            {"bucket": label, "recommended": ages_rec.get(label, 0),
             "analyzed": ages_all.get(label, 0)}
            for label, _upper in AGE_BUCKETS
        ],
        "affected_endpoints": endpoints[:ENDPOINT_LIMIT],
        "affected_endpoints_total": len(endpoints),
        "held_back": [
            {
                "id": a.candidate.id,
                "tenant": a.candidate.tenant,
                "endpoint": a.candidate.endpoint,
                "category": a.verdict.category,
                "score": int(a.verdict.score),
                "decision": a.decision.decision,
                "reason": a.decision.reason,
                "not_before": to_rfc3339(a.decision.not_before),
                "failed_at": to_rfc3339(a.candidate.failed_at),
            }
            for a in held[:HELD_BACK_LIMIT]
        ],
        "held_back_total": len(held),
        # in unfinished replay jobs: never recommended while a job holds them
        "in_progress": {
            "total": sum(in_progress_jobs.values()),
            "jobs": [{"job_id": j, "count": n}
                     for j, n in sorted(in_progress_jobs.items(), key=lambda kv: kv[0])],
        },
        # outcome unknown — check with the receiver (never resent automatically)
        "outcome_unknown": [
            {"id": a.candidate.id, "tenant": a.candidate.tenant,
             "endpoint": a.candidate.endpoint, "job_id": a.candidate.claim_job,
             "failed_at": to_rfc3339(a.candidate.failed_at), "reason": a.decision.reason}
            for a in unknown[:HELD_BACK_LIMIT]
        ],
        "outcome_unknown_total": len(unknown),
        "tenant": tenant,
        "since": to_rfc3339(since),
        "until": to_rfc3339(now),
        "total_failures_in_window": total_failures,
        "truncated": total_failures > analyzed,
        "generated_at": to_rfc3339(now),
    }


def reasoning(n_rec: int, analyzed: int, total: int, by_decision: Counter, since: datetime,
              scores: list[int], clean: list[bool], confidence: str,
              settings: ReplaySettings) -> str:
    """The report's one-paragraph summary."""
    if analyzed == 0:
        return f"No failed deliveries since {to_rfc3339(since)}: nothing to replay."
    cutoff = settings.advisor_down_again_failures
    again = ("have not failed again since (no transport/5xx failure after their latest "
             "success)" if cutoff <= 1 else
             f"have not failed again since (fewer than {cutoff} transport/5xx failures "
             "after their latest success)")
    parts = []
    if n_rec:
        parts.append(
            f"{n_rec} of {analyzed} failed deliveries ({n_rec / analyzed:.0%}) are transient "
            f"endpoint failures (triage score > {SAFE_TO_RETRY_SCORE}, mean "
            f"{sum(scores) / len(scores):.0f}) to endpoints that have answered successfully "
            f"since, {again} and have no open incident; {sum(clean)} of them go to "
            f"endpoints with no failure since ({confidence} confidence)."
        )
    else:
        parts.append(f"None of the {analyzed} failed deliveries is safe to replay now.")
    others = [f"{by_decision[d]} {text}" for d, text in HELD_TEXT.items() if by_decision.get(d)]
    if others:
        parts.append("Of the rest: " + "; ".join(others) + ".")
    if total > analyzed:
        parts.append(f"Only the {analyzed} most recent of {total} failures were analysed.")
    return " ".join(parts)
