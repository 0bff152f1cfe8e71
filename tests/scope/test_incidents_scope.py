"""Incidents under a tenant scope: each gets its tenant when opened; a scoped identity
sees (and acknowledges) only its tenants' incidents, never a burst or a shared endpoint's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from intel.auth import ALL
from intel.incidents.lifecycle import AcknowledgeError, Transition
from intel.incidents.queries import (
    active_body,
    active_incidents,
    banner_incidents,
    history_body,
    incident_history,
)
from intel.incidents.store import (
    acknowledge_incident,
    apply_transitions,
    get_incident,
    incident_tenant,
    load_active,
    sole_tenant,
)
from intel.incidents.timeline import failures_per_bucket, incident_spans
from intel.store.schema import incidents
from tests.scope.world import (
    INCIDENT_TENANTS,
    NOW,
    SCOPES,
    A,
    G,
    I,
    S,
    h,
    incident,
    records_of,
)

SCOPE_NAMES = list(SCOPES)


def visible_incidents(scope) -> set[str]:
    if scope.unrestricted:
        return set(INCIDENT_TENANTS)
    return {i for i, t in INCIDENT_TENANTS.items() if t is not None and scope.allows(t)}


def test_opened_incidents_carry_their_tenant(engine, world):
    with engine.connect() as conn:
        stored = dict(conn.execute(select(incidents.c.id, incidents.c.tenant)).all())
        active = load_active(conn)
    assert stored == INCIDENT_TENANTS
    assert {i.id: i.tenant for i in active.values()} == INCIDENT_TENANTS


@pytest.mark.parametrize(
    ("endpoint", "tenant"),
    [(A, "acme"), (G, "globex"), (I, "initech"), (S, None), ("https://nobody.example/", None)],
)
def test_sole_tenant_of_an_endpoint(engine, world, endpoint, tenant):
    with engine.connect() as conn:
        assert sole_tenant(conn, endpoint) == tenant
        spike = replace(incident("inc-endpoint-a", NOW), target=endpoint)
        assert incident_tenant(conn, spike) == tenant
        burst = replace(incident("inc-burst", NOW))
        assert incident_tenant(conn, burst) is None


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_lists_hold_only_the_scope_s_incidents(engine, world, name):
    scope = SCOPES[name]
    expected = visible_incidents(scope)
    with engine.connect() as conn:
        assert {i.id for i in active_incidents(conn, scope=scope)} == expected
        assert {i.id for i in banner_incidents(conn, scope=scope)} == expected
        assert {i.id for i in incident_history(conn, since=h(24), scope=scope)} == expected
        assert {i.id for i in incident_spans(conn, h(24), NOW, scope=scope)} == expected
    assert {i["id"] for i in active_body(engine, NOW, scope=scope)["incidents"]} == expected
    assert {i["id"] for i in history_body(engine, NOW, scope=scope)["incidents"]} == expected


@pytest.mark.parametrize("name", ["acme", "globex", "acme+initech", "stranger"])
def test_platform_wide_incidents_are_for_unrestricted_scopes_only(engine, world, name):
    scope = SCOPES[name]
    with engine.connect() as conn:
        shown = {i.id for i in active_incidents(conn, scope=scope)}
        assert "inc-burst" not in shown and "inc-endpoint-s" not in shown
        assert get_incident(conn, "inc-burst", scope=scope) is None
        assert get_incident(conn, "inc-burst", scope=ALL) is not None


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_one_incident_outside_the_scope_is_not_found(engine, world, name):
    scope = SCOPES[name]
    visible = visible_incidents(scope)
    for ident in INCIDENT_TENANTS:
        with engine.connect() as conn:
            found = get_incident(conn, ident, scope=scope)
        assert (found is not None) == (ident in visible)
        if ident in visible:
            continue
        # acknowledging it fails exactly as for an id that does not exist
        with pytest.raises(AcknowledgeError) as outside:
            acknowledge_incident(engine, ident, "mallory", "", NOW, scope=scope)
        with pytest.raises(AcknowledgeError) as missing:
            acknowledge_incident(engine, "inc-nope", "mallory", "", NOW, scope=scope)
        assert str(outside.value) == str(missing.value).replace("inc-nope", ident)
    with engine.connect() as conn:
        assert all(not i.acknowledged for i in active_incidents(conn))


def test_acknowledging_in_scope_is_audited_with_the_tenant(engine, world):
    from intel.audit import AuditFilter, list_events

    acked = acknowledge_incident(engine, "inc-endpoint-a", "alice", "known", NOW,
                                 scope=SCOPES["acme"])
    assert acked.acknowledged_by == "alice" and acked.tenant == "acme"
    events, _ = list_events(engine, AuditFilter(action_prefix="incident.ack"))
    assert [(e["target_id"], e["tenant"]) for e in events] == [("inc-endpoint-a", "acme")]


def test_later_transitions_keep_the_tenant(engine, world):
    with engine.begin() as conn:
        active = load_active(conn)
        spike = active["endpoint_spike|" + A]
        resolved = replace(spike, status="resolved", resolved_at=NOW)
        apply_transitions(conn, [Transition("resolve", resolved, spike)], NOW)
    with engine.connect() as conn:
        assert get_incident(conn, spike.id).tenant == "acme"
    from intel.audit import AuditFilter, list_events

    events, _ = list_events(engine, AuditFilter(action_prefix="incident.resolve"))
    assert [e["tenant"] for e in events] == ["acme"]


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_timeline_counts_only_the_scope_s_deliveries(engine, world, name):
    scope = SCOPES[name]
    with engine.connect() as conn:
        points = failures_per_bucket(conn, h(24), NOW + timedelta(seconds=1), 3600,
                                     scope=scope)
    assert sum(p["deliveries"] for p in points) == len(records_of(scope))
    assert sum(p["failures"] for p in points) == len(records_of(scope, status="failed"))
