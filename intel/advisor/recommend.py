"""The Smart Replay Advisor: which failed deliveries to replay now, and why.

``get_replay_recommendations(engine, tenant, since, now=...)`` returns the body of
``GET /replay/recommendations`` (CONTRACTS §4) as a JSON-ready dict.

How it decides
--------------
1. **Candidates (SQL).** Failed deliveries whose failure (``last_attempt_at``) lies in
   ``[since, now]`` (default: the last ``replay.advisor_window``), optionally one tenant:
   the ``replay.advisor_max_candidates`` most recent of them (older ones are counted and
   reported as not analysed), with their replay claim, whether a payload is stored and
   whether the endpoint is disabled.
2. **Triage** (``intel.triage.classify_frame``): every distinct failure shape is
   classified once.
3. **Endpoint health (SQL, per endpoint in the candidates, within the window).** Its
   latest success, the transport/5xx failures after that success, its failure episodes
   in ``replay.advisor_unstable_window``, and open incidents (``incidents.status =
   'active'`` whose target is the endpoint, its tenant, or ``*``).
4. **Decision per delivery:**

   ``replay`` (recommended)
       triage says ``transient-endpoint-down`` with a score above 80 (``safe_to_retry``),
       the endpoint has succeeded *after* this failure and has not failed again since
       its latest success (fewer than ``replay.advisor_down_again_failures``
       transport/5xx failures after it; the default, 1, means none at all), no replay of
       this delivery has failed since that success, no incident is open on the
       endpoint, its tenant or the platform, and the endpoint is not unstable: within
       ``replay.advisor_unstable_window``, its transport/5xx failure episodes (a failure
       right after a success) number fewer than ``replay.advisor_unstable_min_episodes``
       or make up less than ``replay.advisor_unstable_share`` of its deliveries. An
       outage that recovered is one episode; a flaky endpoint has many for its traffic.
       When the cutoff is raised above 1, an endpoint with fewer failures than the
       cutoff since its latest success still counts as recovered, and the reason (and
       the endpoint's ``health_note``) says so, with the count.
   ``wait``
       transient, but the endpoint has not succeeded since, is failing again, has an
       open incident, or a replay of this delivery failed after the endpoint's latest
       success: a replay now would fail. The reason says which.
   ``retry_later``
       ``rate-limited``: not before ``last_attempt_at`` + ``Retry-After`` (or the
       ``RateLimit-Reset`` / ``X-RateLimit-Reset`` header), read by
       ``intel.replay.retry_after`` as the replay sender reads it; ``not_before`` is null
       when the response gave no usable time, and a wait beyond a week (``inf``,
       ``1e300``) is capped to a week and says so.
   ``investigate``
       ``permanent-4xx``: never recommended; a replay cannot fix it.
   ``review``
       ``unknown``, transient with a score of 80 or less, or transient to an unstable
       (flaky) endpoint.
   ``already_replayed``
       a replay of it succeeded (its claim).
   ``in_progress``
       it is in a replay job that has not finished (pending or running: the job holds
       its claim). Never recommended again while the job holds it, so a second
       "replay the recommendation" gets only what is not in a job.
   ``outcome_unknown``
       its latest replay's outcome is unknown: the request may have reached the receiver
       (a timeout after it was sent, a dropped connection, a runner that died or stalled
       in flight). Never recommended, nor sent again automatically: "outcome unknown —
       check with the receiver"; an operator may resend it deliberately (same
       ``webhook-id``). Listed in ``outcome_unknown`` too.
   ``cannot_replay``
       no stored payload, a non-http(s) URL, or the endpoint is disabled.

   Recommended ids are sorted oldest first (``created_at``), then tenant, then endpoint.

Confidence
----------
How likely the recommended replays are to succeed, from the evidence behind them:

* **high**: every recommended delivery has a triage score of 90 or more, and at least
  95 % of them go to endpoints that have recovered cleanly (no transport/5xx failure
  since their latest success).
* **medium**: the mean triage score is 85 or more, and at least 75 % go to cleanly
  recovered endpoints.
* **low**: anything else, including when nothing is recommended.

Tenant scope
------------
``scope`` (CONTRACTS §6; default every tenant): a tenant-scoped identity's advice is
computed from its tenants' data alone — the candidates, the endpoint health (successes
and failures of its tenants' deliveries only, so a shared endpoint reveals nothing of
another tenant's traffic), and the open incidents it may see (``incidents.tenant`` in
its scope: bursts and shared endpoints' incidents are platform-wide and not used, nor
named, for it). Breakdowns, affected endpoints and held-back lists hold only its rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, case, func, or_, select

from intel.auth.scope import ALL, TenantScope
from intel.redact import redact_text, redact_url
from intel.replay import states as S
from intel.replay.items import payload_missing
from intel.replay.retry_after import RetryHint, add_wait, retry_hint
from intel.replay.safety import check_url
from intel.settings.replay import ReplaySettings
from intel.store.schema import (
    deliveries,
    delivery_attempts,
    endpoints,
    incidents,
    replay_claims,
)
from intel.timeutil import ensure_utc, parse_duration, parse_since, to_rfc3339, utcnow
from intel.triage import classify_frame
from intel.triage.result import PERMANENT, RATE_LIMITED, SAFE_TO_RETRY_SCORE, TRANSIENT

BODY_CHARS = 4096  # what triage reads of a body (intel.triage.signature.MAX_TEXT)
CHUNK = 500
HELD_BACK_LIMIT = 500
ENDPOINT_LIMIT = 200

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

AGE_BUCKETS = (
    ("< 15 min", timedelta(minutes=15)),
    ("15-60 min", timedelta(hours=1)),
    ("1-6 h", timedelta(hours=6)),
    ("6-24 h", timedelta(hours=24)),
    ("1-3 d", timedelta(days=3)),
    ("3-7 d", timedelta(days=7)),
    ("> 7 d", None),
)


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve_since(since, now: datetime, settings: ReplaySettings) -> datetime:
    if since is None or (isinstance(since, str) and not since.strip()):
        return now - parse_duration(settings.advisor_window)
    if isinstance(since, datetime):
        return ensure_utc(since)
    return parse_since(str(since), now)


def retry_hint_of(headers, failed_at: datetime) -> RetryHint | None:
    """The wait a rate-limited delivery's response asked for (``intel.replay.retry_after``:
    the sender's parser; never raises, capped at a week)."""
    return retry_hint(headers, failed_at)


