"""Scoring detections against the simulator's ground truth (``sim_events``, truth table).

Attribution: an incident belongs to an injected anomaly when it was detected inside the
anomaly's window (from its start to ``grace_s`` after its end) and its target is in the
anomaly's reach:

* burst (``*``): any target — everything failing then is the burst's doing;
* tenant anomaly T: T itself, one of the endpoints it hit, or ``*``;
* endpoint anomaly E: E, its tenant, or ``*``.

An anomaly is *detected* when an incident points at it: a burst incident for a burst;
for a tenant or endpoint anomaly, an incident on its target or in its scope (the
tenant's endpoints; the endpoint's tenant) — what tells an operator where the trouble
is. *Exact* detection additionally needs the expected type on the expected target.
Latency runs from the anomaly's third failed delivery (the earliest anyone could know)
to the first detecting incident (``exact_latency_s``: to the first exact one); a burst's
latency from its start is reported too. An anomaly with fewer than three failed
deliveries cannot be known and is reported as *undetectable*, not as missed. An incident
attributed to no anomaly is a false positive; a false positive whose target is in a
confounder's reach (a surge's tenant and endpoints during the surge; a chronic endpoint
profile and its tenant, any time) is a confounder incident.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from intel.store.schema import deliveries, sim_events, sim_failure_truth
from intel.timeutil import parse_timestamp


@dataclass
class Truth:
    events: list[dict]  # sim_events rows (start_at/end_at as datetimes)
    third_failure: dict[str, datetime]  # anomaly id -> its third failed delivery

    @property
    def anomalies(self) -> list[dict]:
        return [e for e in self.events if e["is_anomaly"]]

    @property
    def confounders(self) -> list[dict]:
        return [e for e in self.events if not e["is_anomaly"]]


def load_truth(conn: Connection, start: datetime, end: datetime) -> Truth:
    """Events overlapping ``[start, end)`` and each anomaly's third failure, from the DB."""
    rows = conn.execute(
        select(sim_events).where(sim_events.c.start_at < end, sim_events.c.end_at > start)
    ).mappings()
    events = [dict(r) for r in rows]
    ids = [e["id"] for e in events if e["is_anomaly"]]
    third: dict[str, datetime] = {}
    if ids:
        rn = func.row_number().over(
            partition_by=sim_failure_truth.c.scenario_event,
            order_by=deliveries.c.last_attempt_at,
        ).label("rn")
        inner = (
            select(sim_failure_truth.c.scenario_event, deliveries.c.last_attempt_at, rn)
            .join(deliveries, deliveries.c.id == sim_failure_truth.c.delivery_id)
            .where(and_(sim_failure_truth.c.scenario_event.in_(ids),
                        deliveries.c.status == "failed"))
            .subquery()
        )
        for event_id, at in conn.execute(
            select(inner.c.scenario_event, inner.c.last_attempt_at).where(inner.c.rn == 3)
        ):
            third[event_id] = at
    return Truth(events=events, third_failure=third)


def _reach(event: dict) -> set[str]:
    details = event.get("details") or {}
    targets = {event["target"]}
    targets.update(details.get("endpoints") or [])
    if details.get("tenant"):
        targets.add(details["tenant"])
    if details.get("endpoint"):
        targets.add(details["endpoint"])
    return targets


def _time(value) -> datetime:
    return value if isinstance(value, datetime) else parse_timestamp(value)


@dataclass
class AnomalyScore:
    id: str
    kind: str
    expected_type: str
    target: str
    start_at: datetime
    detectable: bool  # at least three failed deliveries
    detected: bool
    exact: bool
    related: int  # incidents attributed
    latency_s: float | None  # from the third failure to the first detecting incident
    exact_latency_s: float | None
    from_start_s: float | None


