"""The one definition of triage accuracy (pure: no files, no database).

Every figure the product shows about triage against labels — the Accuracy page, the
Insights gauge, ``python -m intel triage evaluate``, the API, the model comparison — is
computed here, from one list of :class:`Pair`: a labelled delivery's ``label``, the
categories ``accepted`` for it (the label itself plus the acceptable alternatives the
label lists, if any), and the ``predicted`` category with its ``score``. So the figures
cannot disagree:

* **strict accuracy**: the share of pairs whose prediction *is* the label. This is
  *the* accuracy: the rollout gate (:data:`ROLLOUT_GATE`, 85 %) is judged on it, and
  ``accuracy`` in every report means it;
* **accepted accuracy** (always named so): the share whose prediction is the label *or
  one of its listed acceptable alternatives* (the dev set marks, e.g., a TLS failure as
  "permanent-4xx, unknown also acceptable"). Always ≥ strict;
* **confusion matrix**: rows are labels, columns predictions (counts). Its diagonal is
  the strict hits; every off-diagonal cell is a strict miss;
* **precision / recall** of category c are read off that matrix: precision = cell (c, c)
  / column c, recall = cell (c, c) / row c. So a label predicted as another category
  always lowers the recall of its row and the precision of its column;
  ``accepted_recall`` (named so) counts the row's accepted alternatives as hits too;
* **accepted alternatives**: the off-diagonal cells (or parts of them) that an accepted
  list covers — the whole difference between strict and accepted accuracy;
* **safe-to-retry false positives**: predicted ``transient-endpoint-down`` with a score
  above 80 (:data:`~intel.triage.result.SAFE_TO_RETRY_SCORE`) for a delivery whose
  accepted categories do not include transient: the error the engine must never make.
  Each is an off-diagonal cell of the transient column;
* **calibration**: strict accuracy within the score bands 0-49, 50-79, 80-89, 90-100.

The dev set's ``unsafe`` flag is not read: it is the same as "transient is not an
accepted category" on every record of the set, and one rule keeps the false positives
inside the confusion matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from intel.triage.result import CATEGORIES, SAFE_TO_RETRY_SCORE, TRANSIENT, TriageResult

#: Strict accuracy needed before production rollout (the product plan's threshold).
ROLLOUT_GATE = 0.85
#: Which accuracy the gate is judged on.
GATE_BASIS = "strict"
#: Score bands of the calibration table, inclusive.
SCORE_BANDS: tuple[tuple[int, int], ...] = ((0, 49), (50, 79), (80, 89), (90, 100))

#: One wording of each figure, for every surface that shows them (page, CLI, API).
DEFINITIONS: dict[str, str] = {
    "strict_accuracy": "share of labelled deliveries whose predicted category is the label",
    "accepted_accuracy": "share whose predicted category is the label or one of the "
    "acceptable alternatives the label lists",
    "precision": "of the deliveries predicted c, the share labelled c (confusion matrix: "
    "diagonal / column)",
    "recall": "of the deliveries labelled c, the share predicted c (confusion matrix: "
    "diagonal / row)",
    "safe_to_retry_false_positive": "predicted transient-endpoint-down with a score above "
    f"{SAFE_TO_RETRY_SCORE} for a delivery whose label does not accept transient",
    "rollout_gate": f"strict accuracy >= {ROLLOUT_GATE:.0%}",
}


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled delivery as scored."""

    label: str
    accepted: tuple[str, ...]  # the label first, then its listed acceptable alternatives
    predicted: str
    score: int = 0
    id: Any = None

    @property
    def strict(self) -> bool:
        return self.predicted == self.label

    @property
    def accepted_hit(self) -> bool:
        return self.predicted in self.accepted

    @property
    def safe_to_retry_false_positive(self) -> bool:
        return (self.predicted == TRANSIENT and self.score > SAFE_TO_RETRY_SCORE
                and TRANSIENT not in self.accepted)

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "predicted": self.predicted, "score": self.score,
                "label": self.label, "acceptable": list(self.accepted),
                "accepted_alternative": self.accepted_hit and not self.strict}


