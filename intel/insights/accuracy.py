"""Triage accuracy against operator labels.

Every label given before ``now`` is compared with what triage answers today for its
delivery (labels are the truth; triage is computed on demand). Deliveries are grouped in
SQL by label and failure shape (``intel.insights.shapes``), each shape classified once.

``accuracy`` = labelled deliveries whose triage category equals the label / labelled
deliveries; ``by_label`` gives the same per label category. With a tenant ``scope``
only the labels of that identity's tenants' deliveries count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import ratio
from intel.insights.shapes import categories, headers_sample, shape_columns
from intel.labels.store import labels_in_scope
from intel.store.schema import deliveries, labels
from intel.triage import CATEGORIES

#: The seed's target for triage accuracy (and the gauge's green zone).
ACCURACY_TARGET = 0.85


def triage_accuracy(engine: Engine, now: datetime, *, scope: TenantScope = ALL) -> dict:
    label = labels.c.category.label("label")
    shape = shape_columns()  # the same expressions (and bind parameters) in both clauses
    stmt = (
        select(label, *shape, headers_sample(), func.count().label("n"))
        .select_from(labels.join(deliveries, deliveries.c.id == labels.c.delivery_id))
        .where(labels.c.labeled_at < now, *labels_in_scope(scope))
        .group_by(label, *shape)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    per: dict[str, list[int]] = {}
    for row, predicted in zip(rows, categories(rows, start=1), strict=True):
        counts = per.setdefault(row[0], [0, 0])
        counts[0] += int(row[-1])
        counts[1] += int(row[-1]) if predicted == row[0] else 0
    labelled = sum(n for n, _ in per.values())
    correct = sum(ok for _, ok in per.values())
    order = sorted(per, key=lambda c: (CATEGORIES.index(c) if c in CATEGORIES else 99, c))
    return {
        "labelled": labelled,
        "correct": correct,
        "accuracy": ratio(correct, labelled),
        "target": ACCURACY_TARGET,
        "by_label": [
            {"label": c, "labelled": per[c][0], "correct": per[c][1],
             "accuracy": ratio(per[c][1], per[c][0])}
            for c in order
        ],
    }