def not_before(headers, failed_at: datetime) -> datetime | None:
    """When a rate-limited delivery may be sent again, from its response headers; None
    when they give no usable time."""
    hint = retry_hint_of(headers, failed_at)
    return None if hint is None else add_wait(failed_at, hint.seconds)


def _candidates(conn, tenant: str | None, since: datetime, now: datetime, limit: int,
                scope: TenantScope = ALL):
    d = deliveries
    where = [d.c.status == "failed", d.c.last_attempt_at >= since, d.c.last_attempt_at <= now,
             *scope.where(d.c.tenant)]
    if tenant:
        where.append(d.c.tenant == tenant)
    total = conn.execute(select(func.count()).select_from(d).where(*where)).scalar() or 0
    a = delivery_attempts
    last_replay_failed = (
        select(func.max(a.c.finished_at))
        .where(a.c.delivery_id == d.c.id, a.c.kind == "replay",
               a.c.status == S.ATTEMPT_FAILED)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            d.c.id,
            d.c.tenant,
            d.c.endpoint,
            d.c.event_type,
            d.c.status,
            d.c.http_status,
            d.c.error,
            d.c.response_headers,
            func.substr(d.c.response_body, 1, BODY_CHARS).label("response_body"),
            d.c.created_at,
            d.c.last_attempt_at,
            payload_missing(d.c.payload).label("no_payload"),
            replay_claims.c.state.label("claim_state"),
            replay_claims.c.job_id.label("claim_job"),
            endpoints.c.disabled.label("endpoint_disabled"),
            last_replay_failed.label("last_replay_failed_at"),
        )
        .select_from(
            d.outerjoin(replay_claims, replay_claims.c.delivery_id == d.c.id).outerjoin(
                endpoints, endpoints.c.url == d.c.endpoint
            )
        )
        .where(*where)
        .order_by(d.c.last_attempt_at.desc(), d.c.id)
        .limit(limit)
    ).mappings().all()
    return int(total), [dict(r) for r in rows]


