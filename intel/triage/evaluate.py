"""Accuracy report of triage predictions against labels (pure: no files, no database).

A prediction is right when its category is in the record's ``acceptable`` list (the
``label`` alone when there is none). ``unsafe`` marks the failures a retry cannot fix:
predicting ``transient-endpoint-down`` above 80 for one of them is a "safe to retry"
false positive, the error the engine must never make.

* precision of category c: of the predictions c, the share that is right;
* recall of category c: of the records labelled c, the share predicted rightly;
* confusion matrix: rows are labels, columns predictions (counts);
* calibration: accuracy within the score bands 0-49, 50-79, 80-89, 90-100;
* the rollout gate: accuracy ≥ 85% (the product plan's threshold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from intel.triage.result import CATEGORIES, SAFE_TO_RETRY_SCORE, TRANSIENT, TriageResult

#: Accuracy needed before production rollout.
ROLLOUT_GATE = 0.85
#: Score bands of the calibration table, inclusive.
SCORE_BANDS: tuple[tuple[int, int], ...] = ((0, 49), (50, 79), (80, 89), (90, 100))


@dataclass
class EvaluationReport:
    """The figures of one evaluation. ``confusion`` is a pandas DataFrame."""

    n: int
    correct: int
    accuracy: float
    per_category: dict[str, dict[str, Any]]
    confusion: Any
    safe_to_retry_false_positives: list[dict[str, Any]]
    calibration: list[dict[str, Any]]
    gate_threshold: float = ROLLOUT_GATE
    gate_passed: bool = False
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def false_positive_count(self) -> int:
        return len(self.safe_to_retry_false_positives)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the confusion matrix as {label: {predicted: count}})."""
        return {
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "per_category": self.per_category,
            "confusion": {
                str(label): {str(col): int(v) for col, v in row.items()}
                for label, row in self.confusion.to_dict(orient="index").items()
            },
            "safe_to_retry_false_positives": self.safe_to_retry_false_positives,
            "safe_to_retry_false_positive_count": self.false_positive_count,
            "calibration": self.calibration,
            "gate_threshold": self.gate_threshold,
            "gate_passed": self.gate_passed,
            "mistakes": self.mistakes,
        }


def _category_and_score(prediction: Any) -> tuple[str, int]:
    if isinstance(prediction, TriageResult):
        return prediction.category, prediction.score
    if isinstance(prediction, Mapping):
        return str(prediction.get("category")), int(prediction.get("score") or 0)
    if isinstance(prediction, tuple | list) and len(prediction) == 2:
        return str(prediction[0]), int(prediction[1])
    return str(prediction), 0


def _band(score: int) -> str:
    for low, high in SCORE_BANDS:
        if low <= score <= high:
            return f"{low}-{high}"
    return f"{SCORE_BANDS[-1][0]}-{SCORE_BANDS[-1][1]}" if score > 100 else "0-49"


def evaluate(
    predictions: Iterable[Any],
    labels: Sequence[str],
    acceptable: Sequence[Sequence[str] | None] | None = None,
    unsafe: Sequence[bool | None] | None = None,
    ids: Sequence[Any] | None = None,
    gate: float = ROLLOUT_GATE,
) -> EvaluationReport:
    """Score ``predictions`` (TriageResults, {"category","score"} dicts, (category, score)
    pairs, or bare categories) against ``labels``.

    ``acceptable[i]`` lists every category accepted for record i (default: the label);
    ``unsafe[i]`` flags a failure a retry cannot fix (default: transient is not
    acceptable for it). ``ids`` name the records in the lists of the report.
    """
    import pandas as pd

    preds = [_category_and_score(p) for p in predictions]
    labels = [str(label) for label in labels]
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions for {len(labels)} labels")
    n = len(labels)
    accept = [
        list(acceptable[i]) if acceptable is not None and acceptable[i] else [labels[i]]
        for i in range(n)
    ]
    flags = [
        bool(unsafe[i])
        if unsafe is not None and unsafe[i] is not None
        else TRANSIENT not in accept[i]
        for i in range(n)
    ]
    names = list(ids) if ids is not None else list(range(n))
    right = [preds[i][0] in accept[i] for i in range(n)]
    correct = sum(right)

    categories = list(CATEGORIES)
    extra = sorted(({c for c, _ in preds} | set(labels)) - set(categories))
    axis = categories + extra
    per_category: dict[str, dict[str, Any]] = {}
    for cat in axis:
        predicted = [i for i in range(n) if preds[i][0] == cat]
        labelled = [i for i in range(n) if labels[i] == cat]
        per_category[cat] = {
            "predicted": len(predicted),
            "support": len(labelled),
            "precision": (sum(right[i] for i in predicted) / len(predicted)) if predicted else None,
            "recall": (sum(right[i] for i in labelled) / len(labelled)) if labelled else None,
        }
    confusion = pd.DataFrame(0, index=pd.Index(axis, name="label"), columns=axis, dtype=int)
    confusion.columns.name = "predicted"
    for i in range(n):
        confusion.loc[labels[i], preds[i][0]] += 1

    false_positives = [
        {
            "id": names[i],
            "predicted": preds[i][0],
            "score": preds[i][1],
            "label": labels[i],
            "acceptable": accept[i],
        }
        for i in range(n)
        if flags[i] and preds[i][0] == TRANSIENT and preds[i][1] > SAFE_TO_RETRY_SCORE
    ]
    calibration = []
    for low, high in SCORE_BANDS:
        members = [i for i in range(n) if _band(preds[i][1]) == f"{low}-{high}"]
        ok = sum(right[i] for i in members)
        calibration.append(
            {
                "band": f"{low}-{high}",
                "n": len(members),
                "correct": ok,
                "accuracy": ok / len(members) if members else None,
            }
        )
    mistakes = [
        {
            "id": names[i],
            "predicted": preds[i][0],
            "score": preds[i][1],
            "label": labels[i],
            "acceptable": accept[i],
        }
        for i in range(n)
        if not right[i]
    ]
    accuracy = correct / n if n else 0.0
    return EvaluationReport(
        n=n,
        correct=correct,
        accuracy=accuracy,
        per_category=per_category,
        confusion=confusion,
        safe_to_retry_false_positives=false_positives,
        calibration=calibration,
        gate_threshold=gate,
        gate_passed=n > 0 and accuracy >= gate,
        mistakes=mistakes,
    )


def evaluate_records(
    records: Sequence[Mapping[str, Any]], gate: float = ROLLOUT_GATE
) -> EvaluationReport:
    """Classify labelled delivery records with the rules and evaluate: each record is a
    delivery dict plus ``label`` and optional ``acceptable`` and ``unsafe``."""
    from intel.triage.engine import classify_delivery

    return evaluate(
        [classify_delivery(r) for r in records],
        [r.get("label") for r in records],
        acceptable=[r.get("acceptable") for r in records],
        unsafe=[r.get("unsafe") for r in records],
        ids=[r.get("id", i) for i, r in enumerate(records)],
        gate=gate,
    )
