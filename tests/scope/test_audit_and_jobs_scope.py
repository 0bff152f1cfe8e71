"""The audit trail and replay jobs under a tenant scope.

Audit: entries carry the one tenant their action concerns (labels, incidents, a job of
one tenant's deliveries, a claim release); a scoped identity reads only its tenants'
entries. Jobs: a scoped identity sees a job only when every delivery in it is one of
its tenants'; ids outside its scope are unknown ids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from intel.audit import AuditFilter, distinct_values, list_events
from intel.auth import ALL
from intel.replay import jobs as J
from intel.replay import states as S
from intel.store.schema import replay_claims
from tests.scope.world import NOW, SCOPES, ids_of

SCOPE_NAMES = list(SCOPES)


def _all_events(engine, **kw) -> list[dict]:
    events, total = list_events(engine, AuditFilter(), limit=10_000, **kw)
    assert total == len(events)
    return events


def test_audit_entries_carry_the_tenant_they_concern(engine, world):
    events = _all_events(engine)
    by_action: dict[str, set] = {}
    for e in events:
        by_action.setdefault(e["action"], set()).add(e["tenant"])
    assert by_action["label.create"] == {"acme", "globex"}
    assert by_action["incident.open"] == {"acme", "globex", None}  # burst, shared: None
    assert by_action["settings.edit"] == {None}
    jobs = {e["target_id"]: e["tenant"] for e in events if e["action"] == "replay.job.create"}
    assert jobs == {world.jobs["acme"]: "acme", world.jobs["globex"]: "globex",
                    world.jobs["mixed"]: None}


@pytest.mark.parametrize("name", SCOPE_NAMES)
def test_audit_lists_only_the_scope_s_entries(engine, world, name):
    scope = SCOPES[name]
    everything = _all_events(engine)
    expected = [e for e in everything
                if scope.unrestricted or (e["tenant"] is not None and scope.allows(e["tenant"]))]
    shown = _all_events(engine, scope=scope)
    assert [e["id"] for e in shown] == [e["id"] for e in expected]
    page, total = list_events(engine, AuditFilter(action_prefix="incident"), limit=2,
                              offset=0, scope=scope)
    assert total == sum(e["action"].startswith("incident.") for e in expected)
    assert len(page) == min(2, total)
    assert distinct_values(engine, "actor", scope=scope) == sorted({e["actor"] for e in expected})
    assert distinct_values(engine, "action", scope=scope) == sorted(
        {e["action"] for e in expected})
    if not scope.unrestricted:
        assert "root" not in distinct_values(engine, "actor", scope=scope)


@pytest.mark.parametrize(
    ("name", "jobs"),
    [
        ("all", {"acme", "globex", "mixed"}),
        ("acme", {"acme"}),
        ("globex", {"globex"}),
        ("acme+initech", {"acme"}),
        ("stranger", set()),
    ],
)
def test_job_visibility(engine, world, name, jobs):
    scope = SCOPES[name]
    listed = {row["id"] for row in J.list_jobs(engine, limit=50, scope=scope)}
    assert listed == {world.jobs[j] for j in jobs}
    for job_name, job_id in world.jobs.items():
        seen = job_name in jobs
        assert (J.get_job(engine, job_id, scope=scope) is not None) == seen
        assert (J.job_progress(engine, job_id, NOW, scope=scope) is not None) == seen
        summary = J.job_summary(engine, job_id, scope=scope)
        assert (summary is not None) == seen
        if not seen:
            # cancelling it fails exactly as for a job that does not exist
            with pytest.raises(J.UnknownJob) as outside:
                J.request_cancel(engine, job_id, operator="mallory", now=NOW, scope=scope)
            with pytest.raises(J.UnknownJob) as missing:
                J.request_cancel(engine, "rj-nope", operator="mallory", now=NOW, scope=scope)
            assert str(outside.value) == str(missing.value).replace("rj-nope", job_id)
            assert J.get_job(engine, job_id)["cancel_requested"] is False


def test_a_job_whose_delivery_is_gone_is_for_unrestricted_scopes_only(engine, world):
    from sqlalchemy import delete

    from intel.store.schema import deliveries, labels

    gone = ids_of("acme")[0]
    with engine.begin() as conn:
        conn.execute(delete(labels).where(labels.c.delivery_id == gone))
        conn.execute(delete(deliveries).where(deliveries.c.id == gone))
    assert J.get_job(engine, world.jobs["acme"], scope=SCOPES["acme"]) is None
    assert J.get_job(engine, world.jobs["acme"], scope=ALL) is not None


@pytest.mark.parametrize("name", ["acme", "acme+initech", "stranger"])
def test_ids_outside_the_scope_are_unknown_ids(engine, world, name):
    scope = SCOPES[name]
    other = ids_of("globex")[-1]
    preview = J.preview_replay(engine, [other, "no-such-id"], scope=scope)
    assert preview.unknown_ids == [other, "no-such-id"] and preview.count == 0
    with pytest.raises(J.UnknownDeliveries) as outside:
        J.create_job(engine, [other], operator="mallory", source="manual", now=NOW,
                     scope=scope)
    with pytest.raises(J.UnknownDeliveries) as missing:
        J.create_job(engine, ["no-such-id"], operator="mallory", source="manual", now=NOW,
                     scope=scope)
    assert outside.value.ids == [other]
    assert str(outside.value) == str(missing.value).replace("no-such-id", other)
    assert len(J.list_jobs(engine, limit=50)) == 3  # nothing written


def test_a_job_in_scope_is_created_and_audited_with_its_tenant(engine, world):
    scope = SCOPES["acme+initech"]
    ids = [ids_of("initech")[0]]
    job_id, preview = J.create_job(engine, ids, operator="ian", source="manual",
                                   now=NOW + timedelta(seconds=1), scope=scope)
    assert preview.tenants == ["initech"]
    assert J.get_job(engine, job_id, scope=scope)["created_by"] == "ian"
    events, _ = list_events(engine, AuditFilter(target_id=job_id), scope=SCOPES["acme"])
    assert events == []  # initech's job: not acme's entry
    events, _ = list_events(engine, AuditFilter(target_id=job_id), scope=scope)
    assert [(e["action"], e["tenant"]) for e in events] == [("replay.job.create", "initech")]


def test_replay_claims_outside_the_scope_are_not_found(engine, world):
    other = ids_of("globex")[-1]
    with engine.begin() as conn:
        conn.execute(insert(replay_claims).values(delivery_id=other, job_id="rj-x",
                                                  state=S.CLAIM_UNKNOWN, claimed_at=NOW))
    acme = SCOPES["acme"]
    assert J.claim_of(engine, other, scope=acme) is None
    assert J.release_claim(engine, other, operator="mallory", now=NOW, scope=acme) is False
    assert J.claim_of(engine, other) is not None  # still there
    assert J.release_claim(engine, other, operator="gail", now=NOW,
                           scope=SCOPES["globex"]) is True
    events, _ = list_events(engine, AuditFilter(action_prefix="replay.claim.release"))
    assert [e["tenant"] for e in events] == ["globex"]
