"""Accuracy over stored labels (matches a hand computation), the model, its switch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intel.audit import AuditFilter, list_events
from intel.deliveries.write import upsert_deliveries
from intel.labels.accuracy import accuracy_report, labelled_frame, week_start
from intel.labels.files import add_missing_deliveries, import_labels, read_label_file
from intel.labels.flags import model_enabled, set_model_enabled
from intel.labels.modelstore import (
    meta_path,
    model_in_use,
    model_info,
    switch_check,
    train_model,
    triage_frame,
)
from intel.labels.store import create_label
from intel.settings.triage import TriageSettings
from intel.triage.model import InsufficientLabels
from tests.labels.labels_data import DEV_SET, T0, failure

TR, PE, RL = "transient-endpoint-down", "permanent-4xx", "rate-limited"

# Each: (delivery fields, label, days after T0 it was labelled). What the rules say
# is in the comment; the expected figures below are counted by hand from it.
CASES = [
    ({"http_status": 503, "response_body": "Service Unavailable"}, TR, 0),  # TR high: right
    ({"http_status": None, "response_body": None,
      "error": "dial tcp 10.0.0.1:443: connect: connection refused"}, TR, 0),  # TR high: right
    ({"http_status": 404, "response_body": "Not Found"}, PE, 0),  # PE: right
    ({"http_status": 429, "response_body": "slow down",
      "response_headers": {"Retry-After": "30"}}, RL, 7),  # RL: right
    # labelled permanent, but the rules say transient > 80: wrong AND a safe-to-retry FP
    ({"http_status": 503, "response_body": "Service Unavailable"}, PE, 7),
    # labelled rate-limited, the rules say permanent (plain 404): wrong, not an FP
    ({"http_status": 404, "response_body": "Not Found"}, RL, 7),
]


@pytest.fixture
def hand_labelled(engine):
    with engine.begin() as conn:
        upsert_deliveries(conn, [failure(i, **fields) for i, (fields, _, _) in enumerate(CASES)],
                          now=T0)
        for i, (_, label, days) in enumerate(CASES):
            create_label(conn, delivery_id=f"d{i:03d}", category=label, labeler="alice",
                         now=T0 + timedelta(days=days))
    return engine


def test_accuracy_over_stored_labels_matches_hand_computation(hand_labelled):
    with hand_labelled.connect() as conn:
        result = accuracy_report(conn)
    report = result.report
    assert (report.n, report.correct) == (6, 4)
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.gate_passed is False  # 66.7 % < 85 %
    pc = report.per_category
    # predicted TR: d000, d001, d004 -> 2 right of 3; labelled TR: 2, both found
    assert pc[TR]["precision"] == pytest.approx(2 / 3) and pc[TR]["recall"] == 1.0
    # predicted PE: d002, d005 -> 1 right of 2; labelled PE: d002, d004 -> 1 of 2
    assert pc[PE]["precision"] == pytest.approx(1 / 2) and pc[PE]["recall"] == pytest.approx(1 / 2)
    # predicted RL: d003 -> right; labelled RL: d003, d005 -> 1 of 2
    assert pc[RL]["precision"] == 1.0 and pc[RL]["recall"] == pytest.approx(1 / 2)
    assert report.confusion.loc[PE, TR] == 1 and report.confusion.loc[RL, PE] == 1
    assert int(report.confusion.to_numpy().sum()) == 6
    assert [fp["id"] for fp in result.false_positives] == ["d004"]
    assert result.false_positives[0]["label"] == PE and result.false_positives[0]["score"] > 80
    assert {m["id"] for m in result.mistakes} == {"d004", "d005"}
    assert [(w["week"], w["n"], w["correct"], w["safe_to_retry_false_positives"])
            for w in result.by_week] == [
        (week_start(T0), 3, 3, 0),
        (week_start(T0 + timedelta(days=7)), 3, 1, 1),
    ]
    top = result.calibration_top()
    assert top["n"] >= 1 and top["band"] == "90-100"


def test_accuracy_changes_with_a_new_label(hand_labelled):
    with hand_labelled.begin() as conn:
        upsert_deliveries(conn, [failure(50, http_status=401, response_body="bad signature")],
                          now=T0)
        create_label(conn, delivery_id="d050", category=PE, labeler="bob", now=T0)
        report = accuracy_report(conn).report
    assert (report.n, report.correct) == (7, 5)


def test_no_labels_is_an_empty_report(engine):
    with engine.connect() as conn:
        result = accuracy_report(conn)
    assert result.n == 0 and result.report.gate_passed is False and result.by_week == []


def test_week_start_is_monday_utc():
    assert week_start(T0).weekday() == 0 and week_start(T0) <= T0
    assert T0 - week_start(T0) < timedelta(days=7)


def test_the_model_switch_is_persisted_and_audited(engine):
    with engine.connect() as conn:
        assert model_enabled(conn, default=False).value is False
        assert model_enabled(conn, default=True).value is True  # the setting's default
    with engine.begin() as conn:
        set_model_enabled(conn, True, actor="alice", now=T0)
    with engine.begin() as conn:
        flag = model_enabled(conn, default=False)
        assert (flag.value, flag.updated_by, flag.updated_at) == (True, "alice", T0)
        set_model_enabled(conn, False, actor="bob", now=T0 + timedelta(hours=1))
        assert model_enabled(conn, default=True).value is False  # the operator's choice wins
    events, _ = list_events(engine, AuditFilter(action_prefix="triage.model"))
    assert [e["action"] for e in events] == ["triage.model.disable", "triage.model.enable"]


def test_training_with_too_few_labels_says_so(hand_labelled, tmp_path):
    with pytest.raises(InsufficientLabels, match="at least"), hand_labelled.begin() as conn:
        train_model(conn, model_path=tmp_path / "m.joblib", actor="alice", now=T0)
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.slow  # trains and cross-validates a real model (~2 s unloaded)
def test_train_save_and_use_the_model(sqlite_engine, tmp_path):
    engine = sqlite_engine
    records = read_label_file(DEV_SET, default_labeler="starter-set")
    with engine.begin() as conn:
        add_missing_deliveries(conn, records, actor="starter-set", now=T0)
        import_labels(conn, records, actor="starter-set", now=T0)
    path = tmp_path / "models" / "triage.joblib"
    with engine.begin() as conn:
        outcome = train_model(conn, model_path=path, actor="alice", now=T0)
    info = model_info(path)
    assert path.exists() and meta_path(path).exists()
    assert info["trained_by"] == "alice" and info["labels_used"] == 143
    assert info["format_version"] == 1 and info["sha256"]
    assert info["model_cv"]["n"] == 143 and 0 < info["model_cv"]["accuracy"] <= 1
    assert info["rules_same_labels"]["accuracy"] == outcome.rules.accuracy
    # rules, model and rules-with-model on the same folds; the rules in-sample (starter)
    with engine.connect() as conn:
        stored = accuracy_report(conn).report
    assert outcome.rules.to_dict() == stored.to_dict()  # the page's figures
    assert info["in_sample_labels"] == 143 and info["basis"] == "strict"
    assert info["rules_with_model_cv"]["strict_accuracy"] == outcome.rules_with_model.accuracy
    assert sum(f["n"] for f in info["comparison"]["folds"]) == 143
    assert info["comparison"]["by_origin"]["held_out"]["n"] == 0
    check = switch_check(info)
    assert check is not None and check.below  # the model scores below the in-sample rules
    settings = TriageSettings(model_path=str(path))
    with engine.begin() as conn:
        frame = labelled_frame(conn)
        assert not model_in_use(conn, settings)  # trained is not enabled
        set_model_enabled(conn, True, actor="alice", now=T0)
        assert model_in_use(conn, settings)
        combined = triage_frame(conn, frame, settings)
    assert list(combined.index) == list(frame.index)
    # the guard: the model never makes a delivery "safe to retry" that the rules do not
    from intel.triage import classify_frame

    rules = classify_frame(frame)
    model_made = combined["rule"] == "model"
    safe = (combined["category"] == TR) & (combined["score"] > 80)
    assert not (model_made & safe).any()
    assert not ((rules["category"] == PE) & (combined["category"] == TR)
                & (combined["score"] > 80)).any()
    events, _ = list_events(engine, AuditFilter(action_prefix="triage.model.train"))
    assert len(events) == 1
