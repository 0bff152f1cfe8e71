"""``get_replay_recommendations``: the advisor from the store to its report.

1. **Candidates** (``intel.advisor.queries``): failed deliveries whose failure
   (``last_attempt_at``) lies in ``[since, now]`` (default: the last
   ``replay.advisor_window``), optionally of one tenant: the
   ``replay.advisor_max_candidates`` most recent of them (older ones are counted and
   reported as not analysed), with their replay claims.
2. **Triage** (``intel.triage.classify_frame``): every distinct failure shape once.
3. **Endpoint health and open incidents** (``intel.advisor.queries``,
   ``intel.advisor.health``) for the candidates' endpoints, tenants and the platform.
4. **Decision** per delivery (``intel.advisor.decide``), then the **report**
   (``intel.advisor.report``).

Tenant scope: ``scope`` (CONTRACTS §6; default every tenant) restricts every read
(``intel.advisor.queries``), so breakdowns, affected endpoints and held-back lists hold
only its rows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from intel.advisor.candidate import Candidate
from intel.advisor.decide import decide
from intel.advisor.health import PLATFORM, EndpointHealth, incident_covering
from intel.advisor.queries import candidates, endpoint_health, open_incidents
from intel.advisor.report import Assessed, build_report
from intel.auth.scope import ALL, TenantScope
from intel.settings.replay import ReplaySettings
from intel.timeutil import ensure_utc, parse_duration, parse_since, utcnow
from intel.triage import classify_frame
from intel.triage.result import TriageResult

NO_EVIDENCE = EndpointHealth()


def _resolve_since(since, now: datetime, settings: ReplaySettings) -> datetime:
    if since is None or (isinstance(since, str) and not since.strip()):
        return now - parse_duration(settings.advisor_window)
    if isinstance(since, datetime):
        return ensure_utc(since)
    return parse_since(str(since), now)


def _verdicts(found: list[Candidate]) -> list[TriageResult]:
    if not found:
        return []
    frame = pd.DataFrame(
        {
            "status": [c.status for c in found],
            "http_status": pd.array([c.http_status for c in found], dtype="object"),
            "error": [c.error for c in found],
            "response_body": [c.response_body for c in found],
            "response_headers": [c.response_headers for c in found],
        }
    )
    triage = classify_frame(frame)
    return [
        TriageResult(category, int(score), reason, action, rule)
        for category, score, reason, action, rule in zip(
            triage["category"], triage["score"], triage["reason"],
            triage["recommended_action"], triage["rule"], strict=True,
        )
    ]


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
    ``scope``) since ``since``.

    ``since`` is a datetime, an RFC 3339 string or a look-back such as ``24h``; None
    means ``replay.advisor_window``. ``now`` defaults to the wall clock (edges only).
    Raises ``ValueError`` for a ``since`` that is neither.
    """
    settings = settings or ReplaySettings()
    now = ensure_utc(now) if now else utcnow()
    since_at = _resolve_since(since, now, settings)
    tenant = tenant.strip() if isinstance(tenant, str) and tenant.strip() else None
    with engine.connect() as conn:
        total_failures, found = candidates(conn, tenant, since_at, now,
                                           settings.advisor_max_candidates, scope)
        urls = sorted({c.endpoint for c in found})
        unstable_since = now - parse_duration(settings.advisor_unstable_window)
        health = endpoint_health(conn, urls, since_at, now, unstable_since, scope)
        targets = sorted(set(urls) | {c.tenant for c in found} | {PLATFORM})
        incident_on = open_incidents(conn, targets, scope)

    assessed = []
    for candidate, verdict in zip(found, _verdicts(found), strict=True):
        h = health.get(candidate.endpoint, NO_EVIDENCE)
        incident = incident_covering(incident_on, candidate.endpoint, candidate.tenant)
        assessed.append(Assessed(candidate, verdict, h, incident,
                                 decide(candidate, verdict, h, incident, settings)))
    return build_report(assessed, tenant=tenant, since=since_at, now=now,
                        total_failures=total_failures, settings=settings)
