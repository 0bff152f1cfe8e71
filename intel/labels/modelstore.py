"""The optional triage model, trained on stored labels; its file; its use in triage.

Training (``train_model``) reads every labelled delivery and compares, on the same
stratified held-out folds of the same labels (``intel.triage.model.compare_cv``), the
rules, the model alone and the rules with the model (what "Use model in triage" turns
on); it then fits ``TriageModel`` on all of them and saves it at ``triage.model_path``
(joblib, with the model's own version and metadata inside) plus a metadata file next to
it, ``<stem>.meta.json``: who trained it and when, the labels it saw (and how many are
the starter set, on which the rules' figure is in-sample), the three reports, the
per-fold figures and the model file's SHA-256. Both files are written to a temporary
name and moved into place, so a reader never sees half a model. Training is audited
(``triage.model.train``). Too few labels: ``InsufficientLabels``, nothing written.

Switching: :func:`switch_model` turns the model on or off (audited,
``triage.model.enable`` / ``triage.model.disable``, with the figures). Turning it on
when it scores below the rules (strict accuracy or safe-to-retry false positives, on the
same held-out folds: :func:`switch_check`) needs ``confirmed=True``; without it
:class:`ConfirmationNeeded` carries the figures to show.

Use: triage applies the model only when the switch is on and a model file exists,
through ``intel.triage.model.combine``, whose guard never lets the model make a delivery
"safe to retry" (in particular not one the rules call permanent). Where the product
applies it: ``intel.labels.flags.MODEL_SWITCH_APPLIES``.
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
from intel.labels.accuracy import labelled_frame
from intel.labels.flags import MODEL_SWITCH_APPLIES, model_enabled, set_model_enabled
from intel.labels.store import STARTER, check_labeler
from intel.settings import REPO_ROOT
from intel.settings.triage import TriageSettings
from intel.timeutil import ensure_utc, to_rfc3339
from intel.triage import classify_frame
from intel.triage.evaluate import EvaluationReport
from intel.triage.model import (
    COMPARED,
    MIN_LABELS,
    Comparison,
    InsufficientLabels,
    TriageModel,
    combine,
    compare_cv,
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


@dataclass(frozen=True)
class TrainingOutcome:
    path: Path
    metadata: dict[str, Any]
    comparison: Comparison

    @property
    def model_cv(self) -> EvaluationReport:
        return self.comparison.reports["model"]

    @property
    def rules(self) -> EvaluationReport:
        return self.comparison.reports["rules"]

    @property
    def rules_with_model(self) -> EvaluationReport:
        return self.comparison.reports["rules_with_model"]


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
    """Train on every stored label (given up to ``now``), compare rules and model on the
    same held-out folds, save, audit.

    ``InsufficientLabels`` (nothing written) when there are too few labels to train
    and cross-validate.
    """
    actor = check_labeler(actor)
    now = ensure_utc(now)
    frame = labelled_frame(conn, as_of=now)
    if len(frame) < MIN_LABELS:
        raise InsufficientLabels(
            f"{len(frame)} labelled deliveries: the model needs at least {MIN_LABELS} "
            "to train (label more on the Labels page)"
        )
    records = frame.drop(columns=["extra"]).to_dict("records")
    labels = list(frame["label"])
    in_sample = [o == STARTER for o in frame["origin"]]
    try:
        comparison = compare_cv(records, labels, rule_results(frame),
                                acceptable=list(frame["acceptable"]), in_sample=in_sample,
                                n_splits=cv_splits)
    except ValueError as exc:  # InsufficientLabels, or classes too small for the folds
        raise InsufficientLabels(f"too few labels to cross-validate the model: {exc}") from exc
    reports = comparison.reports
    model = TriageModel().fit(records, labels)
    model.cv_accuracy_ = reports["model"].accuracy

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
        "in_sample_labels": sum(in_sample),
        "cv_splits": cv_splits,
        "basis": "strict",
        "model_cv": reports["model"].summary(),
        "rules_same_labels": reports["rules"].summary(),
        "rules_with_model_cv": reports["rules_with_model"].summary(),
        "comparison": {"folds": comparison.folds(), "by_origin": comparison.by_origin()},
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
            f"trained on {len(labels)} labels; strict accuracy on the same {cv_splits} "
            f"held-out folds: model {reports['model'].accuracy:.1%}, rules with the model "
            f"{reports['rules_with_model'].accuracy:.1%}, rules "
            f"{reports['rules'].accuracy:.1%}"
            + (f" (in-sample on {sum(in_sample)} starter labels)" if any(in_sample) else "")
        ),
        details={"labels_used": len(labels), "in_sample_labels": sum(in_sample),
                 **{f"{name}_strict_accuracy": reports[name].accuracy for name in COMPARED},
                 "sha256": digest},
    )
    return TrainingOutcome(path, metadata, comparison)


def rule_results(frame: pd.DataFrame) -> list[TriageResult]:
    """The rules' answer for each row of ``frame`` (``classify_frame``)."""
    rules = classify_frame(frame)
    return [TriageResult(c, int(s), r, a, rule) for c, s, r, a, rule in
            rules[list(TRIAGE_COLUMNS)].itertuples(index=False, name=None)]


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


# --- the switch ----------------------------------------------------------------------------


class ModelSwitchError(ValueError):
    """The model cannot be switched as asked; the message says why."""


