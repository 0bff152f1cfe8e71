"""What a tenant-scoped token sees through the API, and who the actor of a write is
(CONTRACTS §6), on SQLite and PostgreSQL.

A token limited to tenant acme sees nothing of another tenant: deliveries, incidents,
insights rows, audit entries, the advisor's breakdowns, replay jobs. Every write is
audited with the token's name, whatever an ``operator`` field in the body says.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from intel.api import create_app
from intel.audit import AuditFilter, list_events
from intel.replay import jobs as J
from intel.store.schema import incidents
from tests.scope.world import NOW, A, G, S, ids_of, records_of
from tests.scope.world import SCOPES as WORLD_SCOPES

# --- a tenant-scoped token sees only its tenants ------------------------------------------

ACME = WORLD_SCOPES["acme"]


def test_scoped_deliveries(api):
    body = api.get("/deliveries", "acme", params={"window": "24h", "per_page": 500}).json()
    mine = records_of(ACME)
    assert body["total"] == len(mine)
    assert {d["tenant"] for d in body["deliveries"]} == {"acme"}
    assert body["by_status"] == dict(Counter(r["status"] for r in mine))
    other = api.get("/deliveries", "acme", params={"tenant": "globex", "window": "24h"}).json()
    assert other["total"] == 0 and other["deliveries"] == []
    everything = api.get("/deliveries", "admin", params={"window": "24h"}).json()
    assert everything["total"] > body["total"]


def test_scoped_incidents(api):
    acme_incidents = {"inc-tenant-acme", "inc-endpoint-a"}
    active = api.get("/anomalies/active", "acme").json()["incidents"]
    assert {i["id"] for i in active} == acme_incidents
    history = api.get("/anomalies/history", "acme", params={"since": "1d"}).json()
    assert {i["id"] for i in history["incidents"]} == acme_incidents
    assert len(api.get("/anomalies/active", "admin").json()["incidents"]) == 6


def test_scoped_insights_rows(api):
    endpoints = api.get("/insights/endpoints", "acme", params={"limit": 100}).json()
    failures = Counter(r["endpoint"] for r in records_of(ACME, status="failed"))
    assert {r["endpoint"]: r["failures"] for r in endpoints["endpoints"]} == dict(failures)
    assert G not in {r["endpoint"] for r in endpoints["endpoints"]}
    shared = next(r for r in endpoints["endpoints"] if r["endpoint"] == S)
    assert shared["failures"] == 3  # acme's 3, not globex's 5 as well

    tenants = api.get("/insights/tenants", "acme").json()["tenants"]
    assert [t["tenant"] for t in tenants] == ["acme"]

    health = api.get("/insights/system-health", "acme").json()
    assert health["deliveries"]["deliveries"] == len(records_of(ACME))
    assert health["incidents"]["incidents"] == 2  # no burst, no shared-endpoint spike
    operators = api.get("/insights/operators", "acme").json()["operators"]
    assert {o["operator"] for o in operators} == {"acme-ops"}
    adoption = api.get("/insights/adoption", "acme").json()["adoption"]
    assert adoption["insights_daily"]["days"] == []  # platform-wide: not for a scope
    for rec in api.get("/insights/recommendations", "acme").json()["recommendations"]:
        assert rec["target"] in {"acme", A, S, "invoice.paid"}, rec


def test_scoped_audit(api):
    body = api.get("/audit", "acme", params={"limit": 1000}).json()
    assert body["total"] == len(body["events"]) > 0
    assert {e["tenant"] for e in body["events"]} == {"acme"}
    actions = {e["action"] for e in body["events"]}
    assert "settings.edit" not in actions and "token.create" not in actions
    everything = api.get("/audit", "admin", params={"limit": 1000}).json()
    assert {"settings.edit", "token.create"} <= {e["action"] for e in everything["events"]}


def test_scoped_advisor_breakdown(api):
    body = api.get("/replay/recommendations", "acme", params={"since": "24h"}).json()
    mine = records_of(ACME, status="failed")
    assert body["total_analyzed"] == len(mine)
    assert sum(body["breakdown"]["by_category"].values()) == len(mine)
    assert {e["tenant"] for e in body["affected_endpoints"]} == {"acme"}
    assert {e["endpoint"] for e in body["affected_endpoints"]} == {A, S}
    assert {e["tenant"] for e in body["held_back"]} <= {"acme"}
    assert set(body["recommended_ids"]) <= {r["id"] for r in mine}
    other = api.get("/replay/recommendations", "acme", params={"tenant": "globex"}).json()
    assert other["total_analyzed"] == 0


def test_scoped_replay_jobs(api):
    own = api.get(f"/replay/jobs/{api.world.jobs['acme']}", "acme", params={"items": True})
    assert own.status_code == 200
    assert {d["id"] for d in own.json()["summary"]["deliveries"]} == set(ids_of("acme")[:2])
    for job in ("globex", "mixed"):
        hidden = api.get(f"/replay/jobs/{api.world.jobs[job]}", "acme")
        missing = api.get("/replay/jobs/rj-nope", "acme")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    refused = api.post("/replay/jobs", "acme", json={"ids": [ids_of("acme")[6],
                                                             ids_of("globex")[6]]})
    assert refused.status_code == 400 and refused.json()["error"]["where"] == "body.ids"
    assert not api.launched and len(J.list_jobs(api.engine)) == 3  # nothing written


def test_scoped_batch_triage(api):
    body = api.post("/triage/deliveries/batch", "acme",
                    json={"ids": [ids_of("globex")[0], ids_of("acme")[0], "nope"]}).json()
    assert [r["id"] for r in body["results"]] == [ids_of("acme")[0]]
    assert body["not_found"] == [ids_of("globex")[0], "nope"]


# --- the actor of a write is the token's name ---------------------------------------------


def _audit(api, action: str) -> list[dict]:
    events, _ = list_events(api.engine, AuditFilter(action_prefix=action), limit=50)
    return events


def test_acknowledge_is_audited_as_the_token(api):
    response = api.post("/anomalies/inc-tenant-acme/acknowledge", "acme",
                        json={"operator": "alice (spoofed)", "note": "known"})
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_by"] == "acme"
    [event] = _audit(api, "incident.ack")
    assert event["actor"] == "acme" and event["details"]["via"] == "api"
    with api.engine.connect() as conn:
        who = conn.execute(select(incidents.c.acknowledged_by)
                           .where(incidents.c.id == "inc-tenant-acme")).scalar_one()
    assert who == "acme"
    assert "spoofed" not in str(_audit(api, "incident"))
    again = api.post("/anomalies/inc-tenant-acme/acknowledge", "operator", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_replay_job_and_cancel_are_audited_as_the_token(api):
    response = api.post("/replay/jobs", "operator",
                        json={"operator": "alice (spoofed)", "ids": [ids_of("acme")[7]]})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json()["poll"] == f"/replay/jobs/{job_id}"
    assert api.launched == [(job_id, "operator")]
    assert J.get_job(api.engine, job_id)["created_by"] == "operator"
    [created] = [e for e in _audit(api, "replay.job.create") if e["target_id"] == job_id]
    assert created["actor"] == "operator"

    cancel = api.post(f"/replay/jobs/{job_id}/cancel", "admin",
                      json={"operator": "alice (spoofed)"})
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    [cancelled] = _audit(api, "replay.job.cancel")
    assert cancelled["actor"] == "admin"
    assert "spoofed" not in str(_audit(api, "replay"))
    finished = api.post(f"/replay/jobs/{job_id}/cancel", "admin")
    assert finished.status_code == 409


def test_the_schema_says_operator_is_ignored():
    schema = create_app().openapi()["components"]["schemas"]
    for model in ("JobRequest", "AckRequest", "CancelRequest"):
        field = schema[model]["properties"]["operator"]
        assert field["description"].startswith("Ignored") and field.get("deprecated")
        assert "operator" not in schema[model].get("required", [])


def test_token_last_use_is_recorded(api):
    from intel.auth.tokens import list_tokens

    assert api.get("/audit", "viewer").status_code == 200
    used = {t.name: t.last_used_at for t in list_tokens(api.engine)}
    assert used["viewer"] == NOW and used["admin"] is None
