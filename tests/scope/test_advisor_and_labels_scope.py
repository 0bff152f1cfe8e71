"""The replay advisor and the labels under a tenant scope."""

from __future__ import annotations

import json

import pytest

from intel.advisor import get_replay_recommendations
from intel.labels.accuracy import accuracy_report
from intel.labels.queue import build_queue, load_delivery
from intel.labels.store import count_labels, delivery_exists, iter_labels, list_labels
from intel.settings.replay import ReplaySettings
from tests.scope.world import INCIDENT_TENANTS, NOW, RECORDS, SCOPES, S, ids_of, records_of

SCOPE_NAMES = list(SCOPES)
TENANT_OF = {r["id"]: r["tenant"] for r in RECORDS}


def _advice(engine, scope):
    return get_replay_recommendations(engine, None, "24h", now=NOW, settings=ReplaySettings(),
                                      scope=scope)


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_advice_is_computed_from_the_scope_alone(engine, world, name):
    scope = SCOPES[name]
    advice = _advice(engine, scope)
    failed = records_of(scope, status="failed")
    assert advice["total_failures_in_window"] == len(failed)
    assert advice["total_analyzed"] == len(failed)
    shown = advice["recommended_ids"] + [r["id"] for r in advice["held_back"]]
    assert sorted(shown) == sorted(r["id"] for r in failed)
    assert all(scope.allows(r["tenant"]) for r in advice["held_back"])
    assert all(scope.allows(e["tenant"]) for e in advice["affected_endpoints"])
    assert sum(advice["breakdown"]["by_decision"].values()) == len(failed)
    visible = {i for i, t in INCIDENT_TENANTS.items()
               if scope.unrestricted or (t is not None and scope.allows(t))}
    text = json.dumps(advice)
    for ident in set(INCIDENT_TENANTS) - visible:
        assert ident not in text  # a burst or another tenant's incident is never named
    if not scope.unrestricted:
        assert "the platform" not in text


@pytest.mark.parametrize(("name", "down_since"), [("all", 5), ("acme", 0)])
def test_a_shared_endpoint_s_health_uses_only_the_scope_s_deliveries(engine, world, name,
                                                                    down_since):
    # globex's five 503s on S come after S's latest success; acme's own S failures are 429s
    advice = _advice(engine, SCOPES[name])
    (shared,) = [e for e in advice["affected_endpoints"] if e["endpoint"] == S]
    assert shared["down_failures_since_success"] == down_since
    if name == "acme":
        assert shared["failures"] == 3 and shared["tenant"] == "acme"


def test_a_tenant_outside_the_scope_gets_empty_advice(engine, world):
    advice = get_replay_recommendations(engine, "globex", "24h", now=NOW,
                                        settings=ReplaySettings(), scope=SCOPES["acme"])
    assert advice["total_failures_in_window"] == 0 and advice["held_back"] == []


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_labels_are_the_scope_s(engine, world, name):
    scope = SCOPES[name]
    labelled = {d for t in ("acme", "globex") if scope.allows(t) for d in ids_of(t)[:2]}
    with engine.connect() as conn:
        assert {lb.delivery_id for lb in list_labels(conn, scope=scope)} == labelled
        assert count_labels(conn, scope=scope) == len(labelled)
        assert {lb.delivery_id for lb in iter_labels(conn, batch=1, scope=scope)} == labelled
        mine = list_labels(conn, labeler="globex-ops", scope=scope)
        assert len(mine) == (2 if scope.allows("globex") else 0)
        assert count_labels(conn, labeler="globex-ops", scope=scope) == len(mine)
        queue = build_queue(conn, size=50, seed=1, scope=scope)
        unlabelled = {r["id"] for r in records_of(scope, status="failed")} - labelled
        assert {item.delivery_id for item in queue} == unlabelled
        report = accuracy_report(conn, scope=scope)
        assert report.n == len(labelled)


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_one_delivery_outside_the_scope_is_not_found_for_labelling(engine, world, name):
    scope = SCOPES[name]
    with engine.connect() as conn:
        for delivery_id in (ids_of("acme")[0], ids_of("globex")[0], ids_of("initech")[0]):
            inside = scope.allows(TENANT_OF[delivery_id])
            found = load_delivery(conn, delivery_id, scope=scope)
            assert (found is not None) == inside
            assert delivery_exists(conn, delivery_id, scope=scope) == inside
        assert load_delivery(conn, "no-such-id", scope=scope) is None


@pytest.mark.parametrize(
    ("tenants", "audited"),
    [(("acme",), "acme"), (("initech",), "initech"), (("acme", "initech"), None)],
)
def test_a_label_import_is_audited_with_its_one_tenant(engine, world, tenants, audited):
    from intel.audit import AuditFilter, list_events
    from intel.labels.files import LabelRecord, import_labels

    records = [
        LabelRecord(where=f"line {n}", delivery_id=ids_of(t)[-1], category="unknown",
                    note=None, labeler="ops", labeled_at=None)
        for n, t in enumerate(tenants, 1)
    ]
    with engine.begin() as conn:
        import_labels(conn, records, actor="ops", now=NOW, source="labels.csv")
    (event,) = list_events(engine, AuditFilter(action_prefix="label.import"))[0]
    assert event["tenant"] == audited
    creates = list_events(engine, AuditFilter(action_prefix="label.create", actor="ops"))[0]
    assert sorted(e["tenant"] for e in creates) == sorted(tenants)
