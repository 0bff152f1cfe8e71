"""Triage accuracy against operator labels.

Every label given before ``now`` is compared with what triage answers today for its
delivery (labels are the truth; triage is computed on demand). Deliveries are grouped in
SQL by label and failure shape (``intel.insights.shapes``), each shape classified once.

``accuracy`` = labelled deliveries whose triage category equals the label / labelled
deliveries; ``by_label`` gives the same per label category.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from intel.insights._sql import ratio
from intel.insights.shapes import classify_shapes, headers_sample, shape_columns
from intel.store.schema import deliveries, labels
from intel.triage import CATEGORIES

#: The seed's target for triage accuracy (and the gauge's green zone).
ACCURACY_TARGET = 0.85


def triage_accuracy(engine: Engine, now: datetime) -> dict:
    label = labels.c.category.label("label")
    shape = shape_columns()  # the same expressions (and bind parameters) in both clauses
    stmt = (
        select(label, *shape, headers_sample(), func.count().label("n"))
        .select_from(labels.join(deliveries, deliveries.c.id == labels.c.delivery_id))
        .where(labels.c.labeled_at < now)
        .group_by(label, *shape)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return {"labelled": 0, "correct": 0, "accuracy": None, "target": ACCURACY_TARGET,
                "by_label": []}
    frame = classify_shapes(frame)
    frame["correct"] = (frame["category"] == frame["label"]) * frame["n"]
    per = frame.groupby("label")[["n", "correct"]].sum()
    order = sorted(per.index, key=lambda c: (CATEGORIES.index(c) if c in CATEGORIES else 99, c))
    labelled, correct = int(frame["n"].sum()), int(frame["correct"].sum())
    return {
        "labelled": labelled,
        "correct": correct,
        "accuracy": ratio(correct, labelled),
        "target": ACCURACY_TARGET,
        "by_label": [
            {
                "label": c,
                "labelled": int(per.loc[c, "n"]),
                "correct": int(per.loc[c, "correct"]),
                "accuracy": ratio(per.loc[c, "correct"], per.loc[c, "n"]),
            }
            for c in order
        ],
    }