def accepted_of(label: str, acceptable: Sequence[str] | None) -> tuple[str, ...]:
    """The label, then the listed alternatives (in their order, without repeats)."""
    out = [label]
    for category in acceptable or ():
        category = str(category)
        if category not in out:
            out.append(category)
    return tuple(out)


def _category_and_score(prediction: Any) -> tuple[str, int]:
    if isinstance(prediction, TriageResult):
        return prediction.category, prediction.score
    if isinstance(prediction, Mapping):
        return str(prediction.get("category")), int(prediction.get("score") or 0)
    if isinstance(prediction, tuple | list) and len(prediction) == 2:
        return str(prediction[0]), int(prediction[1])
    if hasattr(prediction, "category") and hasattr(prediction, "score"):
        return str(prediction.category), int(prediction.score)
    return str(prediction), 0


def make_pairs(
    predictions: Iterable[Any],
    labels: Sequence[str],
    acceptable: Sequence[Sequence[str] | None] | None = None,
    ids: Sequence[Any] | None = None,
) -> list[Pair]:
    """Pairs from parallel lists: ``predictions`` (TriageResults, {"category","score"}
    dicts, (category, score) pairs or bare categories), ``labels``, optional
    ``acceptable`` lists (each may include the label) and ``ids``."""
    preds = [_category_and_score(p) for p in predictions]
    labels = [str(label) for label in labels]
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions for {len(labels)} labels")
    if acceptable is not None and len(acceptable) != len(labels):
        raise ValueError(f"{len(acceptable)} acceptable lists for {len(labels)} labels")
    names = list(ids) if ids is not None else list(range(len(labels)))
    return [
        Pair(label, accepted_of(label, acceptable[i] if acceptable is not None else None),
             preds[i][0], preds[i][1], names[i])
        for i, label in enumerate(labels)
    ]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _band(score: int) -> str:
    for low, high in SCORE_BANDS:
        if low <= score <= high:
            return f"{low}-{high}"
    return f"{SCORE_BANDS[-1][0]}-{SCORE_BANDS[-1][1]}" if score > 100 else "0-49"


