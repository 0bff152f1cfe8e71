"""Optional learned triage model (scikit-learn), trained on operator labels.

The rules stay the authority; the model helps where they answer ``unknown`` or with a
low score. :func:`combine` is the only way the two meet, and it guarantees that the model
never turns a delivery into "safe to retry" (transient above 80) — in particular not one
the rules call ``permanent-4xx``.

Features: the exact status code and its class (``4xx``, ``5xx``, ``none``), whether the
code was read from the text, the rate-limit / Retry-After header flags, and TF-IDF char
n-grams (2-5) of the normalised error and body (the failure signature text, so hosts,
ids and numbers do not become features). Classifier: logistic regression.

Training refuses with :class:`InsufficientLabels` below :data:`MIN_LABELS` labelled
deliveries, or when fewer than two categories have :data:`MIN_PER_CLASS` examples;
categories with fewer examples are left out of training (recorded in
``dropped_classes_``), since one example cannot teach a class.

Evaluation: :func:`compare_cv` scores the rules, the model alone and the rules with the
model (:func:`combine`, what "Use model in triage" turns on) on the same stratified
held-out folds of the same labels, with the one definition of accuracy
(``intel.triage.evaluate``); the rules do not learn, so their pooled figure is their
figure on every label — in-sample on the labels they were written against, which the
comparison keeps apart (``in_sample``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intel.triage.result import (
    CATEGORIES,
    PERMANENT,
    RATE_LIMITED,
    SAFE_TO_RETRY_SCORE,
    TRANSIENT,
    UNKNOWN,
    TriageResult,
)
from intel.triage.signature import raw_key, signature_of

#: Format version of saved models; ``load`` refuses other versions.
MODEL_FORMAT_VERSION = 1
MIN_LABELS = 30
MIN_PER_CLASS = 2

#: The rules' answer stands when its score reaches this, whatever the model says.
RULE_TRUST_SCORE = 70
#: A model answer below this score is ignored.
MODEL_MIN_SCORE = 60
#: Highest score a model-made transient answer may get when the rules say permanent
#: or rate-limited.
OVERRIDE_CAP = 50

DEFAULT_ACTIONS = {
    TRANSIENT: "Probably transient (learned model): replay one delivery first and check it "
    "succeeds before replaying the rest.",
    PERMANENT: "Probably permanent (learned model): check the endpoint's answer with its "
    "owner before replaying.",
    RATE_LIMITED: "Probably rate-limited (learned model): wait before replaying and lower the "
    "delivery rate.",
    UNKNOWN: "Inspect the response body and error by hand before deciding to replay.",
}


class InsufficientLabels(ValueError):
    """Too few labelled deliveries to train (or evaluate) the model."""


@dataclass(frozen=True)
class ModelPrediction:
    category: str
    score: int


# --- features ---------------------------------------------------------------------------


def _records(deliveries: Any) -> list[dict[str, Any]]:
    if hasattr(deliveries, "to_dict"):
        return deliveries.to_dict("records")
    return [dict(d) if isinstance(d, dict) else {} for d in deliveries]


def delivery_features(deliveries: Any) -> tuple[list[dict[str, float]], list[str]]:
    """(categorical feature dicts, normalised text) per delivery."""
    tabular, texts = [], []
    for record in _records(deliveries):
        sig = signature_of(raw_key(record))
        status = sig.status
        feats: dict[str, float] = {
            f"status={status if status is not None else 'none'}": 1.0,
            f"class={'none' if status is None else f'{status // 100}xx'}": 1.0,
        }
        if sig.status_inferred:
            feats["status_inferred"] = 1.0
        for name, value in sig.headers:
            feats[f"header={name}"] = 1.0
            if value == "0":
                feats[f"header={name}=0"] = 1.0
        if sig.delivered:
            feats["delivered"] = 1.0
        tabular.append(feats)
        texts.append(f"{sig.error} | {sig.body}"[:2000])
    return tabular, texts


# --- the model --------------------------------------------------------------------------


class TriageModel:
    """Estimator-shaped triage classifier: ``fit`` / ``predict`` / ``predict_scores``.

    Learned state lives in attributes ending in ``_`` (``classes_``, ``vectorizer_``,
    ``text_vectorizer_``, ``classifier_``, ``n_labels_``, ``label_counts_``,
    ``dropped_classes_``, ``trained_at_``, ``sklearn_version_``, ``cv_accuracy_``).
    """

    def __init__(
        self,
        C: float = 4.0,
        ngram_range: tuple[int, int] = (2, 5),
        max_features: int = 30000,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.random_state = random_state

    # sklearn-style parameter access (so clones and grid searches work)
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "C": self.C,
            "ngram_range": self.ngram_range,
            "max_features": self.max_features,
            "random_state": self.random_state,
        }

    def set_params(self, **params: Any) -> TriageModel:
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _matrix(self, deliveries: Any, fit: bool) -> Any:
        from scipy.sparse import hstack

        tabular, texts = delivery_features(deliveries)
        if fit:
            from sklearn.feature_extraction import DictVectorizer
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.vectorizer_ = DictVectorizer()
            self.text_vectorizer_ = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.ngram_range),
                max_features=self.max_features,
                sublinear_tf=True,
                lowercase=False,
            )
            return hstack(
                [
                    self.vectorizer_.fit_transform(tabular),
                    self.text_vectorizer_.fit_transform(texts),
                ]
            ).tocsr()
        return hstack(
            [self.vectorizer_.transform(tabular), self.text_vectorizer_.transform(texts)]
        ).tocsr()

    def fit(self, deliveries_df: Any, labels: Sequence[str], cv_splits: int = 0) -> TriageModel:
        """Train on deliveries (DataFrame or dicts, import format) and their labels.

        With ``cv_splits`` ≥ 2, first runs :func:`evaluate_cv` and keeps its accuracy in
        ``cv_accuracy_`` (and the report in ``cv_report_``)."""
        import sklearn
        from sklearn.linear_model import LogisticRegression

        records = _records(deliveries_df)
        labels = [str(label) for label in labels]
        keep = _check_labels(records, labels)
        self.cv_accuracy_: float | None = None
        self.cv_report_ = None
        if cv_splits and cv_splits >= 2:
            report = evaluate_cv(records, labels, n_splits=cv_splits, params=self.get_params())
            self.cv_accuracy_ = report.accuracy
            self.cv_report_ = report
        counts = Counter(labels)
        self.dropped_classes_ = sorted(c for c, k in counts.items() if k < MIN_PER_CLASS)
        records = [records[i] for i in keep]
        labels = [labels[i] for i in keep]
        X = self._matrix(records, fit=True)
        self.classifier_ = LogisticRegression(
            C=self.C, max_iter=5000, class_weight="balanced", random_state=self.random_state
        )
        # Small sparse problem: one thread. On 2 cores OpenMP and OpenBLAS threads fight
        # and lbfgs gets 20x slower.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            self.classifier_.fit(X, labels)
        self.classes_ = [str(c) for c in self.classifier_.classes_]
        self.n_labels_ = len(labels)
        self.label_counts_ = dict(Counter(labels))
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        self.sklearn_version_ = sklearn.__version__
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise RuntimeError("TriageModel is not fitted: call fit() or load() first")

    def predict_proba(self, deliveries: Any) -> Any:
        """Class probabilities, one row per delivery, columns ``classes_``."""
        self._check_fitted()
        from threadpoolctl import threadpool_limits

        X = self._matrix(deliveries, fit=False)
        with threadpool_limits(limits=1):
            return self.classifier_.predict_proba(X)

    def predict(self, deliveries: Any) -> list[str]:
        proba = self.predict_proba(deliveries)
        return [self.classes_[i] for i in proba.argmax(axis=1)]

    def predict_scores(self, deliveries: Any) -> list[ModelPrediction]:
        """(category, score 0..100 = probability of that category) per delivery."""
        proba = self.predict_proba(deliveries)
        best = proba.argmax(axis=1)
        return [
            ModelPrediction(self.classes_[j], round(float(proba[i, j]) * 100))
            for i, j in enumerate(best)
        ]

    # --- persistence -------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format_version": MODEL_FORMAT_VERSION,
            "n_labels": self.n_labels_,
            "label_counts": self.label_counts_,
            "classes": list(self.classes_),
            "dropped_classes": list(self.dropped_classes_),
            "trained_at": self.trained_at_,
            "sklearn_version": self.sklearn_version_,
            "cv_accuracy": self.cv_accuracy_,
            "params": self.get_params(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted model and its metadata with joblib."""
        import joblib

        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "metadata": self.metadata(),
            "vectorizer": self.vectorizer_,
            "text_vectorizer": self.text_vectorizer_,
            "classifier": self.classifier_,
        }
        joblib.dump(state, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TriageModel:
        """Read a model written by :meth:`save` (same format version only; a different
        scikit-learn version is warned about, as scikit-learn itself does)."""
        import joblib
        import sklearn

        state = joblib.load(Path(path))
        meta = state.get("metadata", {}) if isinstance(state, dict) else {}
        if meta.get("format_version") != MODEL_FORMAT_VERSION:
            raise ValueError(
                f"{path}: not a triage model of format {MODEL_FORMAT_VERSION} "
                f"(found {meta.get('format_version')!r})"
            )
        if meta.get("sklearn_version") != sklearn.__version__:
            warnings.warn(
                f"{path} was trained with scikit-learn {meta.get('sklearn_version')}, "
                f"this is {sklearn.__version__}; retrain if predictions look off",
                stacklevel=2,
            )
        model = cls(**meta.get("params", {}))
        model.vectorizer_ = state["vectorizer"]
        model.text_vectorizer_ = state["text_vectorizer"]
        model.classifier_ = state["classifier"]
        model.classes_ = list(meta["classes"])
        model.n_labels_ = meta["n_labels"]
        model.label_counts_ = meta.get("label_counts", {})
        model.dropped_classes_ = meta.get("dropped_classes", [])
        model.trained_at_ = meta["trained_at"]
        model.sklearn_version_ = meta["sklearn_version"]
        model.cv_accuracy_ = meta.get("cv_accuracy")
        model.cv_report_ = None
        return model


def _check_labels(records: Sequence[Any], labels: Sequence[str]) -> list[int]:
    """Indices of the records to train on; raises InsufficientLabels."""
    if len(records) != len(labels):
        raise ValueError(f"{len(records)} deliveries for {len(labels)} labels")
    if len(labels) < MIN_LABELS:
        raise InsufficientLabels(
            f"need at least {MIN_LABELS} labelled deliveries to train, got {len(labels)}"
        )
    unknown_labels = sorted(set(labels) - set(CATEGORIES))
    if unknown_labels:
        raise ValueError(f"labels must be one of {list(CATEGORIES)}, got {unknown_labels}")
    counts = Counter(labels)
    usable = [c for c, k in counts.items() if k >= MIN_PER_CLASS]
    if len(usable) < 2:
        raise InsufficientLabels(
            f"need at least 2 categories with {MIN_PER_CLASS}+ labelled deliveries each, "
            f"got {dict(counts)}"
        )
    return [i for i, label in enumerate(labels) if counts[label] >= MIN_PER_CLASS]


def cv_predictions(
    deliveries_df: Any,
    labels: Sequence[str],
    n_splits: int = 5,
    params: dict[str, Any] | None = None,
    random_state: int = 0,
) -> tuple[list[ModelPrediction], list[int]]:
    """Out-of-fold predictions of :class:`TriageModel` under stratified k-fold
    cross-validation, and the fold (0..n_splits-1) each delivery was held out in.

    The folds depend only on the labels, ``n_splits`` and ``random_state``: the rules
    and the model are scored on the same held-out folds (:func:`compare_cv`)."""
    from sklearn.model_selection import StratifiedKFold

    records = _records(deliveries_df)
    labels = [str(label) for label in labels]
    _check_labels(records, labels)
    predictions: list[ModelPrediction] = [ModelPrediction(UNKNOWN, 0)] * len(records)
    fold_of = [0] * len(records)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes smaller than n_splits
        splits = list(folds.split(records, labels))
    for number, (train, test) in enumerate(splits):
        model = TriageModel(**(params or {}))
        train_records = [records[i] for i in train]
        train_labels = [labels[i] for i in train]
        try:
            _check_labels(train_records, train_labels)
        except InsufficientLabels as exc:
            raise InsufficientLabels(f"a fold is too small to train on: {exc}") from exc
        model.fit(train_records, train_labels)
        for i, pred in zip(test, model.predict_scores([records[i] for i in test]), strict=True):
            predictions[i] = pred
            fold_of[i] = number
    return predictions, fold_of


def evaluate_cv(
    deliveries_df: Any,
    labels: Sequence[str],
    n_splits: int = 5,
    acceptable: Sequence[Sequence[str] | None] | None = None,
    params: dict[str, Any] | None = None,
    random_state: int = 0,
) -> Any:
    """Stratified k-fold cross-validation of :class:`TriageModel`; returns the
    :class:`~intel.triage.evaluate.EvaluationReport` of the out-of-fold predictions, the
    same report as the rules get, so the two can be shown side by side.

    ``acceptable`` defaults to the ``acceptable`` column of the deliveries when present."""
    from intel.triage.evaluate import evaluate

    records = _records(deliveries_df)
    if acceptable is None:
        acceptable = [r.get("acceptable") for r in records]
    predictions, _ = cv_predictions(records, labels, n_splits, params, random_state)
    return evaluate(
        [(p.category, p.score) for p in predictions],
        labels,
        acceptable=acceptable,
        ids=[r.get("id", i) for i, r in enumerate(records)],
    )


#: The three triages a comparison scores, in the order they are shown.
COMPARED = ("rules", "model", "rules_with_model")
COMPARED_NAMES = {
    "rules": "rules",
    "model": "model alone",
    "rules_with_model": "rules with the model (what the switch turns on)",
}


@dataclass
class Comparison:
    """The rules, the model alone and the rules with the model (:func:`combine`, what
    "Use model in triage" turns on), scored on the same held-out folds of the same
    labels. ``reports`` are pooled over the folds (each label scored once, by a model
    that did not see it); ``folds`` has one row per fold; ``in_sample`` marks the labels
    the rules were written against (their figure there is in-sample)."""

    splits: int
    reports: dict[str, Any]  # name in COMPARED -> EvaluationReport
    fold_of: list[int]
    in_sample: list[bool]

    def _subset(self, keep: Sequence[bool]) -> dict[str, Any]:
        from intel.triage.evaluate import score

        out: dict[str, Any] = {"n": sum(keep)}
        for name in COMPARED:
            pairs = [p for p, k in zip(self.reports[name].pairs, keep, strict=True) if k]
            report = score(pairs)
            out[name] = {"strict_accuracy": report.accuracy if pairs else None,
                         "accepted_accuracy": report.accepted_accuracy if pairs else None,
                         "safe_to_retry_false_positives": report.false_positive_count}
        return out

    def folds(self) -> list[dict[str, Any]]:
        return [
            {"fold": k + 1, **self._subset([f == k for f in self.fold_of])}
            for k in range(self.splits)
        ]

    def by_origin(self) -> dict[str, dict[str, Any]]:
        """``in_sample``: the labels the rules were written against (the starter set);
        ``held_out``: every other label, new to the rules as to the model."""
        return {
            "in_sample": self._subset(self.in_sample),
            "held_out": self._subset([not s for s in self.in_sample]),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "splits": self.splits,
            "basis": "strict",
            "n": self.reports["rules"].n,
            **{name: self.reports[name].summary() for name in COMPARED},
            "folds": self.folds(),
            "by_origin": self.by_origin(),
        }


def compare_cv(
    deliveries_df: Any,
    labels: Sequence[str],
    rules: Sequence[TriageResult],
    *,
    acceptable: Sequence[Sequence[str] | None] | None = None,
    in_sample: Sequence[bool] | None = None,
    n_splits: int = 5,
    params: dict[str, Any] | None = None,
    random_state: int = 0,
) -> Comparison:
    """Score the rules' answers (``rules``, one per delivery), the model's out-of-fold
    answers and the two combined on the same stratified folds of the same labels."""
    from intel.triage.evaluate import make_pairs, score

    records = _records(deliveries_df)
    if len(rules) != len(records):
        raise ValueError(f"{len(rules)} rule results for {len(records)} deliveries")
    if acceptable is None:
        acceptable = [r.get("acceptable") for r in records]
    predictions, fold_of = cv_predictions(records, labels, n_splits, params, random_state)
    ids = [r.get("id", i) for i, r in enumerate(records)]
    answers = {
        "rules": list(rules),
        "model": [(p.category, p.score) for p in predictions],
        "rules_with_model": [combine(r, p) for r, p in zip(rules, predictions, strict=True)],
    }
    reports = {name: score(make_pairs(answers[name], labels, acceptable, ids))
               for name in COMPARED}
    marks = [bool(s) for s in in_sample] if in_sample is not None else [False] * len(records)
    return Comparison(n_splits, reports, fold_of, marks)


def combine(rule_result: TriageResult, model_prediction: Any) -> TriageResult:
    """Merge the rules' answer with a model prediction (pure function).

    The rules' answer stands when the model has nothing (None), agrees, is unsure
    (< :data:`MODEL_MIN_SCORE`), or when the rules are confident (≥
    :data:`RULE_TRUST_SCORE`) or said "delivered". Otherwise the model's category wins
    with its score, under the guard: a transient answer from the model is capped at
    :data:`OVERRIDE_CAP` when the rules said permanent-4xx or rate-limited, and never
    exceeds 80 at all, so the model alone never makes a delivery "safe to retry".
    """
    if model_prediction is None:
        return rule_result
    if isinstance(model_prediction, ModelPrediction):
        category, score = model_prediction.category, model_prediction.score
    else:
        category, score = model_prediction
    try:
        score = max(0, min(100, int(score)))
    except (TypeError, ValueError):
        return rule_result
    if category not in CATEGORIES or category == rule_result.category:
        return rule_result
    if rule_result.rule == "delivered-not-a-failure" or rule_result.score >= RULE_TRUST_SCORE:
        return rule_result
    if score < MODEL_MIN_SCORE:
        return rule_result
    if category == TRANSIENT:
        if rule_result.category in (PERMANENT, RATE_LIMITED):
            score = min(score, OVERRIDE_CAP)
        score = min(score, SAFE_TO_RETRY_SCORE)
    if score <= rule_result.score:
        return rule_result
    return TriageResult(
        category=category,
        score=score,
        reason=(
            f"Learned model: {category} ({score}); the rules said {rule_result.category} "
            f"({rule_result.score}) — rule `{rule_result.rule}`"
        ),
        recommended_action=DEFAULT_ACTIONS[category],
        rule="model",
    )
