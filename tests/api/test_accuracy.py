"""``GET /triage/accuracy``: the one accuracy (issue 11) — for the same labels the same
figures as ``python -m intel triage evaluate`` and the Insights gauge — within the
token's tenants; and ``PUT /triage/model``, the admin's switch (SQLite and PostgreSQL).

The store holds the multi-tenant world (4 labels of acme and globex) plus the starter
set (143 labels of tenant ``tenant-rw``): a token limited to ``tenant-rw`` must read
exactly what the CLI reads from the starter set's file.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from intel.audit import AuditFilter, list_events
from intel.auth.scope import TenantScope
from intel.auth.tokens import create_token
from intel.cli import main
from intel.insights.accuracy import triage_accuracy
from intel.labels.files import add_missing_deliveries, import_labels, read_label_file
from intel.settings import get_settings
from tests.api.test_errors import assert_error
from tests.conftest import DEV_SET
from tests.labels.labels_data import fake_model
from tests.scope.world import NOW

RW = "tenant-rw"  # the starter set's one tenant
#: Every figure the CLI's report and the API body share.
FIGURES = ("n", "correct", "accuracy", "strict_accuracy", "accepted_correct",
           "accepted_accuracy", "per_category", "confusion", "accepted_alternatives",
           "safe_to_retry_false_positive_count", "calibration", "gate_threshold",
           "gate_basis", "gate_passed")


@pytest.fixture
def starter(api):
    """The starter set's labels stored beside the world, and a viewer token limited to
    its tenant."""
    records = read_label_file(DEV_SET, default_labeler="starter-set")
    with api.engine.begin() as conn:
        add_missing_deliveries(conn, records, actor="starter-set", now=NOW - timedelta(hours=2))
        import_labels(conn, records, actor="starter-set", now=NOW - timedelta(hours=1))
    api.secrets["rw"] = create_token(api.engine, name="rw", role="viewer", tenants=[RW],
                                     actor="test", now=NOW - timedelta(days=1))[1]
    return api


@pytest.fixture
def cli_report(capsys) -> dict:
    assert main(["triage", "evaluate", "--labels", str(DEV_SET), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["rules"]


def _gauge_agrees(gauge: dict, body: dict) -> None:
    assert (gauge["labelled"], gauge["correct"], gauge["accepted_correct"]) == (
        body["n"], body["correct"], body["accepted_correct"])
    assert gauge["accuracy"] == gauge["strict_accuracy"] == body["accuracy"]
    assert gauge["accepted_accuracy"] == body["accepted_accuracy"]
    assert (gauge["target"], gauge["basis"]) == (body["gate_threshold"], body["gate_basis"])
    by_label = {b["label"]: b for b in gauge["by_label"]}
    assert set(by_label) == {c for c, v in body["per_category"].items() if v["support"]}
    for category, label in by_label.items():
        assert label["accuracy"] == body["per_category"][category]["recall"]
        assert label["accepted_accuracy"] == body["per_category"][category]["accepted_recall"]


def test_a_scoped_token_reads_what_the_cli_and_the_gauge_read(starter, cli_report):
    response = starter.get("/triage/accuracy", "rw")
    assert response.status_code == 200, response.text
    body = response.json()
    for key in FIGURES:
        assert body[key] == cli_report[key], key
    assert sorted(m["id"] for m in body["mistakes"]) == sorted(
        m["id"] for m in cli_report["mistakes"])
    assert (body["n"], body["correct"]) == (143, 137)  # not the world's 4 labels
    assert body["model"] is None  # platform-wide: not for a tenant-limited token
    assert body["as_of"] == "2026-11-05T16:30:00Z"

    _gauge_agrees(triage_accuracy(starter.engine, NOW, scope=TenantScope.of([RW])), body)
    health = starter.get("/insights/system-health", "rw").json()
    _gauge_agrees(health["triage_accuracy"], body)


def test_an_unrestricted_token_reads_every_label_and_the_model(starter):
    body = starter.get("/triage/accuracy", "viewer").json()
    assert body["n"] == 143 + 4
    _gauge_agrees(triage_accuracy(starter.engine, NOW), body)
    _gauge_agrees(starter.get("/insights/system-health", "viewer").json()["triage_accuracy"],
                  body)
    model = body["model"]
    assert model["enabled"] is False and model["trained"] is False
    assert model["applies_to"] and {a["uses_model"] for a in model["applies_to"]} == {
        True, False}


def test_a_tenant_with_no_labels_reads_none(starter):
    body = starter.get("/triage/accuracy", "acme").json()
    acme_labels = 2  # the world's two acme labels
    assert body["n"] == acme_labels and body["model"] is None
    ids = {m["id"] for m in body["mistakes"]} | {
        r["id"] for r in body["false_positive_rows"]}
    assert all(i.startswith("acme") for i in ids)


# --- the model switch ------------------------------------------------------------------------


def _model_path():
    return get_settings().triage.model_path


def test_switching_on_a_model_below_the_rules_needs_confirmation(api):
    fake_model(_model_path())  # scores below the rules (95.1 % with it vs 95.8 %)
    refused = api.request("PUT", "/triage/model", "admin", {"enabled": True})
    error = assert_error(refused, 409, "conflict", "body.confirmed")
    assert "rules 95.8%" in error["message"] and "confirm" in error["message"]
    assert api.get("/triage/accuracy", "admin").json()["model"]["enabled"] is False

    switched = api.request("PUT", "/triage/model", "admin",
                           {"enabled": True, "confirmed": True, "note": "trial",
                            "operator": "alice (spoofed)"})
    assert switched.status_code == 200, switched.text
    model = switched.json()["model"]
    assert model["enabled"] and model["set_by"] == "admin" and model["below_rules"] is True
    assert model["set_at"] == "2026-11-05T16:30:00Z"
    assert api.get("/triage/accuracy", "viewer").json()["model"]["enabled"] is True
    assert api.get("/triage/accuracy", "acme").json()["model"] is None

    off = api.request("PUT", "/triage/model", "admin", {"enabled": False})
    assert off.status_code == 200 and off.json()["model"]["enabled"] is False
    events, _ = list_events(api.engine, AuditFilter(action_prefix="triage.model"))
    assert {(e["action"], e["actor"]) for e in events} == {
        ("triage.model.enable", "admin"), ("triage.model.disable", "admin")}
    assert "spoofed" not in str(events)


def test_switching_on_without_a_model_is_409(api):
    error = assert_error(api.request("PUT", "/triage/model", "admin",
                                     {"enabled": True, "confirmed": True}), 409, "conflict")
    assert "no trained model" in error["message"]


@pytest.mark.parametrize("who", ["viewer", "operator", "acme"])
def test_only_an_admin_may_switch(api, who):
    fake_model(_model_path(), rules=0.9, rules_with_model=0.95, model=0.95)
    response = api.request("PUT", "/triage/model", who, {"enabled": True})
    assert_error(response, 403, "forbidden")
    assert api.get("/triage/accuracy", "admin").json()["model"]["enabled"] is False