@dataclass
class EvaluationReport:
    """The figures of one list of pairs. ``confusion`` is a pandas DataFrame (rows:
    label, columns: predicted). ``accuracy`` / ``correct`` are the strict figures."""

    n: int
    correct: int
    accuracy: float
    accepted_correct: int
    accepted_accuracy: float
    per_category: dict[str, dict[str, Any]]
    confusion: Any
    accepted_alternatives: list[dict[str, Any]]
    safe_to_retry_false_positives: list[dict[str, Any]]
    calibration: list[dict[str, Any]]
    gate_threshold: float = ROLLOUT_GATE
    gate_passed: bool = False
    mistakes: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list, repr=False)

    gate_basis = GATE_BASIS

    @property
    def strict_accuracy(self) -> float:
        return self.accuracy

    @property
    def false_positive_count(self) -> int:
        return len(self.safe_to_retry_false_positives)

    def confusion_dict(self) -> dict[str, dict[str, int]]:
        return {
            str(label): {str(col): int(v) for col, v in row.items()}
            for label, row in self.confusion.to_dict(orient="index").items()
        }

    def summary(self) -> dict[str, Any]:
        """The figures without the per-delivery lists (for a model's metadata file)."""
        return {
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "strict_accuracy": self.accuracy,
            "accepted_correct": self.accepted_correct,
            "accepted_accuracy": self.accepted_accuracy,
            "per_category": self.per_category,
            "confusion": self.confusion_dict(),
            "accepted_alternatives": self.accepted_alternatives,
            "safe_to_retry_false_positives": self.false_positive_count,
            "calibration": self.calibration,
            "gate_threshold": self.gate_threshold,
            "gate_basis": self.gate_basis,
            "gate_passed": self.gate_passed,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the confusion matrix as {label: {predicted: count}}).
        ``accuracy`` is the strict accuracy (also under ``strict_accuracy``)."""
        return {
            **self.summary(),
            # here the list of them, and their count under its own key
            "safe_to_retry_false_positives": self.safe_to_retry_false_positives,
            "safe_to_retry_false_positive_count": self.false_positive_count,
            "mistakes": self.mistakes,
            "definitions": DEFINITIONS,
        }


def score(pairs: Sequence[Pair], gate: float = ROLLOUT_GATE) -> EvaluationReport:
    """Every figure of ``pairs`` (see the module docstring)."""
    import pandas as pd

    pairs = list(pairs)
    n = len(pairs)
    seen = {p.label for p in pairs} | {p.predicted for p in pairs}
    axis = list(CATEGORIES) + sorted(seen - set(CATEGORIES))
    confusion = pd.DataFrame(0, index=pd.Index(axis, name="label"),
                             columns=pd.Index(axis, name="predicted"), dtype=int)
    for p in pairs:
        confusion.loc[p.label, p.predicted] += 1

    correct = int(sum(confusion.loc[c, c] for c in axis))
    accepted_correct = sum(p.accepted_hit for p in pairs)
    per_category: dict[str, dict[str, Any]] = {}
    for c in axis:
        hits = int(confusion.loc[c, c])
        predicted = int(confusion[c].sum())
        support = int(confusion.loc[c].sum())
        accepted_hits = sum(p.accepted_hit for p in pairs if p.label == c)
        per_category[c] = {
            "predicted": predicted,
            "support": support,
            "correct": hits,
            "precision": _ratio(hits, predicted),
            "recall": _ratio(hits, support),
            "accepted_recall": _ratio(accepted_hits, support),
        }
    alternatives: dict[tuple[str, str], int] = {}
    for p in pairs:
        if p.accepted_hit and not p.strict:
            alternatives[(p.label, p.predicted)] = alternatives.get((p.label, p.predicted), 0) + 1
    calibration = []
    for low, high in SCORE_BANDS:
        band = f"{low}-{high}"
        members = [p for p in pairs if _band(p.score) == band]
        ok = sum(p.strict for p in members)
        calibration.append({
            "band": band, "n": len(members), "correct": ok, "accuracy": _ratio(ok, len(members)),
            "accepted_correct": sum(p.accepted_hit for p in members),
        })
    accuracy = correct / n if n else 0.0
    return EvaluationReport(
        n=n,
        correct=correct,
        accuracy=accuracy,
        accepted_correct=accepted_correct,
        accepted_accuracy=accepted_correct / n if n else 0.0,
        per_category=per_category,
        confusion=confusion,
        accepted_alternatives=[
            {"label": label, "predicted": predicted, "n": k}
            for (label, predicted), k in sorted(alternatives.items(),
                                                key=lambda kv: (-kv[1], kv[0]))
        ],
        safe_to_retry_false_positives=[p.row() for p in pairs
                                       if p.safe_to_retry_false_positive],
        calibration=calibration,
        gate_threshold=gate,
        gate_passed=n > 0 and accuracy >= gate,
        mistakes=[p.row() for p in pairs if not p.strict],
        pairs=pairs,
    )


def evaluate(
    predictions: Iterable[Any],
    labels: Sequence[str],
    acceptable: Sequence[Sequence[str] | None] | None = None,
    ids: Sequence[Any] | None = None,
    gate: float = ROLLOUT_GATE,
) -> EvaluationReport:
    """Score ``predictions`` against ``labels`` (:func:`make_pairs`, then :func:`score`)."""
    return score(make_pairs(predictions, labels, acceptable, ids), gate=gate)


def evaluate_records(
    records: Sequence[Mapping[str, Any]], gate: float = ROLLOUT_GATE
) -> EvaluationReport:
    """Classify labelled delivery records with the rules and evaluate: each record is a
    delivery dict plus ``label`` and an optional ``acceptable`` list."""
    from intel.triage.engine import classify_delivery

    return evaluate(
        [classify_delivery(r) for r in records],
        [r.get("label") for r in records],
        acceptable=[r.get("acceptable") for r in records],
        ids=[r.get("id", i) for i, r in enumerate(records)],
        gate=gate,
    )
