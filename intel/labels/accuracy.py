"""Triage accuracy over the stored labels: ``labels`` joined with ``deliveries``.

The rules (``intel.triage.classify_frame``) classify every labelled delivery, and
``intel.triage.evaluate.evaluate`` scores them against the labels: accuracy, per-category
precision and recall, confusion matrix, "safe to retry" false positives (predicted
``transient-endpoint-down`` with a score above 80 for a delivery whose label is not
transient), calibration by score band, the rollout gate (>= 85 %). On top of that:
accuracy by week of labelling, and every false positive and mistake with the evidence.

A prediction is right when it equals the label. One exception keeps the starter set's
figures equal to ``python -m intel triage evaluate``: a delivery imported from the dev-set
format keeps that record's ``acceptable`` list (stored in the delivery's ``extra``) as
long as its label is still the record's best answer (the list's first entry).

The number of labels is small (hundreds to a few thousand), so the labelled rows are
read (bodies cut to the 4096 characters triage reads) and scored in Python.

With a tenant ``scope`` (CONTRACTS §6) only the labels of that identity's tenants'
deliveries are read and scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from intel.auth.scope import ALL, TenantScope
from intel.labels.store import labels_in_scope
from intel.store.schema import deliveries
from intel.store.schema.labels import labels
from intel.timeutil import ensure_utc, to_rfc3339
from intel.triage import classify_frame
from intel.triage.evaluate import ROLLOUT_GATE, EvaluationReport, evaluate
from intel.triage.result import TRANSIENT

BODY_CHARS = 4096
FRAME_COLUMNS = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_body", "response_headers", "last_attempt_at", "extra",
    "label", "note", "labeler", "labeled_at",
)


def labelled_frame(
    conn: Connection, *, since: datetime | None = None, until: datetime | None = None,
    scope: TenantScope = ALL,
) -> pd.DataFrame:
    """Every labelled delivery within ``scope`` (optionally labelled in [since, until)),
    in id order."""
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


@dataclass
class StoredAccuracy:
    """The accuracy report over stored labels, with the rows behind its lists."""

    report: EvaluationReport
    by_week: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.report.n

    def calibration_top(self) -> dict[str, Any] | None:
        """The 90-100 band: of the deliveries scored 90-100, the share whose label agrees."""
        return next((b for b in self.report.calibration if b["band"] == "90-100"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "by_week": self.by_week,
            "false_positive_rows": self.false_positives,
        }


def _value(value: Any) -> Any:
    """A frame cell as a plain value: pandas' missing markers (NaN, NA, NaT) -> None."""
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # a list or dict cell
        return value


def _row_view(frame: pd.DataFrame, i: int, triage: pd.DataFrame) -> dict[str, Any]:
    row = {k: _value(v) for k, v in frame.iloc[i].items()}
    t = triage.iloc[i]
    status = row["http_status"]
    return {
        "id": row["id"],
        "label": row["label"],
        "predicted": t["category"],
        "score": int(t["score"]),
        "rule": t["rule"],
        "reason": t["reason"],
        "endpoint": row["endpoint"],
        "http_status": None if status is None else int(status),
        "error": row["error"],
        "body": (row["response_body"] or "")[:300] or None,
        "labeler": row["labeler"],
        "labeled_at": to_rfc3339(row["labeled_at"]),
    }


def accuracy_report(
    conn: Connection,
    *,
    gate: float = ROLLOUT_GATE,
    since: datetime | None = None,
    until: datetime | None = None,
    scope: TenantScope = ALL,
) -> StoredAccuracy:
    """The rules' accuracy over the stored labels within ``scope`` (all, or labelled in
    [since, until))."""
    frame = labelled_frame(conn, since=since, until=until, scope=scope)
    return accuracy_of_frame(frame, gate=gate)


def accuracy_of_frame(frame: pd.DataFrame, *, gate: float = ROLLOUT_GATE,
                      triage: pd.DataFrame | None = None) -> StoredAccuracy:
    """Score ``triage`` (default: the rules on ``frame``) against the frame's labels."""
    if triage is None:
        triage = classify_frame(frame)
    triage = triage.reset_index(drop=True)
    frame = frame.reset_index(drop=True)
    report = evaluate(
        list(zip(triage["category"], triage["score"].astype(int), strict=True)),
        list(frame["label"]),
        acceptable=list(frame["acceptable"]),
        ids=list(frame["id"]),
        gate=gate,
    )
    position = {delivery_id: i for i, delivery_id in enumerate(frame["id"])}
    false_positives = [
        _row_view(frame, position[fp["id"]], triage) for fp in report.safe_to_retry_false_positives
    ]
    mistakes = [_row_view(frame, position[m["id"]], triage) for m in report.mistakes]

    by_week: list[dict[str, Any]] = []
    if len(frame):
        wrong = {m["id"] for m in report.mistakes}
        weeks = pd.DataFrame(
            {
                "week": [week_start(at) for at in frame["labeled_at"]],
                "right": [delivery_id not in wrong for delivery_id in frame["id"]],
                "safe_fp": [
                    c == TRANSIENT and s > 80 and TRANSIENT not in acc
                    for c, s, acc in zip(triage["category"], triage["score"],
                                         frame["acceptable"], strict=True)
                ],
            }
        )
        for week, part in weeks.groupby("week", sort=True):
            by_week.append(
                {
                    "week": week.to_pydatetime() if hasattr(week, "to_pydatetime") else week,
                    "n": len(part),
                    "correct": int(part["right"].sum()),
                    "accuracy": float(part["right"].mean()),
                    "safe_to_retry_false_positives": int(part["safe_fp"].sum()),
                }
            )
    return StoredAccuracy(report, by_week, false_positives, mistakes)