def _endpoint_health(conn, urls: list[str], since: datetime, now: datetime,
                     unstable_since: datetime, scope: TenantScope = ALL) -> dict[str, dict]:
    d = deliveries
    mine = scope.where(d.c.tenant)
    down_type = or_(d.c.http_status.is_(None), d.c.http_status >= 500)
    health: dict[str, dict] = {
        u: {"last_success_at": None, "down_failures_since": 0, "last_down_failure_at": None,
            "episodes": 0, "recent_deliveries": 0}
        for u in urls
    }
    for chunk in _chunks(urls):
        last_ok = (
            select(d.c.endpoint.label("endpoint"), func.max(d.c.last_attempt_at).label("at"))
            .where(d.c.endpoint.in_(chunk), d.c.status == "delivered",
                   d.c.last_attempt_at >= since, d.c.last_attempt_at <= now, *mine)
            .group_by(d.c.endpoint)
            .subquery()
        )
        for endpoint, at in conn.execute(select(last_ok.c.endpoint, last_ok.c.at)):
            health[endpoint]["last_success_at"] = ensure_utc(at) if at else None
        again = conn.execute(
            select(d.c.endpoint, func.count())
            .select_from(d.join(last_ok, last_ok.c.endpoint == d.c.endpoint))
            .where(
                d.c.status == "failed",
                d.c.last_attempt_at > last_ok.c.at,
                d.c.last_attempt_at <= now,
                down_type,
                *mine,
            )
            .group_by(d.c.endpoint)
        )
        for endpoint, n in again:
            health[endpoint]["down_failures_since"] = int(n)
        last_down = conn.execute(
            select(d.c.endpoint, func.max(d.c.last_attempt_at))
            .where(d.c.endpoint.in_(chunk), d.c.status == "failed", down_type,
                   d.c.last_attempt_at >= since, d.c.last_attempt_at <= now, *mine)
            .group_by(d.c.endpoint)
        )
        for endpoint, at in last_down:
            health[endpoint]["last_down_failure_at"] = ensure_utc(at) if at else None
        # Failure episodes: a transport/5xx failure right after a success. An outage that
        # recovered is one episode; a flaky endpoint has many.
        ordered = (
            select(
                d.c.endpoint.label("endpoint"),
                d.c.status.label("status"),
                d.c.http_status.label("http_status"),
                func.lag(d.c.status)
                .over(partition_by=d.c.endpoint, order_by=(d.c.last_attempt_at, d.c.id))
                .label("previous"),
            )
            .where(d.c.endpoint.in_(chunk), d.c.last_attempt_at >= unstable_since,
                   d.c.last_attempt_at <= now, *mine)
            .subquery()
        )
        episode = and_(ordered.c.status == "failed", ordered.c.previous == "delivered",
                       or_(ordered.c.http_status.is_(None), ordered.c.http_status >= 500))
        episodes = conn.execute(
            select(ordered.c.endpoint, func.count(),
                   func.sum(case((episode, 1), else_=0)))
            .group_by(ordered.c.endpoint)
        )
        for endpoint, n, n_episodes in episodes:
            health[endpoint]["recent_deliveries"] = int(n)
            health[endpoint]["episodes"] = int(n_episodes or 0)
    return health


