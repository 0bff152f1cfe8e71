"""Operator switches stored in ``app_flags`` (shared by every process, audited).

"Use model in triage" (``triage.model_enabled``) lives here rather than in a file next
to the model: the app, the API and the worker all read the same database, and the
switch and its audit event (``triage.model.enable`` / ``triage.model.disable``) commit
in one transaction. Until an operator sets it, the ``triage.model_enabled`` setting
(config.yaml, default false) is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from intel.audit import record
from intel.labels.store import check_labeler
from intel.store.schema.labels import app_flags
from intel.timeutil import ensure_utc

MODEL_ENABLED = "triage.model_enabled"

#: Where "Use model in triage" changes what the product says, as the code stands: only
#: the delivery history's rows and its detail panel classify through
#: ``intel.labels.modelstore.triage_frame`` (``ui/history.py: product_triage``); every
#: other place runs the rules alone. The Accuracy page shows this table as it is.
MODEL_SWITCH_APPLIES: tuple[tuple[str, bool], ...] = (
    ("Delivery history: each row's category, score and reason", True),
    ("Delivery detail: the triage panel", True),
    ("Delivery history: the category filter and its counts", False),
    ("Failure groups", False),
    ("Replay advisor: what it recommends replaying", False),
    ("REST API: a delivery's triage and the delivery lists", False),
    ("Insights and Explore: categories and the triage accuracy gauge", False),
    ("Accuracy page and triage evaluate: they score the rules", False),
    ("Labels queue: the prediction shown", False),
    ("Incidents: the category breakdown", False),
)


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    value: Any
    updated_by: str | None  # None: not set by anyone, the default applies
    updated_at: datetime | None


def get_flag(conn: Connection, name: str, default: Any = None) -> Flag:
    row = conn.execute(select(app_flags).where(app_flags.c.name == name)).first()
    if row is None:
        return Flag(name, default, None, None)
    return Flag(name, row.value, row.updated_by, row.updated_at)


def set_flag(conn: Connection, name: str, value: Any, *, actor: str, now: datetime) -> None:
    """Insert or update one flag (no audit: callers audit what the flag means)."""
    now = ensure_utc(now)
    found = conn.execute(select(app_flags.c.name).where(app_flags.c.name == name)).first()
    if found is None:
        conn.execute(app_flags.insert().values(name=name, value=value, updated_by=actor,
                                               updated_at=now))
    else:
        conn.execute(
            app_flags.update()
            .where(app_flags.c.name == name)
            .values(value=value, updated_by=actor, updated_at=now)
        )


def model_enabled(conn: Connection, *, default: bool = False) -> Flag:
    """Whether triage may use the trained model (``value`` is a bool)."""
    flag = get_flag(conn, MODEL_ENABLED, default)
    return Flag(flag.name, bool(flag.value), flag.updated_by, flag.updated_at)


def set_model_enabled(
    conn: Connection, enabled: bool, *, actor: str, now: datetime, note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Turn "Use model in triage" on or off; audited as triage.model.enable/disable
    (``details``, e.g. the figures the switch was made on, go into the audit entry).
    ``intel.labels.modelstore.switch_model`` is the checked way to call it."""
    actor = check_labeler(actor)
    set_flag(conn, MODEL_ENABLED, bool(enabled), actor=actor, now=now)
    record(
        conn,
        actor=actor,
        action="triage.model.enable" if enabled else "triage.model.disable",
        at=now,
        target_type="setting",
        target_id=MODEL_ENABLED,
        summary=("turned the triage model on" if enabled else "turned the triage model off"),
        details={"enabled": bool(enabled), "note": note, **(details or {})},
    )
