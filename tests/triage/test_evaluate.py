"""The accuracy report, and the rules on the labelled dev set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intel.triage import TriageResult, classify_delivery
from intel.triage.evaluate import EvaluationReport, evaluate, evaluate_records

REPO = Path(__file__).resolve().parents[2]
SHARED_DEV = REPO.parent / "shared" / "datasets" / "triage_dev.jsonl"
STARTER = REPO / "data" / "triage_labels_starter.jsonl"
DEV_SET = SHARED_DEV if SHARED_DEV.exists() else STARTER

T, P, R, U = "transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown"


def load_dev():
    return [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]


def test_dev_set_accuracy_and_no_safe_to_retry_false_positive():
    records = load_dev()
    assert len(records) >= 100
    report = evaluate_records(records)
    assert report.accuracy >= 0.95, report.mistakes
    assert report.safe_to_retry_false_positives == []
    assert report.gate_passed
    top = next(b for b in report.calibration if b["band"] == "90-100")
    assert top["n"] > 0 and top["accuracy"] >= 0.9


def test_starter_labels_ship_with_the_repo():
    assert STARTER.exists()
    first = json.loads(STARTER.read_text().splitlines()[0])
    assert {"label", "acceptable", "unsafe", "http_status", "error"} <= set(first)


def test_report_figures():
    preds = [
        TriageResult(T, 95, "r", "a", "x"),  # right
        TriageResult(T, 90, "r", "a", "x"),  # wrong and unsafe: a safe-to-retry FP
        TriageResult(P, 60, "r", "a", "x"),  # right through acceptable
        (R, 85),  # right
        {"category": U, "score": 10},  # wrong
    ]
    labels = [T, P, U, R, T]
    acceptable = [None, [P], [U, P], [R], None]
    unsafe = [False, True, True, True, False]
    report = evaluate(preds, labels, acceptable, unsafe, ids=["a", "b", "c", "d", "e"])
    assert isinstance(report, EvaluationReport)
    assert (report.n, report.correct) == (5, 3)
    assert report.accuracy == pytest.approx(0.6)
    assert not report.gate_passed
    assert [fp["id"] for fp in report.safe_to_retry_false_positives] == ["b"]
    assert report.per_category[T] == {"predicted": 2, "support": 2, "precision": 0.5, "recall": 0.5}
    assert report.per_category[P]["precision"] == 1.0
    assert report.per_category[P]["recall"] == 0.0
    assert report.confusion.loc[T, U] == 1
    assert report.confusion.loc[P, T] == 1
    assert int(report.confusion.to_numpy().sum()) == 5
    bands = {b["band"]: b for b in report.calibration}
    assert list(bands) == ["0-49", "50-79", "80-89", "90-100"]
    assert bands["90-100"]["n"] == 2 and bands["90-100"]["accuracy"] == 0.5
    assert bands["80-89"]["accuracy"] == 1.0
    assert {m["id"] for m in report.mistakes} == {"b", "e"}


def test_report_to_dict_is_json():
    report = evaluate([(T, 95)], [T])
    body = json.loads(json.dumps(report.to_dict()))
    assert body["accuracy"] == 1.0
    assert body["gate_passed"] is True
    assert body["confusion"][T][T] == 1
    assert body["safe_to_retry_false_positive_count"] == 0


def test_unsafe_defaults_to_transient_not_acceptable():
    report = evaluate([(T, 99), (T, 99)], [P, T])
    assert len(report.safe_to_retry_false_positives) == 1


def test_gate_threshold_and_empty():
    assert evaluate([(T, 50)] * 17 + [(P, 50)] * 3, [T] * 20).gate_passed
    assert not evaluate([(T, 50)] * 16 + [(P, 50)] * 4, [T] * 20).gate_passed
    assert not evaluate([], []).gate_passed
    with pytest.raises(ValueError):
        evaluate([(T, 1)], [T, P])


def test_rules_on_the_dev_set_match_classify_delivery():
    records = load_dev()[:10]
    report = evaluate_records(records)
    expected = sum(classify_delivery(r).category in r["acceptable"] for r in records)
    assert report.correct == expected