def _open_incidents(conn, targets: list[str], scope: TenantScope = ALL) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for chunk in _chunks(targets):
        rows = conn.execute(
            select(incidents.c.id, incidents.c.type, incidents.c.target, incidents.c.severity,
                   incidents.c.detected_at)
            .where(incidents.c.status == "active", incidents.c.target.in_(chunk),
                   *scope.where(incidents.c.tenant))
            .order_by(incidents.c.detected_at)
        ).mappings()
        for r in rows:
            found.setdefault(r["target"], dict(r))
    return found


def _unstable(h: dict, settings: ReplaySettings) -> bool:
    """Flaky: many separate failure episodes for its traffic (see the module docstring)."""
    episodes, n = h.get("episodes", 0), h.get("recent_deliveries", 0)
    return (episodes >= settings.advisor_unstable_min_episodes and n > 0
            and episodes / n >= settings.advisor_unstable_share)


def _tolerated_again(h: dict, settings: ReplaySettings) -> int:
    """Transport/5xx failures since the endpoint's latest success that the cutoff
    (``replay.advisor_down_again_failures``) tolerates: it still counts as recovered."""
    again = h.get("down_failures_since", 0)
    return again if 0 < again < settings.advisor_down_again_failures else 0


def _health_note(h: dict, label: str, settings: ReplaySettings) -> str | None:
    """Why a recovered endpoint that failed after recovering still counts as recovered."""
    again = _tolerated_again(h, settings)
    if label != "recovered" or not again:
        return None
    return (
        f"{again} transport/5xx failure(s) since its latest success at "
        f"{to_rfc3339(h.get('last_success_at'))}, fewer than "
        f"replay.advisor_down_again_failures ({settings.advisor_down_again_failures}): "
        "still counted as recovered"
    )


def _health_label(h: dict, incident: dict | None, settings: ReplaySettings) -> str:
    """incident | failing again | down | recovered (display; decisions are per delivery)."""
    if incident:
        return "incident"
    last_ok, last_down = h.get("last_success_at"), h.get("last_down_failure_at")
    if last_ok is None:
        return "down"
    if h.get("down_failures_since", 0) >= settings.advisor_down_again_failures:
        return "failing again"
    if _unstable(h, settings):
        return "unstable"
    if last_down is not None and last_down > last_ok and not _tolerated_again(h, settings):
        return "down"
    # failures since its latest success that the cutoff tolerates: still recovered (its
    # health_note says how many)
    return "recovered"


def _age_bucket(age: timedelta) -> str:
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


def _incident_text(inc: dict) -> str:
    return (
        f"open incident {inc['id']} ({inc['type']}, {inc['severity']}) on "
        f"{'the platform' if inc['target'] == '*' else redact_url(inc['target'])} since "
        f"{to_rfc3339(inc['detected_at'])}"
    )


