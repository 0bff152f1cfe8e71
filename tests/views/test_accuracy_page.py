"""AppTest: the Accuracy page shows the report over stored labels, and the model controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import AuditFilter, list_events
from intel.deliveries.write import upsert_deliveries
from intel.labels.files import add_missing_deliveries, import_labels, read_label_file
from intel.labels.flags import model_enabled
from intel.labels.modelstore import train_model
from intel.labels.store import create_label
from intel.settings import get_settings
from intel.store.db import make_engine
from tests.conftest import DEV_SET
from tests.labels.labels_data import fake_model
from tests.views.apptest import as_identity, write_config

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "accuracy.py")
DEV_SET = DEV_SET
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)  # the page's frozen clock
TR, PE = "transient-endpoint-down", "permanent-4xx"

# (fields, label): the rules say transient (503), transient (refused), permanent (404);
# the second 503 is labelled permanent: wrong, and a "safe to retry" false positive.
LABELLED = [
    ({"http_status": 503, "response_body": "Service Unavailable"}, TR),
    ({"error": "dial tcp 10.0.0.1:443: connect: connection refused"}, TR),
    ({"http_status": 404, "response_body": "Not Found"}, PE),
    ({"http_status": 503, "response_body": None}, PE),
]


def _record(i: int, fields: dict) -> dict:
    at = T0 + timedelta(minutes=i)
    rec = {
        "id": f"a{i:03d}", "tenant": "acme", "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid", "status": "failed", "http_status": None, "error": None,
        "response_headers": None, "response_body": None, "attempts": 1, "created_at": at,
        "last_attempt_at": at, "duration_ms": 3.0, "payload": None, "extra": None,
    }
    rec.update(fields)
    return rec


@pytest.fixture
def page_db(sqlite_url, tmp_path, monkeypatch):
    config = write_config(tmp_path, f"triage:\n  model_path: {tmp_path / 'model.joblib'}\n")
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()


def _label_all(engine) -> None:
    with engine.begin() as conn:
        upsert_deliveries(conn, [_record(i, f) for i, (f, _) in enumerate(LABELLED)], now=T0)
        for i, (_, label) in enumerate(LABELLED):
            create_label(conn, delivery_id=f"a{i:03d}", category=label, labeler="lead", now=T0)


def _run(operator: str | None = "alice", role: str | None = "admin") -> AppTest:
    at = as_identity(AppTest.from_file(PAGE, default_timeout=60), operator, role, now=NOW)
    at.run()
    assert not at.exception, at.exception
    return at


def test_report_over_stored_labels(page_db):
    _label_all(page_db)
    at = _run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Labelled deliveries"] == "4"
    assert metrics["Strict accuracy"] == "75.0%"
    assert metrics["Accepted accuracy"] == "75.0%"  # no label lists alternatives
    assert metrics["Safe-to-retry false positives"] == "1"
    assert any("Rollout gate NOT passed: strict accuracy 75.0%" in e.value for e in at.error)
    assert any("None of these 4 labels is from the starter set" in i.value for i in at.info)
    tables = [df.value for df in at.dataframe]
    fps = next(v for v in tables if "predicted" in v.columns and "reason" in v.columns)
    assert list(fps["id"]) == ["a003"] and list(fps["label"]) == [PE]
    per_cat = next(v for v in tables if "precision" in v.columns)
    row = per_cat.set_index("category").loc[TR]
    assert row["precision"] == pytest.approx(2 / 3) and row["recall"] == 1.0
    origins = next(v for v in tables if "rules' figure" in v.columns)
    assert list(origins["from"]) == ["operators"] and list(origins["n"]) == [4]
    assert list(origins["rules' figure"]) == ["out-of-sample"]
    where = next(v for v in tables if "uses the model" in v.columns)
    assert set(where["uses the model"]) == {"yes", "no"}
    assert any("1 answer(s) off the diagonal" in c.value for c in at.caption)
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert len(charts) >= 3  # confusion heatmap, calibration, weeks


def test_empty_store_explains_how_to_start(page_db):
    at = _run()
    assert any("No labelled deliveries yet" in i.value for i in at.info)
    assert any("No model trained yet" in i.value for i in at.info)


def test_train_with_too_few_labels_says_so(page_db):
    _label_all(page_db)
    at = _run()
    at.button(key="acc_train").click().run()
    assert not at.exception, at.exception
    assert any("Not trained" in w.value and "at least" in w.value for w in at.warning)


def test_model_toggle_needs_a_model_and_is_for_admins(page_db):
    _label_all(page_db)
    assert _run().toggle[0].disabled  # no model file yet
    for role in ("viewer", "operator"):
        at = _run(role=role)
        assert not at.toggle and not [b for b in at.button if b.key == "acc_train"]
        assert "Model in triage: off" in [t.value for t in at.text]
        assert any("for admins" in c.value for c in at.caption)
        # everyone reads where the switch applies
        assert any("uses the model" in df.value.columns for df in at.dataframe)


def _switch_events(engine) -> list[dict]:
    events, _ = list_events(engine, AuditFilter(action_prefix="triage.model", actor="alice"))
    return events


def test_switching_on_a_model_below_the_rules_asks_first(page_db, tmp_path):
    _label_all(page_db)
    fake_model(tmp_path / "model.joblib")  # rules 95.8 %, with the model 95.1 %, alone 94.4 %
    at = _run()
    side_by_side = next(df.value for df in at.dataframe if "measure" in df.value.columns)
    assert list(side_by_side.columns) == ["measure", "rules (in-sample)", "model alone (held-out)",
                                          "rules with the model (held-out)"]
    assert list(side_by_side.iloc[0]) == ["strict accuracy", "95.8%", "94.4%", "95.1%"]
    assert any("in-sample on 143" in c.value for c in at.caption)

    at.toggle[0].set_value(True).run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if "held-out folds" in w.value)
    assert "rules 95.8%" in warning and "rules with the model (what switching on does) 95.1%" \
        in warning and "model alone 94.4%" in warning
    with page_db.connect() as conn:
        assert model_enabled(conn).value is False  # not yet
    at.button(key="acc_confirm_off").click().run()  # keep the rules
    assert at.toggle[0].value is False and not at.warning
    with page_db.connect() as conn:
        assert model_enabled(conn).value is False
    assert _switch_events(page_db) == []

    at.toggle[0].set_value(True).run()
    at.button(key="acc_confirm_on").click().run()
    assert not at.exception, at.exception
    with page_db.connect() as conn:
        assert model_enabled(conn).value is True
    assert at.toggle[0].value is True
    [event] = _switch_events(page_db)
    assert event["action"] == "triage.model.enable"
    assert event["details"]["confirmed_below_rules"] is True
    assert event["details"]["rules_strict_accuracy"] == 0.958


def test_switching_on_a_better_model_asks_nothing(page_db, tmp_path):
    _label_all(page_db)
    fake_model(tmp_path / "model.joblib", rules=0.90, rules_with_model=0.93, model=0.92)
    at = _run()
    at.toggle[0].set_value(True).run()
    assert not at.exception, at.exception
    with page_db.connect() as conn:
        assert model_enabled(conn).value is True
    assert _switch_events(page_db)[0]["details"]["confirmed_below_rules"] is False


def test_a_model_never_compared_with_the_rules_says_so(page_db, tmp_path):
    _label_all(page_db)
    fake_model(tmp_path / "model.joblib", comparison=False)
    at = _run()
    assert any("not comparable" in w.value for w in at.warning)
    at.toggle[0].set_value(True).run()
    assert any("retrain it" in w.value for w in at.warning)


@pytest.mark.slow  # trains a real model first (~2 s unloaded)
def test_model_toggle_is_persisted_and_audited(page_db, tmp_path):
    with page_db.begin() as conn:  # a real model, trained on the dev set's 143 labels
        records = read_label_file(DEV_SET, default_labeler="starter-set")
        add_missing_deliveries(conn, records, actor="starter-set", now=T0)  # a label file
        import_labels(conn, records, actor="starter-set", now=T0)  # never adds them itself
        train_model(conn, model_path=tmp_path / "model.joblib", actor="lead", now=T0)
    at = _run()
    toggle = at.toggle[0]
    assert toggle.value is False and not toggle.disabled
    toggle.set_value(True).run()
    assert not at.exception, at.exception
    # on the starter set the in-sample rules beat the held-out model: confirm first
    at.button(key="acc_confirm_on").click().run()
    assert not at.exception, at.exception
    with page_db.connect() as conn:
        assert model_enabled(conn).value is True
    at.toggle[0].set_value(False).run()
    with page_db.connect() as conn:
        assert model_enabled(conn, default=True).value is False
    events, _ = list_events(page_db, AuditFilter(action_prefix="triage.model", actor="alice"))
    assert [e["action"] for e in events] == ["triage.model.disable", "triage.model.enable"]
    side_by_side = next(df.value for df in at.dataframe if "measure" in df.value.columns)
    assert {"strict accuracy", "accepted accuracy"} <= set(side_by_side["measure"])
    folds = next(df.value for df in at.dataframe if "fold" in df.value.columns)
    assert list(folds["fold"]) == [1, 2, 3, 4, 5] and folds["labels"].sum() == 143
