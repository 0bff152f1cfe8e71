"""The one definition of accuracy (``intel.triage.evaluate``), and the rules on the
labelled dev set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intel.triage import CATEGORIES, TriageResult, classify_delivery
from intel.triage.evaluate import (
    EvaluationReport,
    Pair,
    accepted_of,
    evaluate,
    evaluate_records,
    make_pairs,
    score,
)

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
    assert report.accuracy >= 0.95, report.mistakes  # strict
    assert report.accepted_accuracy >= report.accuracy
    assert report.safe_to_retry_false_positives == []
    assert report.gate_passed and report.gate_basis == "strict"
    top = next(b for b in report.calibration if b["band"] == "90-100")
    assert top["n"] > 0 and top["accuracy"] >= 0.9


def test_the_starter_set_reads_strict_and_accepted():
    """The figures issue 11 measured: one report, strict 137/143 beside accepted 143/143,
    and the 6 transient labels predicted permanent in the matrix AND in recall/precision."""
    report = evaluate_records(load_dev())
    assert (report.n, report.correct, report.accepted_correct) == (143, 137, 143)
    assert report.confusion.loc[T, P] == 6
    assert report.per_category[T]["recall"] == pytest.approx(69 / 75)
    assert report.per_category[P]["precision"] == pytest.approx(50 / 56)
    assert report.per_category[T]["accepted_recall"] == 1.0
    assert report.accepted_alternatives == [{"label": T, "predicted": P, "n": 6}]


def test_the_dev_set_unsafe_flag_is_implied_by_its_acceptable_list():
    # why the scorer does not read `unsafe`: on every record it says the same
    for record in load_dev():
        assert record["unsafe"] == (T not in record["acceptable"]), record["id"]


def test_starter_labels_ship_with_the_repo():
    assert STARTER.exists()
    first = json.loads(STARTER.read_text().splitlines()[0])
    assert {"label", "acceptable", "unsafe", "http_status", "error"} <= set(first)


def test_report_figures():
    preds = [
        TriageResult(T, 95, "r", "a", "x"),  # right
        TriageResult(T, 90, "r", "a", "x"),  # wrong, transient not accepted: a safe-to-retry FP
        TriageResult(P, 60, "r", "a", "x"),  # not the label, an accepted alternative
        (R, 85),  # right
        {"category": U, "score": 10},  # wrong
    ]
    labels = [T, P, U, R, T]
    acceptable = [None, [P], [U, P], [R], None]
    report = evaluate(preds, labels, acceptable, ids=["a", "b", "c", "d", "e"])
    assert isinstance(report, EvaluationReport)
    assert (report.n, report.correct, report.accepted_correct) == (5, 2, 3)
    assert report.accuracy == pytest.approx(0.4) == report.strict_accuracy
    assert report.accepted_accuracy == pytest.approx(0.6)
    assert not report.gate_passed
    assert [fp["id"] for fp in report.safe_to_retry_false_positives] == ["b"]
    assert report.per_category[T] == {"predicted": 2, "support": 2, "correct": 1,
                                      "precision": 0.5, "recall": 0.5, "accepted_recall": 0.5}
    assert report.per_category[P]["precision"] == 0.0  # c (label unknown) predicted P
    assert report.per_category[P]["recall"] == 0.0
    assert report.per_category[U]["recall"] == 0.0 and report.per_category[U]["precision"] == 0.0
    assert report.per_category[U]["accepted_recall"] == 1.0
    assert report.confusion.loc[T, U] == 1
    assert report.confusion.loc[P, T] == 1
    assert report.confusion.loc[U, P] == 1
    assert int(report.confusion.to_numpy().sum()) == 5
    assert report.accepted_alternatives == [{"label": U, "predicted": P, "n": 1}]
    bands = {b["band"]: b for b in report.calibration}
    assert list(bands) == ["0-49", "50-79", "80-89", "90-100"]
    assert bands["90-100"]["n"] == 2 and bands["90-100"]["accuracy"] == 0.5
    assert bands["80-89"]["accuracy"] == 1.0
    assert bands["50-79"]["accuracy"] == 0.0 and bands["50-79"]["accepted_correct"] == 1
    assert {m["id"] for m in report.mistakes} == {"b", "c", "e"}
    assert next(m for m in report.mistakes if m["id"] == "c")["accepted_alternative"] is True


def test_report_to_dict_is_json():
    report = evaluate([(T, 95)], [T])
    body = json.loads(json.dumps(report.to_dict()))
    assert body["accuracy"] == body["strict_accuracy"] == body["accepted_accuracy"] == 1.0
    assert body["gate_passed"] is True and body["gate_basis"] == "strict"
    assert body["confusion"][T][T] == 1
    assert body["safe_to_retry_false_positive_count"] == 0
    assert set(body["definitions"]) >= {"strict_accuracy", "accepted_accuracy", "recall"}


@pytest.mark.parametrize(
    ("label", "acceptable", "predicted", "score_", "fp"),
    [
        (P, None, T, 99, True),  # the engine's worst error
        (P, None, T, 80, False),  # 80 is not "above 80"
        (R, [R, U], T, 95, True),
        (P, [P, T], T, 95, False),  # the label accepts transient: retrying is fine
        (T, None, T, 99, False),  # right
        (P, None, U, 99, False),  # wrong, but nothing says "retry"
    ],
)
def test_safe_to_retry_false_positive_table(label, acceptable, predicted, score_, fp):
    report = evaluate([(predicted, score_)], [label], [acceptable])
    assert report.false_positive_count == int(fp)
    if fp:  # always an off-diagonal cell of the transient column
        assert report.confusion.loc[label, T] == 1 and label != T


# Prediction / label / acceptable tables: whatever they hold, the figures agree.
TABLES = {
    "all right": [(T, T, None), (P, P, None), (R, R, None), (U, U, None)],
    "starter-like": [(P, T, [T, P, U])] * 6 + [(T, T, None)] * 69 + [(P, P, [P, U])] * 50,
    "all wrong": [(T, P, None), (P, R, None), (R, U, None), (U, T, None)],
    "one column": [(T, T, None), (T, P, None), (T, R, [R, T]), (T, U, None)],
    "unknown-heavy": [(U, T, [T, U]), (U, P, [P, U]), (U, U, None), (P, T, None)],
    "off-axis category": [("flaky", T, None), (T, T, None)],
    "empty": [],
}


@pytest.mark.parametrize("rows", TABLES.values(), ids=TABLES.keys())
def test_every_off_diagonal_cell_is_in_precision_and_recall(rows):
    pairs = [Pair(label, accepted_of(label, acc), pred, 95, i)
             for i, (pred, label, acc) in enumerate(rows)]
    report = score(pairs)
    m = report.confusion
    assert int(m.to_numpy().sum()) == report.n == len(rows)
    diagonal = sum(int(m.loc[c, c]) for c in m.index)
    assert diagonal == report.correct
    assert report.n - report.correct == len(report.mistakes)  # off-diagonal = strict misses
    for c in m.index:
        stats = report.per_category[c]
        row, column = int(m.loc[c].sum()), int(m[c].sum())
        assert (stats["support"], stats["predicted"], stats["correct"]) == (
            row, column, int(m.loc[c, c]))
        assert stats["recall"] == (int(m.loc[c, c]) / row if row else None)
        assert stats["precision"] == (int(m.loc[c, c]) / column if column else None)
        if row and int(m.loc[c].sum()) > int(m.loc[c, c]):  # an off-diagonal cell in the row
            assert stats["recall"] < 1
        if column and column > int(m.loc[c, c]):  # ... in the column
            assert stats["precision"] < 1
    off_accepted = sum(a["n"] for a in report.accepted_alternatives)
    assert report.accepted_correct == report.correct + off_accepted
    for a in report.accepted_alternatives:
        assert a["label"] != a["predicted"] and m.loc[a["label"], a["predicted"]] >= a["n"]
    for fp in report.safe_to_retry_false_positives:
        assert fp["predicted"] == T and fp["label"] != T
    assert sum(b["n"] for b in report.calibration) == report.n
    assert sum(b["correct"] for b in report.calibration) == report.correct


def test_gate_threshold_and_empty():
    assert evaluate([(T, 50)] * 17 + [(P, 50)] * 3, [T] * 20).gate_passed
    assert not evaluate([(T, 50)] * 16 + [(P, 50)] * 4, [T] * 20).gate_passed
    # accepted alternatives do not pass the gate: it is judged on strict accuracy
    strict_fail = evaluate([(P, 50)] * 4 + [(T, 50)] * 16, [T] * 20, [[T, P]] * 20)
    assert strict_fail.accepted_accuracy == 1.0 and not strict_fail.gate_passed
    assert not evaluate([], []).gate_passed
    with pytest.raises(ValueError):
        evaluate([(T, 1)], [T, P])
    with pytest.raises(ValueError):
        make_pairs([(T, 1)], [T], acceptable=[None, None])


@pytest.mark.parametrize(
    ("label", "listed", "expected"),
    [(T, None, (T,)), (T, [], (T,)), (T, [T, P], (T, P)), (P, [U, P], (P, U)),
     (R, [R, R, U], (R, U))],
)
def test_accepted_categories_start_with_the_label(label, listed, expected):
    assert accepted_of(label, listed) == expected


def test_rules_on_the_dev_set_match_classify_delivery():
    records = load_dev()[:10]
    report = evaluate_records(records)
    assert report.correct == sum(classify_delivery(r).category == r["label"] for r in records)
    assert report.accepted_correct == sum(
        classify_delivery(r).category in r["acceptable"] for r in records)
    assert list(report.confusion.index)[:4] == list(CATEGORIES)