def _decide(row: dict, health: dict, incident_on: dict, settings: ReplaySettings):
    """(decision, reason, not_before) for one candidate."""
    claim = row["claim_state"]
    if claim == S.CLAIM_SUCCEEDED:
        return ALREADY_REPLAYED, f"already replayed successfully (job {row['claim_job']})", None
    if claim in S.CLAIM_HELD:
        return IN_PROGRESS, (
            f"in replay job {row['claim_job']}, not finished yet (in progress)"
        ), None
    if claim == S.CLAIM_UNKNOWN:
        return OUTCOME_UNKNOWN, (
            f"{UNKNOWN_TEXT}: its replay in job {row['claim_job']} may have reached the "
            "receiver (no answer: a timeout after sending, a dropped connection or a "
            "runner stopped in flight). Never resent automatically; an operator may resend "
            "it deliberately (same webhook-id)"
        ), None
    category, score = row["category"], int(row["score"])
    if category == PERMANENT:
        return INVESTIGATE, f"permanent failure: {row['triage_reason']}", None
    if category == RATE_LIMITED:
        hint = retry_hint_of(row["response_headers"], row["last_attempt_at"])
        nb = None if hint is None else add_wait(row["last_attempt_at"], hint.seconds)
        if nb is None:
            return RETRY_LATER, "rate-limited; the response gave no usable time to wait", None
        if hint.capped:
            return RETRY_LATER, (
                f"rate-limited: the response asked for more than {hint.seconds / 86400:g} "
                f"days ({hint.describe()}); not before {to_rfc3339(nb)} at the earliest"
            ), nb
        return RETRY_LATER, f"rate-limited: not before {to_rfc3339(nb)}", nb
    if category != TRANSIENT or score <= SAFE_TO_RETRY_SCORE:
        why = (f"transient, but triage is not confident enough (score {score} ≤ "
               f"{SAFE_TO_RETRY_SCORE})" if category == TRANSIENT
               else f"unclassified: {row['triage_reason']}")
        return REVIEW, why, None
    if row["no_payload"]:
        return CANNOT_REPLAY, "no stored payload to replay", None
    if row["endpoint_disabled"]:
        return CANNOT_REPLAY, "the endpoint is disabled", None
    bad_url = check_url(row["endpoint"])
    if bad_url:
        return CANNOT_REPLAY, bad_url.removeprefix("refused: "), None
    for target in (row["endpoint"], row["tenant"], "*"):
        if target in incident_on:
            return WAIT, _incident_text(incident_on[target]), None
    h = health.get(row["endpoint"]) or {}
    last_ok = h.get("last_success_at")
    if last_ok is None:
        return WAIT, "endpoint still down: no successful delivery to it since the failure", None
    if last_ok <= row["last_attempt_at"]:
        return WAIT, (
            f"endpoint still down: its latest success ({to_rfc3339(last_ok)}) is before "
            "this failure"
        ), None
    again = h.get("down_failures_since", 0)
    if again >= settings.advisor_down_again_failures:
        return WAIT, (
            f"endpoint failing again: {again} transport/5xx failure(s) since its latest "
            f"success at {to_rfc3339(last_ok)}"
        ), None
    replay_failed = row.get("last_replay_failed_at")
    if replay_failed is not None and ensure_utc(replay_failed) >= last_ok:
        return WAIT, (
            f"a replay of it failed at {to_rfc3339(ensure_utc(replay_failed))}, after the "
            f"endpoint's latest success ({to_rfc3339(last_ok)}): waiting for the endpoint "
            "to succeed again"
        ), None
    if _unstable(h, settings):
        return REVIEW, (
            f"endpoint unstable: {h['episodes']} separate transport/5xx failure episodes in "
            f"{h['recent_deliveries']} deliveries in the last {settings.advisor_unstable_window}"
            "; a replay may fail again"
        ), None
    tolerated = _tolerated_again(h, settings)
    return REPLAY, (
        f"{row['triage_reason']}; the endpoint has succeeded since ({to_rfc3339(last_ok)})"
        + (
            " and has not failed again since"
            if not tolerated else
            f"; {tolerated} transport/5xx failure(s) since then, fewer than "
            f"replay.advisor_down_again_failures ({settings.advisor_down_again_failures}), "
            "so it still counts as recovered"
        )
    ), None


