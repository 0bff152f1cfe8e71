"""The labels store: one operator label per delivery, every change audited.

A label is the category a careful operator gives a failed delivery (one of
``intel.triage.result.CATEGORIES``), with the labeler, when it was first labelled
(``labeled_at``), when it last changed (``updated_at``), an optional note, and its
``origin``: ``starter`` (the starter set the triage rules were written against),
``operator`` (given or last changed by an operator), or the name of the file it was
imported from (:func:`origin_of_import`). Each
function takes the connection of the caller's transaction and writes its audit event
(``label.create``, ``label.update``, ``label.delete``) in that same transaction, with
the labelled delivery's tenant.

Readers take ``scope`` (CONTRACTS §6): a tenant-scoped identity lists, counts and
exports only the labels of its tenants' deliveries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from intel.audit import record
from intel.auth.scope import ALL, TenantScope
from intel.store.schema import deliveries
from intel.store.schema.labels import labels
from intel.timeutil import ensure_utc, to_rfc3339
from intel.triage.result import CATEGORIES

NOTE_MAX = 2000
_UNSET = object()

#: Origins of a label (besides an imported file's name).
STARTER = "starter"
OPERATOR = "operator"
#: The starter set: the file shipped in ``data/`` and the labeler name its import uses.
STARTER_FILE = "triage_labels_starter.jsonl"
STARTER_LABELER = "starter-set"
ORIGIN_MAX = 200


class LabelError(ValueError):
    """A label that cannot be stored; the message says what and which delivery."""


class LabelExists(LabelError):
    """The delivery already has a label (someone labelled it first)."""


class LabelNotFound(LabelError):
    """No label for that delivery."""


@dataclass(frozen=True, slots=True)
class Label:
    delivery_id: str
    category: str
    note: str | None
    labeler: str
    labeled_at: datetime
    updated_at: datetime
    origin: str = OPERATOR

    @property
    def in_sample(self) -> bool:
        """The rules were written against this label (the starter set)."""
        return self.origin == STARTER

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["labeled_at"] = to_rfc3339(self.labeled_at)
        out["updated_at"] = to_rfc3339(self.updated_at)
        return out


def check_category(category: object) -> str:
    """The category, or ``LabelError`` naming the four allowed ones."""
    if isinstance(category, str) and category.strip() in CATEGORIES:
        return category.strip()
    raise LabelError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")


def check_labeler(labeler: object) -> str:
    if not isinstance(labeler, str) or not labeler.strip():
        raise LabelError("a labeler (operator name) is required")
    labeler = labeler.strip()
    if len(labeler) > 200:
        raise LabelError("labeler name is longer than 200 characters")
    return labeler


def check_origin(origin: object) -> str:
    if not isinstance(origin, str) or not origin.strip():
        raise LabelError("a label's origin is required (starter, operator or a file name)")
    origin = origin.strip()
    if len(origin) > ORIGIN_MAX:
        raise LabelError(f"label origin is longer than {ORIGIN_MAX} characters")
    return origin


def origin_of_import(source: object, labeler: object = None) -> str:
    """The origin of a label read from a file named ``source``: ``starter`` for the
    starter set (its file name, or its labeler name ``starter-set``), else the file's
    name (without its directory)."""
    name = str(source or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name == STARTER_FILE or labeler == STARTER_LABELER:
        return STARTER
    return check_origin(name[:ORIGIN_MAX] or "file")


def clean_note(note: object) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise LabelError(f"note must be text, got {type(note).__name__}")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise LabelError(f"note is longer than {NOTE_MAX} characters")
    return note or None


def _row_to_label(row) -> Label:
    return Label(
        delivery_id=row.delivery_id,
        category=row.category,
        note=row.note,
        labeler=row.labeler,
        labeled_at=row.labeled_at,
        updated_at=row.updated_at,
        origin=row.origin,
    )


def get_label(conn: Connection, delivery_id: str) -> Label | None:
    row = conn.execute(select(labels).where(labels.c.delivery_id == delivery_id)).first()
    return _row_to_label(row) if row else None


def delivery_exists(conn: Connection, delivery_id: str, *, scope: TenantScope = ALL) -> bool:
    return delivery_tenant(conn, delivery_id, scope=scope) is not None


def delivery_tenant(
    conn: Connection, delivery_id: str, *, scope: TenantScope = ALL
) -> str | None:
    """The tenant of a stored delivery (within ``scope``), or None."""
    return conn.execute(
        select(deliveries.c.tenant)
        .where(deliveries.c.id == delivery_id, *scope.where(deliveries.c.tenant))
    ).scalar()


def sole_tenant_of(conn: Connection, delivery_ids: list[str]) -> str | None:
    """The tenant of every one of ``delivery_ids`` (for the audit entry of an action on
    them all); None when they belong to several tenants, or none is stored."""
    seen: set[str] = set()
    for start in range(0, len(delivery_ids), 500):
        low, high = conn.execute(
            select(func.min(deliveries.c.tenant), func.max(deliveries.c.tenant))
            .where(deliveries.c.id.in_(delivery_ids[start : start + 500]))
        ).one()
        if low is not None:
            seen.update((low, high))
        if len(seen) > 1:
            return None
    return next(iter(seen), None)


def create_label(
    conn: Connection,
    *,
    delivery_id: str,
    category: str,
    labeler: str,
    now: datetime,
    note: str | None = None,
    labeled_at: datetime | None = None,
    actor: str | None = None,
    origin: str = OPERATOR,
) -> Label:
    """Label a delivery that has no label yet (``LabelExists`` otherwise).

    ``actor`` is who performs the action for the audit trail (default: the labeler; an
    import names the importing operator while keeping the file's labeler). ``origin``:
    ``operator`` unless an import says otherwise.
    """
    category = check_category(category)
    origin = check_origin(origin)
    labeler = check_labeler(labeler)
    actor = check_labeler(actor) if actor is not None else labeler
    note = clean_note(note)
    now = ensure_utc(now)
    labeled_at = ensure_utc(labeled_at) if labeled_at else now
    tenant = delivery_tenant(conn, delivery_id)
    if tenant is None:
        raise LabelError(f"delivery {delivery_id!r} is not in the store")
    existing = get_label(conn, delivery_id)
    if existing is not None:
        raise LabelExists(
            f"delivery {delivery_id!r} is already labelled {existing.category} "
            f"by {existing.labeler}"
        )
    try:
        conn.execute(
            insert(labels).values(
                delivery_id=delivery_id,
                category=category,
                note=note,
                labeler=labeler,
                labeled_at=labeled_at,
                updated_at=now,
                origin=origin,
            )
        )
    except IntegrityError:  # labelled by someone else since we looked: the caller rolls back
        raise LabelExists(f"delivery {delivery_id!r} was just labelled by someone else") from None
    record(
        conn,
        actor=actor,
        action="label.create",
        at=now,
        target_type="delivery",
        target_id=delivery_id,
        summary=f"labelled {category}",
        details={"category": category, "note": note, "labeler": labeler,
                 "labeled_at": to_rfc3339(labeled_at), "origin": origin},
        tenant=tenant,
    )
    return Label(delivery_id, category, note, labeler, labeled_at, now, origin)


def update_label(
    conn: Connection,
    *,
    delivery_id: str,
    actor: str,
    now: datetime,
    category: str | None = None,
    note: object = _UNSET,
    labeler: str | None = None,
    origin: str = OPERATOR,
) -> Label:
    """Change a label's category and/or note; the editor (``actor``) becomes its
    labeler unless ``labeler`` names another (an import keeps the file's labeler), and
    the label's origin becomes ``origin`` (an operator's edit makes it ``operator``).

    ``labeled_at`` keeps the first labelling time; ``updated_at`` becomes ``now``.
    Pass ``note=None`` to clear the note; leave it out to keep it.
    """
    actor = check_labeler(actor)
    new_labeler = check_labeler(labeler) if labeler is not None else actor
    now = ensure_utc(now)
    before = get_label(conn, delivery_id)
    if before is None:
        raise LabelNotFound(f"delivery {delivery_id!r} has no label to update")
    new_category = check_category(category) if category is not None else before.category
    new_note = before.note if note is _UNSET else clean_note(note)
    origin = check_origin(origin)
    conn.execute(
        update(labels)
        .where(labels.c.delivery_id == delivery_id)
        .values(category=new_category, note=new_note, labeler=new_labeler, updated_at=now,
                origin=origin)
    )
    record(
        conn,
        actor=actor,
        action="label.update",
        at=now,
        target_type="delivery",
        target_id=delivery_id,
        summary=(
            f"relabelled {before.category} -> {new_category}"
            if new_category != before.category
            else f"edited the {new_category} label"
        ),
        details={
            "before": {"category": before.category, "note": before.note,
                       "labeler": before.labeler, "origin": before.origin},
            "after": {"category": new_category, "note": new_note, "labeler": new_labeler,
                      "origin": origin},
        },
        tenant=delivery_tenant(conn, delivery_id),
    )
    return Label(delivery_id, new_category, new_note, new_labeler, before.labeled_at, now,
                 origin)


def delete_label(conn: Connection, *, delivery_id: str, actor: str, now: datetime) -> Label:
    actor = check_labeler(actor)
    before = get_label(conn, delivery_id)
    if before is None:
        raise LabelNotFound(f"delivery {delivery_id!r} has no label to delete")
    tenant = delivery_tenant(conn, delivery_id)
    conn.execute(delete(labels).where(labels.c.delivery_id == delivery_id))
    record(
        conn,
        actor=actor,
        action="label.delete",
        at=ensure_utc(now),
        target_type="delivery",
        target_id=delivery_id,
        summary=f"deleted the {before.category} label",
        details={"before": before.to_dict()},
        tenant=tenant,
    )
    return before


def save_label(
    conn: Connection,
    *,
    delivery_id: str,
    category: str,
    labeler: str,
    now: datetime,
    note: str | None = None,
    labeled_at: datetime | None = None,
    actor: str | None = None,
    origin: str = OPERATOR,
) -> str:
    """Create or update (import): returns ``created``, ``updated`` or ``unchanged``.

    An import keeps the file's labeler and labelling time, so an export imported
    again is the same set of labels; ``actor`` (default: the labeler) is audited. A
    created or updated label gets ``origin``; an unchanged one keeps its own.
    """
    category = check_category(category)
    labeler = check_labeler(labeler)
    actor = check_labeler(actor) if actor is not None else labeler
    note = clean_note(note)
    existing = get_label(conn, delivery_id)
    if existing is None:
        create_label(conn, delivery_id=delivery_id, category=category, labeler=labeler,
                     now=now, note=note, labeled_at=labeled_at, actor=actor, origin=origin)
        return "created"
    labeled_at = ensure_utc(labeled_at) if labeled_at else existing.labeled_at
    if (existing.category, existing.note, existing.labeler, existing.labeled_at) == (
        category, note, labeler, labeled_at
    ):
        return "unchanged"
    update_label(conn, delivery_id=delivery_id, actor=actor, now=now, category=category,
                 note=note, labeler=labeler, origin=origin)
    if labeled_at != existing.labeled_at:
        conn.execute(
            update(labels).where(labels.c.delivery_id == delivery_id).values(labeled_at=labeled_at)
        )
    return "updated"


def list_labels(
    conn: Connection,
    *,
    labeler: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    scope: TenantScope = ALL,
) -> list[Label]:
    """Labels newest first (by last change), optionally one labeler's, within ``scope``."""
    stmt = _scoped(select(labels), scope).order_by(
        labels.c.updated_at.desc(), labels.c.delivery_id
    )
    if labeler:
        stmt = stmt.where(labels.c.labeler == labeler)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [_row_to_label(r) for r in conn.execute(stmt)]


def labels_in_scope(scope: TenantScope) -> list:
    """Clauses keeping the ``labels`` rows of deliveries within ``scope`` (none when
    unrestricted). Correlated on purpose: labels are few, so each is checked by a
    primary-key lookup, where a join filtered on the tenant would read every delivery
    of the tenant to find its few labelled ones."""
    if scope.unrestricted:
        return []
    mine = deliveries.alias("scoped_delivery")
    return [
        select(mine.c.id)
        .where(mine.c.id == labels.c.delivery_id, *scope.where(mine.c.tenant))
        .exists()
    ]


def _scoped(stmt, scope: TenantScope):
    """``stmt`` over ``labels`` limited to the labels of deliveries within ``scope``."""
    return stmt.where(*labels_in_scope(scope))


def count_labels(
    conn: Connection, *, labeler: str | None = None, scope: TenantScope = ALL
) -> int:
    stmt = _scoped(select(func.count()).select_from(labels), scope)
    if labeler:
        stmt = stmt.where(labels.c.labeler == labeler)
    return int(conn.execute(stmt).scalar() or 0)


def iter_labels(conn: Connection, batch: int = 1000, *, scope: TenantScope = ALL):
    """Every label (within ``scope``) in delivery id order (for export), streamed in
    batches."""
    last = None
    while True:
        stmt = _scoped(select(labels), scope).order_by(labels.c.delivery_id).limit(batch)
        if last is not None:
            stmt = stmt.where(labels.c.delivery_id > last)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield _row_to_label(row)
        last = rows[-1].delivery_id
