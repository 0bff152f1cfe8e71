"""Triage accuracy over the stored labels: the figures every surface shows.

The Accuracy page, the Insights gauge (``intel.insights.accuracy``), the API
(:func:`accuracy_body`, ``GET /triage/accuracy``) and the model comparison all read the
labelled deliveries here (:func:`labelled_frame`), classify them with the rules
(``intel.triage.classify_frame``, the same answers as ``classify_delivery``) and score
them with the one definition, ``intel.triage.evaluate.score``: strict accuracy (the
gate's), accepted accuracy (named so), precision / recall read off the confusion matrix,
the "safe to retry" false positives. ``python -m intel triage evaluate`` scores a label
file with the same function, so the starter set reads the same everywhere.

Accepted alternatives: a delivery imported from the dev-set format keeps that record's
``acceptable`` list (stored in the delivery's ``extra``) as long as its label is still
the record's best answer (the list's first entry).

Origin: each label says where it came from (``labels.origin``); the starter set is what
the rules were written against, so their figures on it are in-sample, and
:meth:`StoredAccuracy.sample_note` says so in one sentence.

The number of labels is small (hundreds to a few thousand), so the labelled rows are
read (bodies cut to the ``MAX_SCAN`` characters triage reads) and scored in Python.
With a tenant ``scope`` (CONTRACTS §6) only the labels of that identity's tenants'
deliveries are read and scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from intel.auth.scope import ALL, TenantScope
from intel.labels.store import STARTER, labels_in_scope
from intel.redact import redact_text, redact_url
from intel.store.schema import deliveries
from intel.store.schema.labels import labels
from intel.timeutil import ensure_utc, to_rfc3339
from intel.triage import CATEGORIES, classify_frame
from intel.triage.evaluate import (
    GATE_BASIS,
    ROLLOUT_GATE,
    EvaluationReport,
    Pair,
    make_pairs,
    score,
)
from intel.triage.signature import MAX_SCAN

BODY_CHARS = MAX_SCAN  # what triage reads of a body: the same answer as the whole body
FRAME_COLUMNS = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_body", "response_headers", "last_attempt_at", "extra",
    "label", "note", "labeler", "labeled_at", "origin",
)


def labelled_frame(
    conn: Connection, *, since: datetime | None = None, until: datetime | None = None,
    as_of: datetime | None = None, scope: TenantScope = ALL,
) -> pd.DataFrame:
    """Every labelled delivery within ``scope`` (optionally labelled in [since, until),
    and at or before ``as_of``), in id order, with its ``acceptable`` categories."""
    stmt = (
        select(
            deliveries.c.id,
            deliveries.c.tenant,
            deliveries.c.endpoint,
            deliveries.c.event_type,
            deliveries.c.status,
            deliveries.c.http_status,
            deliveries.c.error,
            func.substr(deliveries.c.response_body, 1, BODY_CHARS).label("response_body"),
            deliveries.c.response_headers,
            deliveries.c.last_attempt_at,
            deliveries.c.extra,
            labels.c.category.label("label"),
            labels.c.note,
            labels.c.labeler,
            labels.c.labeled_at,
            labels.c.origin,
        )
        # from the few labels to their deliveries (in labels' key order), never a walk
        # over every delivery looking for labelled ones
        .select_from(labels.join(deliveries, deliveries.c.id == labels.c.delivery_id))
        .where(*labels_in_scope(scope))
        .order_by(labels.c.delivery_id)
    )
    if since is not None:
        stmt = stmt.where(labels.c.labeled_at >= ensure_utc(since))
    if until is not None:
        stmt = stmt.where(labels.c.labeled_at < ensure_utc(until))
    if as_of is not None:
        stmt = stmt.where(labels.c.labeled_at <= ensure_utc(as_of))
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(FRAME_COLUMNS))
    frame["acceptable"] = [_acceptable(label, extra)
                           for label, extra in zip(frame["label"], frame["extra"], strict=True)]
    return frame


def _acceptable(label: str, extra: Any) -> list[str]:
    """The accepted categories of one label (see the module docstring)."""
    if isinstance(extra, dict):
        listed = extra.get("acceptable")
        if (isinstance(listed, list) and listed and listed[0] == label
                and all(isinstance(c, str) for c in listed)):
            return list(listed)
    return [label]


def week_start(at: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding ``at``."""
    at = ensure_utc(at)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def origin_name(origin: str) -> str:
    """How an origin reads on screen."""
    if origin == STARTER:
        return "starter set (the rules were written against it)"
    if origin == "operator":
        return "operators"
    return f"imported file {origin}"