@dataclass
class Report:
    anomalies: list[AnomalyScore] = field(default_factory=list)
    incidents: int = 0
    false_positives: int = 0
    confounder_incidents: int = 0
    fp_examples: list[dict] = field(default_factory=list)

    @property
    def scored(self) -> list[AnomalyScore]:
        return [a for a in self.anomalies if a.detectable]

    @property
    def detected(self) -> int:
        return sum(a.detected for a in self.scored)

    @property
    def exact(self) -> int:
        return sum(a.exact for a in self.scored)

    @property
    def missed(self) -> list[str]:
        return [a.id for a in self.scored if not a.detected]

    @property
    def undetectable(self) -> list[str]:
        return [a.id for a in self.anomalies if not a.detectable]

    @property
    def latencies(self) -> list[float]:
        return [a.latency_s for a in self.scored if a.latency_s is not None]

    @property
    def latency_median(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def latency_max(self) -> float | None:
        return max(self.latencies) if self.latencies else None

    @property
    def burst_from_start_max(self) -> float | None:
        values = [a.from_start_s for a in self.scored
                  if a.expected_type == "burst" and a.from_start_s is not None]
        return max(values) if values else None

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.incidents if self.incidents else 0.0

    @property
    def per_anomaly_max(self) -> int:
        return max((a.related for a in self.anomalies), default=0)

    @property
    def per_anomaly_mean(self) -> float:
        return statistics.mean(a.related for a in self.anomalies) if self.anomalies else 0.0

    def as_dict(self) -> dict:
        return {
            "anomalies": len(self.anomalies),
            "detectable": len(self.scored),
            "detected": self.detected,
            "exact": self.exact,
            "missed": self.missed,
            "undetectable": self.undetectable,
            "latency_median_s": self.latency_median,
            "latency_max_s": self.latency_max,
            "burst_from_start_max_s": self.burst_from_start_max,
            "incidents": self.incidents,
            "false_positives": self.false_positives,
            "fp_rate": round(self.fp_rate, 4),
            "confounder_incidents": self.confounder_incidents,
            "incidents_per_anomaly_max": self.per_anomaly_max,
            "incidents_per_anomaly_mean": round(self.per_anomaly_mean, 2),
        }


def score(incidents: list[dict], truth: Truth, grace_s: float = 1800.0) -> Report:
    """``incidents`` in the CONTRACTS §3 shape (``detected_at`` RFC 3339 or datetime)."""
    report = Report(incidents=len(incidents))
    anomalies = sorted(truth.anomalies, key=lambda e: _time(e["start_at"]))
    attributed: dict[str, list[dict]] = {a["id"]: [] for a in anomalies}
    reach = {a["id"]: _reach(a) for a in anomalies}
    for inc in incidents:
        at = _time(inc["detected_at"])
        owners = []
        for a in anomalies:
            start, end = _time(a["start_at"]), _time(a["end_at"])
            if at < start or (at - end).total_seconds() > grace_s:
                continue
            related = inc["target"] == "*" or inc["target"] in reach[a["id"]]
            if a["expected_type"] == "burst" or related:
                owners.append(a)
        if not owners:
            report.false_positives += 1
            if _confounded(inc, at, truth.confounders, grace_s):
                report.confounder_incidents += 1
            if len(report.fp_examples) < 20:
                report.fp_examples.append(inc)
            continue
        exact = [a for a in owners
                 if a["expected_type"] == inc["type"] and a["target"] == inc["target"]]
        owner = (exact or owners)[0]
        attributed[owner["id"]].append(inc)
    for a in anomalies:
        mine = sorted(attributed[a["id"]], key=lambda i: _time(i["detected_at"]))
        if a["expected_type"] == "burst":
            pointing = [i for i in mine if i["type"] == "burst"]
        else:
            pointing = [i for i in mine if i["target"] in reach[a["id"]]]
        exact = [i for i in mine
                 if i["type"] == a["expected_type"] and i["target"] == a["target"]]
        third = truth.third_failure.get(a["id"])
        start = _time(a["start_at"])

        def since_third(incident, start=start, third=third):
            at = _time(incident["detected_at"])
            return (at - (_time(third) if third else start)).total_seconds()

        report.anomalies.append(AnomalyScore(
            id=a["id"], kind=a["kind"], expected_type=a["expected_type"], target=a["target"],
            start_at=start, detectable=third is not None, detected=bool(pointing),
            exact=bool(exact), related=len(mine),
            latency_s=since_third(pointing[0]) if pointing else None,
            exact_latency_s=since_third(exact[0]) if exact else None,
            from_start_s=(_time(pointing[0]["detected_at"]) - start).total_seconds()
            if pointing else None,
        ))
    return report


def _confounded(inc: dict, at: datetime, confounders: list[dict], grace_s: float) -> bool:
    for c in confounders:
        if inc["target"] not in _reach(c):
            continue
        if c["kind"].startswith("profile_"):
            return True
        if _time(c["start_at"]) <= at and (at - _time(c["end_at"])).total_seconds() <= grace_s:
            return True
    return False
