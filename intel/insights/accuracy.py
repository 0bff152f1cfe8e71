"""Triage accuracy against operator labels: the Insights gauge.

The same figures as the Accuracy page, ``GET /triage/accuracy`` and ``python -m intel
triage evaluate`` (``intel.labels.accuracy``, scored by ``intel.triage.evaluate``): every
label given up to ``now`` against what the rules answer today for its delivery.

``accuracy`` is the *strict* accuracy (the prediction is the label; the gauge's target is
the rollout gate, 85 %, judged on it); ``accepted_accuracy`` also counts the acceptable
alternatives a label lists. ``by_label`` gives, per label category, the strict share
(the category's recall) and the accepted share. ``sample_note`` says whether the figure
is in-sample (labels the rules were written against). With a tenant ``scope`` only the
labels of that identity's tenants' deliveries count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from intel.auth.scope import ALL, TenantScope
from intel.labels.accuracy import accuracy_report
from intel.triage.evaluate import ROLLOUT_GATE

#: The gauge's target (its green zone): the rollout gate, on strict accuracy.
ACCURACY_TARGET = ROLLOUT_GATE


def triage_accuracy(engine: Engine, now: datetime, *, scope: TenantScope = ALL) -> dict:
    with engine.connect() as conn:
        return accuracy_report(conn, as_of=now, scope=scope).headline()