def get_replay_recommendations(
    engine: Engine,
    tenant: str | None = None,
    since: datetime | str | None = None,
    *,
    now: datetime | None = None,
    settings: ReplaySettings | None = None,
    scope: TenantScope = ALL,
) -> dict:
    """The ``GET /replay/recommendations`` body for ``tenant`` (None: all within
    ``scope``) since ``since``; see "Tenant scope" in the module docstring.

    ``since`` is a datetime, an RFC 3339 string or a look-back such as ``24h``; None
    means ``replay.advisor_window``. ``now`` defaults to the wall clock (edges only).
    Raises ``ValueError`` for a ``since`` that is neither.
    """
    settings = settings or ReplaySettings()
    now = ensure_utc(now) if now else utcnow()
    since_at = _resolve_since(since, now, settings)
    tenant = tenant.strip() if isinstance(tenant, str) and tenant.strip() else None
    with engine.connect() as conn:
        total_failures, rows = _candidates(conn, tenant, since_at, now,
                                           settings.advisor_max_candidates, scope)
        urls = sorted({r["endpoint"] for r in rows})
        unstable_since = now - parse_duration(settings.advisor_unstable_window)
        health = _endpoint_health(conn, urls, since_at, now, unstable_since, scope)
        targets = sorted(set(urls) | {r["tenant"] for r in rows} | {"*"})
        incident_on = _open_incidents(conn, targets, scope)

    if rows:
        frame = pd.DataFrame(
            {
                "status": [r["status"] for r in rows],
                "http_status": pd.array([r["http_status"] for r in rows], dtype="object"),
                "error": [r["error"] for r in rows],
                "response_body": [r["response_body"] for r in rows],
                "response_headers": [r["response_headers"] for r in rows],
            }
        )
        triage = classify_frame(frame)
        for row, category, score, reason in zip(
            rows, triage["category"], triage["score"], triage["reason"], strict=True
        ):
            row["category"], row["score"], row["triage_reason"] = category, int(score), reason
            row["created_at"] = ensure_utc(row["created_at"])
            row["last_attempt_at"] = ensure_utc(row["last_attempt_at"])

    decided = []
    for row in rows:
        decision, reason, nb = _decide(row, health, incident_on, settings)
        decided.append((row, decision, redact_text(reason), nb))
    return _report(decided, health, incident_on, tenant, since_at, now, total_failures,
                   settings)


