"""The optional learned model: training, CV report, persistence, refusal, the guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intel.triage import CATEGORIES, TriageResult, classify_delivery
from intel.triage.evaluate import EvaluationReport, evaluate_records
from intel.triage.model import (
    COMPARED,
    InsufficientLabels,
    ModelPrediction,
    TriageModel,
    combine,
    compare_cv,
    cv_predictions,
    evaluate_cv,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_DEV = REPO.parent / "shared" / "datasets" / "triage_dev.jsonl"
DEV_SET = SHARED_DEV if SHARED_DEV.exists() else REPO / "data" / "triage_labels_starter.jsonl"

T, P, R, U = "transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown"


@pytest.fixture(scope="module")
def dev():
    return [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model(dev):
    return TriageModel().fit(dev, [r["label"] for r in dev])


def test_model_learns_the_dev_set(model, dev):
    assert set(model.classes_) <= set(CATEGORIES)
    assert model.n_labels_ >= 100
    assert model.dropped_classes_ == ["unknown"]  # one example cannot teach a class
    predictions = model.predict(dev)
    train_accuracy = sum(p in r["acceptable"] for p, r in zip(predictions, dev, strict=True))
    assert train_accuracy / len(dev) >= 0.9
    scores = model.predict_scores(dev[:5])
    assert all(isinstance(s, ModelPrediction) and 0 <= s.score <= 100 for s in scores)


def test_cv_report_has_the_rules_report_shape(dev):
    report = evaluate_cv(dev, [r["label"] for r in dev], n_splits=5)
    assert isinstance(report, EvaluationReport)
    assert report.n == len(dev)
    assert 0.8 <= report.accuracy <= 1.0
    assert list(report.confusion.index)[:4] == list(CATEGORIES)
    assert [b["band"] for b in report.calibration] == ["0-49", "50-79", "80-89", "90-100"]
    assert set(report.to_dict()) >= {
        "accuracy",
        "per_category",
        "confusion",
        "calibration",
        "safe_to_retry_false_positives",
        "gate_passed",
    }


@pytest.fixture(scope="module")
def comparison(dev):
    rules = [classify_delivery(r) for r in dev]
    # the first 100 play the starter set (in-sample for the rules), the rest new labels
    return compare_cv(dev, [r["label"] for r in dev], rules, n_splits=5,
                      in_sample=[i < 100 for i in range(len(dev))])


def test_rules_and_model_are_scored_on_the_same_held_out_folds(dev, comparison):
    labels = [r["label"] for r in dev]
    rules = comparison.reports["rules"]
    # the rules' pooled figures are the rules on every label, each label scored once
    assert rules.to_dict() == evaluate_records(dev).to_dict()
    assert comparison.reports["model"].to_dict() == evaluate_cv(dev, labels).to_dict()
    _, fold_of = cv_predictions(dev, labels, n_splits=5)
    assert comparison.fold_of == fold_of
    folds = comparison.folds()
    assert [f["fold"] for f in folds] == [1, 2, 3, 4, 5]
    assert sum(f["n"] for f in folds) == len(dev)
    for f in folds:
        held = [i for i, k in enumerate(fold_of) if k == f["fold"] - 1]
        right = sum(classify_delivery(dev[i]).category == labels[i] for i in held)
        assert f["rules"]["strict_accuracy"] == pytest.approx(right / len(held))
    for name in COMPARED:  # the same pairs: same labels, same ids, same order
        pairs = comparison.reports[name].pairs
        assert [(p.id, p.label) for p in pairs] == [(r["id"], r["label"]) for r in dev]


def test_rules_with_model_is_what_the_switch_turns_on(dev, comparison):
    model = comparison.reports["model"].pairs
    mixed = comparison.reports["rules_with_model"].pairs
    for record, m, x in zip(dev, model, mixed, strict=True):
        expected = combine(classify_delivery(record), ModelPrediction(m.predicted, m.score))
        assert (x.predicted, x.score) == (expected.category, expected.score)
    # the guard holds on held-out data too: no new safe-to-retry false positive
    assert (comparison.reports["rules_with_model"].false_positive_count
            <= comparison.reports["rules"].false_positive_count)


def test_comparison_by_origin(dev, comparison):
    parts = comparison.by_origin()
    assert (parts["in_sample"]["n"], parts["held_out"]["n"]) == (100, len(dev) - 100)
    body = json.loads(json.dumps(comparison.to_dict()))
    assert body["basis"] == "strict" and body["splits"] == 5 and body["n"] == len(dev)
    assert set(body) >= {"rules", "model", "rules_with_model", "folds", "by_origin"}
    nothing = compare_cv(dev, [r["label"] for r in dev], [classify_delivery(r) for r in dev],
                         n_splits=3).by_origin()
    assert nothing["in_sample"]["n"] == 0
    assert nothing["in_sample"]["rules"]["strict_accuracy"] is None


def test_compare_needs_one_rule_answer_per_delivery(dev):
    with pytest.raises(ValueError, match="rule results"):
        compare_cv(dev, [r["label"] for r in dev], [], n_splits=3)


def test_save_load_round_trip(model, dev, tmp_path):
    path = model.save(tmp_path / "models" / "triage.joblib")
    loaded = TriageModel.load(path)
    assert loaded.predict(dev) == model.predict(dev)
    assert loaded.predict_scores(dev[:20]) == model.predict_scores(dev[:20])
    meta = loaded.metadata()
    assert meta["n_labels"] == model.n_labels_
    assert meta["classes"] == model.classes_
    assert meta["trained_at"] == model.trained_at_
    assert meta["sklearn_version"]
    assert "cv_accuracy" in meta


def test_fit_with_cv_records_cv_accuracy(dev):
    small = dev[::2]
    fitted = TriageModel().fit(small, [r["label"] for r in small], cv_splits=3)
    assert 0 < fitted.cv_accuracy_ <= 1
    assert fitted.metadata()["cv_accuracy"] == fitted.cv_accuracy_


def test_load_refuses_other_files(tmp_path):
    import joblib

    joblib.dump({"metadata": {"format_version": 999}}, tmp_path / "x.joblib")
    with pytest.raises(ValueError, match="format"):
        TriageModel.load(tmp_path / "x.joblib")


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not fitted"):
        TriageModel().predict([{}])


@pytest.mark.parametrize(
    "labels",
    [
        [T] * 10 + [P] * 10,  # fewer than 30
        [T] * 40,  # one class
        [T] * 39 + [P],  # second class has a single example
    ],
)
def test_refuses_too_few_labels(labels):
    deliveries = [{"http_status": 503}] * len(labels)
    with pytest.raises(InsufficientLabels):
        TriageModel().fit(deliveries, labels)


def test_refuses_unknown_label_names():
    with pytest.raises(ValueError, match="labels must be one of"):
        TriageModel().fit([{}] * 40, [T] * 20 + ["flaky"] * 20)


# --- the guard ---------------------------------------------------------------------------


def rule(category, score, name="some-rule"):
    return TriageResult(category, score, f"because — rule `{name}`", "act", name)


@pytest.mark.parametrize(
    ("rules", "model_says", "category", "score"),
    [
        (rule(U, 30, "unclassified"), (T, 95), T, 80),  # model alone: never "safe"
        (rule(U, 30, "unclassified"), (P, 85), P, 85),
        (rule(U, 30, "unclassified"), (R, 50), U, 30),  # model unsure: rules stand
        (rule(P, 60), (T, 99), P, 60),  # capped at 50 < 60: the rules stand
        (rule(P, 40), (T, 99), T, 50),  # capped at 50
        (rule(R, 45), (T, 99), T, 50),
        (rule(T, 90), (P, 99), T, 90),  # confident rules stand
        (rule(P, 60), (P, 99), P, 60),  # agreement keeps the rules' evidence
        (rule(U, 0, "delivered-not-a-failure"), (T, 99), U, 0),
        (rule(P, 60), None, P, 60),
        (rule(P, 60), ("nonsense", 99), P, 60),
        (rule(P, 60), (T, "x"), P, 60),
    ],
)
def test_combine_table(rules, model_says, category, score):
    result = combine(rules, model_says)
    assert (result.category, result.score) == (category, score)
    if result is not rules:
        assert result.rule == "model"
        assert rules.rule in result.reason


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CATEGORIES),
    st.integers(0, 100),
    st.sampled_from(CATEGORIES),
    st.integers(-50, 150),
)
def test_combine_never_makes_a_permanent_safe_to_retry(rule_cat, rule_score, model_cat, score):
    rules = rule(rule_cat, rule_score)
    result = combine(rules, ModelPrediction(model_cat, score))
    assert result.category in CATEGORIES
    assert 0 <= result.score <= 100
    if rule_cat != T:
        assert not (result.category == T and result.score > 80)
    if rule_cat == P and result.category == T:
        assert result.score <= 50