@dataclass(frozen=True)
class SwitchCheck:
    """The figures a switch-on is judged on: strict accuracy and safe-to-retry false
    positives of the rules, the rules with the model (what switching on does) and the
    model alone, on the same held-out folds of the same labels (as of training)."""

    labels: int
    in_sample: int  # of them, the starter set the rules were written against
    splits: int
    rules: float
    rules_with_model: float
    model: float
    rules_fps: int
    rules_with_model_fps: int

    @property
    def below(self) -> bool:
        """The model scores below the rules: alone or in triage, lower strict accuracy,
        or more safe-to-retry false positives."""
        return (self.rules_with_model < self.rules or self.model < self.rules
                or self.rules_with_model_fps > self.rules_fps)

    def figures(self) -> dict[str, Any]:
        return {"labels": self.labels, "in_sample_labels": self.in_sample,
                "splits": self.splits, "rules_strict_accuracy": self.rules,
                "rules_with_model_strict_accuracy": self.rules_with_model,
                "model_strict_accuracy": self.model,
                "rules_safe_to_retry_false_positives": self.rules_fps,
                "rules_with_model_safe_to_retry_false_positives": self.rules_with_model_fps}

    def message(self) -> str:
        text = (
            f"On the same {self.splits} held-out folds of {self.labels} labels, strict "
            f"accuracy: rules {self.rules:.1%}, rules with the model (what switching on "
            f"does) {self.rules_with_model:.1%}, model alone {self.model:.1%}; safe-to-retry "
            f"false positives: rules {self.rules_fps}, rules with the model "
            f"{self.rules_with_model_fps}."
        )
        if self.in_sample:
            text += (f" The rules' figure is in-sample on {self.in_sample} of the labels "
                     "(the starter set they were written against).")
        return text


def switch_check(info: dict[str, Any] | None) -> SwitchCheck | None:
    """The switch figures of a saved model's metadata; None for a model trained before
    rules and model were compared on the same folds (retrain it)."""
    if not info or "rules_with_model_cv" not in info:
        return None
    rules, mixed, model = (info["rules_same_labels"], info["rules_with_model_cv"],
                           info["model_cv"])
    return SwitchCheck(
        labels=int(info.get("labels_used") or rules.get("n") or 0),
        in_sample=int(info.get("in_sample_labels") or 0),
        splits=int(info.get("cv_splits") or 0),
        rules=float(rules["strict_accuracy"]),
        rules_with_model=float(mixed["strict_accuracy"]),
        model=float(model["strict_accuracy"]),
        rules_fps=int(rules["safe_to_retry_false_positives"]),
        rules_with_model_fps=int(mixed["safe_to_retry_false_positives"]),
    )


class ConfirmationNeeded(ModelSwitchError):
    """Switching on a model that scores below the rules (or was never compared with them)
    needs ``confirmed=True``; ``check`` holds the figures to show (None: no comparison)."""

    def __init__(self, check: SwitchCheck | None):
        self.check = check
        super().__init__(
            (check.message() + " The model scores below the rules: confirm to switch it on.")
            if check is not None else
            "This model was trained before rules and model were compared on the same "
            "held-out folds: retrain it to see the figures, or confirm to switch it on."
        )


def switch_model(
    conn: Connection,
    enabled: bool,
    *,
    actor: str,
    now: datetime,
    model_path: str | os.PathLike,
    confirmed: bool = False,
    note: str | None = None,
) -> SwitchCheck | None:
    """Turn "Use model in triage" on or off, audited with the figures it was judged on.

    On: ``ModelSwitchError`` when no model is saved; ``ConfirmationNeeded`` when it
    scores below the rules (:attr:`SwitchCheck.below`) or has no comparison, unless
    ``confirmed``. Off: always allowed."""
    info = model_info(model_path)
    check = switch_check(info)
    details: dict[str, Any] = check.figures() if check is not None else {}
    if enabled:
        if info is None:
            raise ModelSwitchError(
                f"no trained model at {resolve_model_path(model_path)}: train one first")
        needs = check is None or check.below
        if needs and not confirmed:
            raise ConfirmationNeeded(check)
        details["confirmed_below_rules"] = needs
    set_model_enabled(conn, enabled, actor=actor, now=now, note=note, details=details)
    return check


def model_status(conn: Connection, settings: TriageSettings) -> dict[str, Any]:
    """The model's state for the API and the page: the switch (who set it, when),
    whether triage uses it, the comparison figures, and where it applies."""
    flag = model_enabled(conn, default=settings.model_enabled)
    info = model_info(settings.model_path)
    check = switch_check(info)
    return {
        "enabled": bool(flag.value),
        "set_by": flag.updated_by,
        "set_at": to_rfc3339(flag.updated_at) if flag.updated_at else None,
        "in_use": model_in_use(conn, settings),
        "trained": info is not None,
        "trained_at": info.get("trained_at") if info else None,
        "labels_used": info.get("labels_used") if info else None,
        "comparison": check.figures() if check is not None else None,
        "below_rules": check.below if check is not None else None,
        "folds": (info.get("comparison") or {}).get("folds") if info else None,
        "by_origin": (info.get("comparison") or {}).get("by_origin") if info else None,
        "applies_to": [{"where": where, "uses_model": uses}
                       for where, uses in MODEL_SWITCH_APPLIES],
    }