@dataclass
class StoredAccuracy:
    """The accuracy report over stored labels, with the rows behind its lists.
    ``origins`` is aligned with ``report.pairs``."""

    report: EvaluationReport
    origins: list[str] = field(default_factory=list)
    by_week: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.report.n

    @property
    def in_sample(self) -> int:
        """Labels the rules were written against (the starter set)."""
        return sum(o == STARTER for o in self.origins)

    def calibration_top(self) -> dict[str, Any] | None:
        """The 90-100 band: of the deliveries scored 90-100, the share whose label agrees."""
        return next((b for b in self.report.calibration if b["band"] == "90-100"), None)

    def _part(self, keep) -> EvaluationReport:
        return score([p for p, o in zip(self.report.pairs, self.origins, strict=True)
                      if keep(o)], gate=self.report.gate_threshold)

    def held_out(self) -> EvaluationReport:
        """The rules on the labels they were not written against (every origin but the
        starter set): their out-of-sample figures."""
        return self._part(lambda o: o != STARTER)

    def by_origin(self) -> list[dict[str, Any]]:
        """Per origin (starter first, then operators, then files by name): labels and the
        rules' strict and accepted accuracy on them."""
        order = sorted(set(self.origins),
                       key=lambda o: (o != STARTER, o != "operator", o))
        out = []
        for origin in order:
            part = self._part(lambda o, origin=origin: o == origin)
            out.append({
                "origin": origin,
                "in_sample": origin == STARTER,
                "n": part.n,
                "strict_accuracy": part.accuracy,
                "accepted_accuracy": part.accepted_accuracy,
                "safe_to_retry_false_positives": part.false_positive_count,
            })
        return out

    def sample_note(self) -> str:
        """One plain sentence on whether the rules' figures are in-sample."""
        n, k = self.n, self.in_sample
        if n == 0:
            return ""
        if k == 0:
            return (f"None of these {n} labels is from the starter set the rules were "
                    "written against: the rules' figures are out-of-sample.")
        if k == n:
            return (f"In-sample: all {n} labels are the starter set the rules were written "
                    "against, so the rules' figures here overstate how they do on new "
                    "failures. No label from an operator or an imported file yet: label "
                    "deliveries on the Labels page for an out-of-sample figure.")
        rest = self.held_out()
        return (f"Partly in-sample: {k} of {n} labels are the starter set the rules were "
                f"written against. On the other {n - k} (operators, imported files), new "
                f"to the rules: strict accuracy {_pct(rest.accuracy)}, accepted accuracy "
                f"{_pct(rest.accepted_accuracy)}.")

    def short_sample_note(self) -> str:
        """The in-sample warning in a few words (the Insights gauge); "" when none."""
        n, k = self.n, self.in_sample
        if k == 0:
            return ""
        against = "the starter set the rules were written against."
        if k == n:
            return f"In-sample: all {n} labels are {against}"
        return f"Partly in-sample: {k} of {n} labels are {against}"

    def headline(self) -> dict[str, Any]:
        """The gauge's figures (``intel.insights.accuracy``): strict first."""
        report = self.report
        return {
            "labelled": report.n,
            "correct": report.correct,
            "accuracy": report.accuracy if report.n else None,
            "strict_accuracy": report.accuracy if report.n else None,
            "accepted_correct": report.accepted_correct,
            "accepted_accuracy": report.accepted_accuracy if report.n else None,
            "basis": GATE_BASIS,
            "target": report.gate_threshold,
            "gate_passed": report.gate_passed,
            "in_sample_labels": self.in_sample,
            "sample_note": self.short_sample_note(),
            "by_label": [
                {"label": c, "labelled": v["support"], "correct": v["correct"],
                 "accuracy": v["recall"], "accepted_accuracy": v["accepted_recall"]}
                for c, v in report.per_category.items() if v["support"]
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of ``GET /triage/accuracy`` (without ``as_of`` and ``model``)."""
        return {
            **self.report.to_dict(),
            "by_week": [{**w, "week": to_rfc3339(w["week"])} for w in self.by_week],
            "false_positive_rows": self.false_positives,
            "by_origin": self.by_origin(),
            "in_sample_labels": self.in_sample,
            "sample_note": self.sample_note(),
        }


def _value(value: Any) -> Any:
    """A frame cell as a plain value: pandas' missing markers (NaN, NA, NaT) -> None."""
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # a list or dict cell
        return value


def _row_view(frame: pd.DataFrame, i: int, triage: pd.DataFrame, pair: Pair) -> dict[str, Any]:
    """One labelled delivery with the evidence, credentials in URLs redacted."""
    row = {k: _value(v) for k, v in frame.iloc[i].items()}
    t = triage.iloc[i]
    status = row["http_status"]
    return {
        "id": row["id"],
        "label": row["label"],
        "predicted": t["category"],
        "score": int(t["score"]),
        "accepted_alternative": pair.accepted_hit and not pair.strict,
        "acceptable": list(pair.accepted),
        "rule": t["rule"],
        "reason": redact_text(t["reason"]),
        "endpoint": redact_url(row["endpoint"]),
        "http_status": None if status is None else int(status),
        "error": redact_text(row["error"]),
        "body": redact_text((row["response_body"] or "")[:300] or None),
        "labeler": row["labeler"],
        "labeled_at": to_rfc3339(row["labeled_at"]),
        "origin": row["origin"],
    }


def accuracy_report(
    conn: Connection,
    *,
    gate: float = ROLLOUT_GATE,
    since: datetime | None = None,
    until: datetime | None = None,
    as_of: datetime | None = None,
    scope: TenantScope = ALL,
) -> StoredAccuracy:
    """The rules' accuracy over the stored labels within ``scope`` (all, or labelled in
    [since, until), at or before ``as_of``)."""
    frame = labelled_frame(conn, since=since, until=until, as_of=as_of, scope=scope)
    return accuracy_of_frame(frame, gate=gate)


def frame_pairs(frame: pd.DataFrame, triage: pd.DataFrame) -> list[Pair]:
    """The pairs of a labelled frame and its triage (row by row)."""
    return make_pairs(
        list(zip(triage["category"], triage["score"].astype(int), strict=True)),
        list(frame["label"]),
        acceptable=list(frame["acceptable"]),
        ids=list(frame["id"]),
    )


def accuracy_of_frame(frame: pd.DataFrame, *, gate: float = ROLLOUT_GATE,
                      triage: pd.DataFrame | None = None) -> StoredAccuracy:
    """Score ``triage`` (default: the rules on ``frame``) against the frame's labels."""
    frame = frame.reset_index(drop=True)
    if triage is None:
        triage = classify_frame(frame)
    triage = triage.reset_index(drop=True)
    pairs = frame_pairs(frame, triage)
    report = score(pairs, gate=gate)
    origins = [str(o) for o in frame["origin"]] if "origin" in frame else ["operator"] * len(frame)
    false_positives = [_row_view(frame, i, triage, p) for i, p in enumerate(pairs)
                       if p.safe_to_retry_false_positive]
    mistakes = [_row_view(frame, i, triage, p) for i, p in enumerate(pairs) if not p.strict]

    by_week: list[dict[str, Any]] = []
    if len(frame):
        weeks: dict[datetime, list[Pair]] = {}
        for at, p in zip(frame["labeled_at"], pairs, strict=True):
            weeks.setdefault(week_start(at), []).append(p)
        for week in sorted(weeks):
            part = score(weeks[week], gate=gate)
            by_week.append({
                "week": week,
                "n": part.n,
                "correct": part.correct,
                "accuracy": part.accuracy,
                "accepted_accuracy": part.accepted_accuracy,
                "safe_to_retry_false_positives": part.false_positive_count,
            })
    return StoredAccuracy(report, origins, by_week, false_positives, mistakes)


def accuracy_body(
    engine: Engine,
    *,
    now: datetime,
    scope: TenantScope = ALL,
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of ``GET /triage/accuracy``: the rules' accuracy over the labels
    given up to ``now`` within ``scope`` — the same figures as the Accuracy page, the
    Insights gauge and ``python -m intel triage evaluate`` — plus ``model`` when given
    (``intel.labels.modelstore.model_status``, for unrestricted scopes only)."""
    now = ensure_utc(now)
    with engine.connect() as conn:
        result = accuracy_report(conn, as_of=now, scope=scope)
    return {"as_of": to_rfc3339(now), "categories": list(CATEGORIES), **result.to_dict(),
            "model": model if scope.unrestricted else None}
