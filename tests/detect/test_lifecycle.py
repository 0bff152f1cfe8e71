"""Every lifecycle transition, as pure state changes, then persisted and audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from intel.audit import AuditFilter, list_events
from intel.detect.signals import Signal
from intel.incidents.lifecycle import AcknowledgeError, acknowledge, advance, incident_id
from intel.incidents.queries import active_body, banner_incidents, history_body
from intel.incidents.store import acknowledge_incident, apply_transitions, load_active
from intel.store.schema import incidents

T0 = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
E = "https://api.customer.example/hook"
SETTLE = 300


def sig(failures=6, total=6, *, firing=True, abnormal=True, active=False, severity="warning",
        expected=0.1, inhibited_by=None) -> Signal:
    return Signal(
        type="endpoint_spike", target=E, window="5m", window_s=300, failures=failures,
        total=total, expected=expected, ratio=failures / expected if expected else 0.0,
        p_value=1e-9, base_ratio=0.01, base_rate=0.0001, base_failures=10, base_total=1000,
        firing=firing, abnormal=abnormal, severity=severity, excess=failures - expected,
        active=active, inhibited_by=inhibited_by,
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_open_update_escalate_settle_relapse_resolve():
    step = advance({}, [sig()], at(0), SETTLE)
    assert step.kinds() == [("open", "endpoint_spike|" + E)]
    inc = step.active["endpoint_spike|" + E]
    assert inc.id == incident_id(inc.dedup_key, at(0)) and inc.status == "active"
    assert inc.frozen_baseline().ratio == 0.01

    step = advance(step.active, [sig(9, 9, active=True)], at(0.5), SETTLE)
    assert [k for k, _ in step.kinds()] == ["update"]
    assert step.active[inc.dedup_key].peak_failures == 9

    step = advance(step.active, [sig(30, 30, active=True, severity="critical")], at(1), SETTLE)
    assert [k for k, _ in step.kinds()] == ["escalate"]
    assert step.active[inc.dedup_key].severity == "critical"

    step = advance(step.active, [sig(0, 10, abnormal=False, firing=False, active=True)], at(2),
                   SETTLE)
    assert [k for k, _ in step.kinds()] == ["settle"]
    assert step.active[inc.dedup_key].normal_since == at(2)

    step = advance(step.active, [sig(5, 5, active=True)], at(3), SETTLE)
    assert [k for k, _ in step.kinds()] == ["relapse"]
    assert step.active[inc.dedup_key].normal_since is None

    quiet = [sig(0, 10, abnormal=False, firing=False, active=True)]
    step = advance(step.active, quiet, at(4), SETTLE)
    step = advance(step.active, quiet, at(8.9), SETTLE)
    assert [k for k, _ in step.kinds()] == ["update"]
    step = advance(step.active, quiet, at(9), SETTLE)
    assert [k for k, _ in step.kinds()] == ["resolve"]
    resolved = step.transitions[0].incident
    assert resolved.status == "resolved" and resolved.resolved_at == at(9)
    assert resolved.severity == "critical"  # severity never goes back down
    assert step.active == {}


def test_one_incident_per_key_while_active_and_a_new_one_after():
    step = advance({}, [sig()], at(0), SETTLE)
    step = advance(step.active, [sig(active=True)], at(0.5), SETTLE)
    assert len(step.active) == 1 and not any(k == "open" for k, _ in step.kinds())
    first = step.active["endpoint_spike|" + E]
    step = advance(step.active, [], at(1), 0)  # resolves at once with no settling
    assert step.active == {}
    step = advance({}, [sig()], at(2), SETTLE)
    assert step.active["endpoint_spike|" + E].id != first.id


@pytest.mark.parametrize("signal", [sig(inhibited_by="tenant_spike|x"), sig(firing=False)])
def test_inhibited_or_quiet_signals_do_not_open(signal):
    assert advance({}, [signal], at(0), SETTLE).transitions == []


def test_acknowledge_rules():
    inc = advance({}, [sig()], at(0), SETTLE).active["endpoint_spike|" + E]
    t = acknowledge(inc, "alice", " known: migration ", at(1))
    assert t.kind == "acknowledge" and t.actor == "alice"
    assert t.incident.acknowledged_by == "alice" and t.incident.ack_note == "known: migration"
    assert t.incident.is_active  # still tracked
    with pytest.raises(AcknowledgeError, match="already acknowledged by alice"):
        acknowledge(t.incident, "bob", "", at(2))
    with pytest.raises(AcknowledgeError, match="operator"):
        acknowledge(inc, "  ", "", at(2))
    with pytest.raises(AcknowledgeError, match="resolved"):
        acknowledge(replace(inc, status="resolved"), "bob", "", at(2))


def test_transitions_are_persisted_and_audited(engine):
    step = advance({}, [sig()], at(0), SETTLE)
    with engine.begin() as conn:
        apply_transitions(conn, step.transitions, at(0))
    with engine.begin() as conn:  # a replayed tick does not open it twice
        applied = apply_transitions(conn, step.transitions, at(0))
    assert applied == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents)).scalar() == 1
        active = load_active(conn)
    key = "endpoint_spike|" + E
    inc = active[key]

    # an operator acknowledges while the worker keeps tracking: neither overwrites the other
    acked = acknowledge_incident(engine, inc.id, "alice", "customer migrating", at(1))
    assert acked.acknowledged_by == "alice"
    with pytest.raises(AcknowledgeError):
        acknowledge_incident(engine, inc.id, "bob", "", at(1))
    step = advance(active, [sig(12, 12, active=True, severity="critical")], at(1.5), SETTLE)
    with engine.begin() as conn:
        apply_transitions(conn, step.transitions, at(1.5))
    step = advance(step.active, [], at(2), 0)
    with engine.begin() as conn:
        apply_transitions(conn, step.transitions, at(2))
    with engine.connect() as conn:
        row = conn.execute(select(incidents)).mappings().one()
        assert banner_incidents(conn) == []
    assert row["status"] == "resolved" and row["severity"] == "critical"
    assert row["acknowledged_by"] == "alice" and row["ack_note"] == "customer migrating"
    assert row["peak_failures"] == 12

    events, _ = list_events(engine, AuditFilter(action_prefix="incident"))
    assert [(e["action"], e["actor"]) for e in reversed(events)] == [
        ("incident.open", "system"), ("incident.ack", "alice"), ("incident.escalate", "system"),
        ("incident.settle", "system"), ("incident.resolve", "system"),
    ]
    assert all(e["target_id"] == inc.id for e in events)

    body = history_body(engine, now=at(3), since=at(-60))
    (item,) = body["incidents"]
    assert {"id", "type", "severity", "target", "current_failures", "baseline", "detected_at",
            "status"} <= set(item)
    assert item["detected_at"] == "2026-11-05T16:30:00Z" and item["status"] == "resolved"
    assert item["duration_s"] == 120.0
    assert active_body(engine, now=at(3)) == {"incidents": []}


def test_unknown_incident_cannot_be_acknowledged(sqlite_engine):
    with pytest.raises(AcknowledgeError, match="no incident"):
        acknowledge_incident(sqlite_engine, "inc-nope", "alice", "", T0)
