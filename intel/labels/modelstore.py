"""The optional triage model, trained on stored labels; its file; its use in triage.

Training (``train_model``) reads every labelled delivery, runs the model's stratified
cross-validation (``intel.triage.model.evaluate_cv``) and the rules on the same labels,
fits ``TriageModel`` on all of them, and saves it at ``triage.model_path`` (joblib, with
the model's own version and metadata inside) plus a metadata file next to it,
``<stem>.meta.json``: who trained it and when, the labels it saw, the model's CV figures
and the rules' figures on the same labels (so the two can be compared side by side
without re-training), and the model file's SHA-256. Both files are written to a
temporary name and moved into place, so a reader never sees half a model. Training is
audited (``triage.model.train``). Too few labels: ``InsufficientLabels``, nothing written.

Use: triage applies the model only when an operator turned "Use model in triage" on
(``intel.labels.flags``) and a model file exists, through ``intel.triage.model.combine``,
whose guard never lets the model make a delivery "safe to retry" (in particular not one
the rules call permanent).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from intel.audit import record
from intel.labels.accuracy import accuracy_of_frame, labelled_frame
from intel.labels.flags import model_enabled
from intel.labels.store import check_labeler
from intel.settings import REPO_ROOT
from intel.settings.triage import TriageSettings
from intel.timeutil import ensure_utc, to_rfc3339
from intel.triage import classify_frame
from intel.triage.evaluate import EvaluationReport
from intel.triage.model import (
    MIN_LABELS,
    InsufficientLabels,
    TriageModel,
    combine,
    evaluate_cv,
)
from intel.triage.result import TriageResult

CV_SPLITS = 5
TRIAGE_COLUMNS = ("category", "score", "reason", "recommended_action", "rule")


def resolve_model_path(path: str | os.PathLike) -> Path:
    """``triage.model_path``: relative paths count from the repository root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def meta_path(model_path: str | os.PathLike) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".meta.json")


def _summary(report: EvaluationReport) -> dict[str, Any]:
    return {
        "n": report.n,
        "accuracy": report.accuracy,
        "per_category": report.per_category,
        "safe_to_retry_false_positives": report.false_positive_count,
        "calibration": report.calibration,
        "gate_passed": report.gate_passed,
    }


@dataclass(frozen=True)
class TrainingOutcome:
    path: Path
    metadata: dict[str, Any]
    model_cv: EvaluationReport
    rules: EvaluationReport


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_model(
    conn: Connection,
    *,
    model_path: str | os.PathLike,
    actor: str,
    now: datetime,
    cv_splits: int = CV_SPLITS,
) -> TrainingOutcome:
    """Train on every stored label, evaluate by stratified CV, save, audit.

    ``InsufficientLabels`` (nothing written) when there are too few labels to train
    and cross-validate.
    """
    actor = check_labeler(actor)
    now = ensure_utc(now)
    frame = labelled_frame(conn)
    if len(frame) < MIN_LABELS:
        raise InsufficientLabels(
            f"{len(frame)} labelled deliveries: the model needs at least {MIN_LABELS} "
            "to train (label more on the Labels page)"
        )
    records = frame.drop(columns=["extra"]).to_dict("records")
    labels = list(frame["label"])
    try:
        cv = evaluate_cv(records, labels, n_splits=cv_splits,
                         acceptable=list(frame["acceptable"]), unsafe=None)
    except ValueError as exc:  # InsufficientLabels, or classes too small for the folds
        raise InsufficientLabels(f"too few labels to cross-validate the model: {exc}") from exc
    rules = accuracy_of_frame(frame).report
    model = TriageModel().fit(records, labels)
    model.cv_accuracy_ = cv.accuracy

    path = resolve_model_path(model_path)
    tmp = path.with_name(path.name + ".tmp")
    model.save(tmp)
    digest = _sha256(tmp)
    metadata = {
        **model.metadata(),
        "model_file": path.name,
        "sha256": digest,
        "trained_by": actor,
        "trained_at": to_rfc3339(now),
        "labels_used": len(labels),
        "cv_splits": cv_splits,
        "model_cv": _summary(cv),
        "rules_same_labels": _summary(rules),
    }
    meta = meta_path(path)
    meta_tmp = meta.with_name(meta.name + ".tmp")
    meta_tmp.write_text(json.dumps(metadata, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    os.replace(meta_tmp, meta)
    record(
        conn,
        actor=actor,
        action="triage.model.train",
        at=now,
        target_type="model",
        target_id=str(path),
        summary=(
            f"trained on {len(labels)} labels: CV accuracy {cv.accuracy:.1%} "
            f"(rules {rules.accuracy:.1%} on the same labels)"
        ),
        details={"labels_used": len(labels), "cv_accuracy": cv.accuracy,
                 "rules_accuracy": rules.accuracy, "sha256": digest},
    )
    return TrainingOutcome(path, metadata, cv, rules)


def model_info(model_path: str | os.PathLike) -> dict[str, Any] | None:
    """The saved model's metadata (``<stem>.meta.json``), or None when there is no model."""
    path = resolve_model_path(model_path)
    meta = meta_path(path)
    if not path.exists() or not meta.exists():
        return None
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


_cache: dict[Path, tuple[float, TriageModel]] = {}
_lock = threading.Lock()


def load_model(model_path: str | os.PathLike) -> TriageModel | None:
    """The saved model (reloaded when the file changes), or None when there is none."""
    path = resolve_model_path(model_path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    model = TriageModel.load(path)
    with _lock:
        _cache[path] = (mtime, model)
    return model


def model_in_use(conn: Connection, settings: TriageSettings) -> bool:
    """True when an operator turned the model on (or the setting does) and it exists."""
    if not model_enabled(conn, default=settings.model_enabled).value:
        return False
    return resolve_model_path(settings.model_path).exists()


def combine_frame(frame: pd.DataFrame, rules: pd.DataFrame, model: TriageModel) -> pd.DataFrame:
    """The rules' triage of ``frame`` merged with the model's, row by row, through the
    engine's guard (``intel.triage.model.combine``); aligned to ``frame.index``."""
    if len(frame) == 0:
        return rules
    predictions = model.predict_scores(frame)
    merged = [
        combine(TriageResult(c, int(s), r, a, rule), p).to_dict()
        for (c, s, r, a, rule), p in zip(
            rules[list(TRIAGE_COLUMNS)].itertuples(index=False, name=None), predictions,
            strict=True,
        )
    ]
    return pd.DataFrame(merged, index=frame.index, columns=list(TRIAGE_COLUMNS))


def triage_frame(conn: Connection, frame: pd.DataFrame, settings: TriageSettings) -> pd.DataFrame:
    """Triage as the product applies it: the rules, merged with the model only when it
    is turned on and saved. Same columns as ``intel.triage.classify_frame``."""
    rules = classify_frame(frame)
    if not model_in_use(conn, settings):
        return rules
    model = load_model(settings.model_path)
    return rules if model is None else combine_frame(frame, rules, model)