def _report(decided, health, incident_on, tenant, since_at, now, total_failures, settings):
    recommended = sorted(
        (row for row, decision, _r, _n in decided if decision == REPLAY),
        key=lambda r: (r["created_at"], r["tenant"], r["endpoint"], r["id"]),
    )
    analyzed = len(decided)
    by_decision = Counter(decision for _row, decision, _r, _n in decided)
    by_category = Counter(row["category"] for row, *_ in decided)
    scores = [r["score"] for r in recommended]
    clean = [health[r["endpoint"]]["down_failures_since"] == 0 for r in recommended]
    confidence = confidence_of(scores, clean)

    in_progress_jobs = Counter(row["claim_job"] for row, decision, _r, _n in decided
                               if decision == IN_PROGRESS)
    unknown = sorted(
        ((row, reason) for row, decision, reason, _n in decided if decision == OUTCOME_UNKNOWN),
        key=lambda t: (t[0]["created_at"], t[0]["tenant"], t[0]["endpoint"], t[0]["id"]),
    )

    ages_all = Counter(_age_bucket(now - row["created_at"]) for row, *_ in decided)
    ages_rec = Counter(_age_bucket(now - r["created_at"]) for r in recommended)
    age_distribution = [
        {"bucket": label, "recommended": ages_rec.get(label, 0), "analyzed": ages_all.get(label, 0)}
        for label, _upper in AGE_BUCKETS
    ]

    per_endpoint: dict[str, dict] = {}
    for row, decision, _reason, _nb in decided:
        ep = per_endpoint.get(row["endpoint"])
        if ep is None:
            h = health.get(row["endpoint"], {})
            incident = next(
                (incident_on[t] for t in (row["endpoint"], row["tenant"], "*") if t in incident_on),
                None,
            )
            ep = per_endpoint[row["endpoint"]] = {
                "endpoint": row["endpoint"],
                "tenant": row["tenant"],
                "failures": 0,
                "recommended": 0,
                "waiting": 0,
                "by_decision": defaultdict(int),
                "last_success_at": to_rfc3339(h.get("last_success_at")),
                "down_failures_since_success": h.get("down_failures_since", 0),
                "incident": incident["id"] if incident else None,
                "health": _health_label(h, incident, settings),
            }
            ep["health_note"] = _health_note(h, ep["health"], settings)
        ep["failures"] += 1
        ep["by_decision"][decision] += 1
        if decision == REPLAY:
            ep["recommended"] += 1
        elif decision in (WAIT, RETRY_LATER):
            ep["waiting"] += 1
    for ep in per_endpoint.values():
        ep["by_decision"] = dict(ep["by_decision"])
    endpoints_sorted = sorted(
        per_endpoint.values(), key=lambda e: (-e["recommended"], -e["failures"], e["endpoint"])
    )

    held = sorted(
        ((row, decision, reason, nb) for row, decision, reason, nb in decided
         if decision != REPLAY),
        key=lambda t: (t[0]["created_at"], t[0]["tenant"], t[0]["endpoint"], t[0]["id"]),
    )
    held_back = [
        {
            "id": row["id"],
            "tenant": row["tenant"],
            "endpoint": row["endpoint"],
            "category": row["category"],
            "score": row["score"],
            "decision": decision,
            "reason": reason,
            "not_before": to_rfc3339(nb),
            "failed_at": to_rfc3339(row["last_attempt_at"]),
        }
        for row, decision, reason, nb in held[:HELD_BACK_LIMIT]
    ]
    n_rec = len(recommended)
    share = (n_rec / analyzed) if analyzed else 0.0
    return {
        "recommended_ids": [r["id"] for r in recommended],
        "total_recommended": n_rec,
        "total_analyzed": analyzed,
        "confidence": confidence,
        "reasoning": _reasoning(n_rec, analyzed, total_failures, by_decision, since_at, scores,
                                clean, confidence, settings),
        "share_of_failures": round(share, 4),
        "breakdown": {
            "by_category": {c: by_category[c] for c in sorted(by_category)},
            "by_decision": {d: by_decision[d] for d in DECISIONS if by_decision[d]},
        },
        "age_distribution": age_distribution,
        "affected_endpoints": endpoints_sorted[:ENDPOINT_LIMIT],
        "affected_endpoints_total": len(endpoints_sorted),
        "held_back": held_back,
        "held_back_total": len(held),
        # in unfinished replay jobs: never recommended while a job holds them
        "in_progress": {
            "total": sum(in_progress_jobs.values()),
            "jobs": [{"job_id": j, "count": n}
                     for j, n in sorted(in_progress_jobs.items(), key=lambda kv: kv[0])],
        },
        # outcome unknown — check with the receiver (never resent automatically)
        "outcome_unknown": [
            {"id": row["id"], "tenant": row["tenant"], "endpoint": row["endpoint"],
             "job_id": row["claim_job"], "failed_at": to_rfc3339(row["last_attempt_at"]),
             "reason": reason}
            for row, reason in unknown[:HELD_BACK_LIMIT]
        ],
        "outcome_unknown_total": len(unknown),
        "tenant": tenant,
        "since": to_rfc3339(since_at),
        "until": to_rfc3339(now),
        "total_failures_in_window": total_failures,
        "truncated": total_failures > analyzed,
        "generated_at": to_rfc3339(now),
    }


def _reasoning(n_rec, analyzed, total, by_decision, since_at, scores, clean, confidence,
               settings: ReplaySettings) -> str:
    if analyzed == 0:
        return f"No failed deliveries since {to_rfc3339(since_at)}: nothing to replay."
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
    held = {
        WAIT: "wait for endpoints that are still down, failing again or under an incident",
        RETRY_LATER: "are rate-limited (retry after their not-before time)",
        INVESTIGATE: "are permanent failures (investigate; never replayed)",
        REVIEW: "need manual review (unknown or low-confidence triage, or an unstable "
                "endpoint)",
        ALREADY_REPLAYED: "were already replayed successfully",
        IN_PROGRESS: "are in a replay job that has not finished (in progress)",
        OUTCOME_UNKNOWN: f"had a replay whose {UNKNOWN_TEXT} (never resent automatically)",
        CANNOT_REPLAY: "cannot be replayed (no payload, bad URL or disabled endpoint)",
    }
    others = [f"{by_decision[d]} {text}" for d, text in held.items() if by_decision.get(d)]
    if others:
        parts.append("Of the rest: " + "; ".join(others) + ".")
    if total > analyzed:
        parts.append(f"Only the {analyzed} most recent of {total} failures were analysed.")
    return " ".join(parts)
