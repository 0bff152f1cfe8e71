"""Label files: CSV export/import and the dev-set JSON Lines format.

CSV (export and import): a header row ``delivery_id,category,note,labeler,labeled_at``
(``labeled_at`` RFC 3339; ``note``, ``labeler`` and ``labeled_at`` may be empty: the
importing operator and the import time are used then). Every delivery must already be
in the store. A text cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, CR first) is written with a leading apostrophe and read back without it
(``intel.csvsafe``).

JSON Lines (``.jsonl``, the dev set's format, e.g. ``data/triage_labels_starter.jsonl``):
one delivery per line in the import format of CONTRACTS §1 plus ``label`` (the category;
``category`` is accepted too) and optionally ``note``, ``labeler``, ``labeled_at``; or
just ``id`` (or ``delivery_id``) and ``label``.

A label file only labels deliveries that exist: it never creates or changes a delivery
or an endpoint (a label upload that could add deliveries with any endpoint would, with a
replay, read any URL back: SSRF). A label for an id that is not in the store (or not in
the importer's tenant scope) is an error naming its line, and, as for any problem, the
file imports nothing: all or nothing, like ``python -m intel import``. Deliveries are
created by the import (CLI) or an admin only: :func:`add_missing_deliveries` is that
path for a dev-set file (``python -m intel labels import --add-deliveries``, the demo's
starter set), validated and capped exactly as the import; the deliveries' other fields
(``acceptable``, ``unsafe``, ``kind``, ``source`` ...) are kept in their ``extra``.

Import is all-or-nothing: every problem is collected with its line number, and nothing
is written unless the whole file is good.

Each imported label records its origin (``labels.origin``): ``starter`` for the starter
set (``data/triage_labels_starter.jsonl``, or labels whose labeler is ``starter-set``),
otherwise the imported file's name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select

from intel.audit import SYSTEM, record
from intel.auth.scope import ALL, TenantScope
from intel.csvsafe import restore_cell, safe_row
from intel.deliveries.caps import storable_text
from intel.deliveries.record import InvalidRecord, loads_json, validate_record
from intel.deliveries.write import upsert_deliveries
from intel.labels.store import (
    Label,
    LabelError,
    check_category,
    check_labeler,
    check_origin,
    clean_note,
    origin_of_import,
    save_label,
    sole_tenant_of,
)
from intel.store.schema import deliveries
from intel.timeutil import parse_timestamp, to_rfc3339

CSV_COLUMNS = ("delivery_id", "category", "note", "labeler", "labeled_at")
LABEL_FIELDS = ("label", "category", "note", "labeler", "labeled_at")
MAX_SHOWN_PROBLEMS = 20


class LabelFileError(ValueError):
    """A label file that cannot be imported: every problem, each with its line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = problems[:MAX_SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        text = f"{source}: {len(problems)} problem(s), nothing imported:\n  " + "\n  ".join(shown)
        if more:
            text += f"\n  ... and {more} more"
        super().__init__(text)


@dataclass
class LabelRecord:
    """One label read from a file, with where it came from."""

    where: str  # "line 3"
    delivery_id: str
    category: str
    note: str | None
    labeler: str
    labeled_at: datetime | None
    delivery: dict | None = None  # JSONL: the delivery (only add_missing_deliveries adds it)


@dataclass
class ImportSummary:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deliveries_added: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    origins: list[str] = field(default_factory=list)  # of the labels created or updated

    def describe(self) -> str:
        text = (
            f"{self.read} label(s) read: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.deliveries_added:
            text += f"; {self.deliveries_added} delivery(ies) added"
        if self.origins:
            text += f"; origin {', '.join(self.origins)}"
        return text


# --- reading -----------------------------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _label_fields(
    where: str, raw: dict, *, category_key: str, default_labeler: str | None
) -> tuple[str, str | None, str, datetime | None]:
    """category, note, labeler, labeled_at of one record, or LabelError."""
    category = check_category(raw.get(category_key))
    note = clean_note(_text(raw.get("note")))
    labeler = check_labeler(_text(raw.get("labeler")) or default_labeler)
    labeled_at = None
    if _text(raw.get("labeled_at")):
        try:
            labeled_at = parse_timestamp(_text(raw.get("labeled_at")))
        except ValueError as exc:
            raise LabelError(f"labeled_at: {exc}") from None
    return category, note, labeler, labeled_at


def parse_labels_csv(
    text: str | io.TextIOBase, *, source: str = "CSV", default_labeler: str | None = None
) -> list[LabelRecord]:
    """Read the CSV label format; ``LabelFileError`` lists every bad row by line."""
    stream = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise LabelFileError(source, ["line 1: empty file, expected a header row"]) from None
    except csv.Error as exc:
        raise LabelFileError(source, [f"line 1: not CSV: {exc}"]) from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in ("delivery_id", "category") if c not in names]
    if missing:
        raise LabelFileError(
            source,
            [f"line 1: header lacks {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})"],
        )
    out: list[LabelRecord] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: not CSV: {exc}")
            break
        where = f"line {reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.append(f"{where}: {len(row)} field(s), the header has {len(names)}")
            continue
        raw = dict(zip(names, (restore_cell(c) for c in row), strict=True))
        delivery_id = _text(raw.get("delivery_id"))
        if not delivery_id:
            problems.append(f"{where}: delivery_id is empty")
            continue
        if delivery_id in seen:
            problems.append(
                f"{where}: delivery {delivery_id!r} again (first on {seen[delivery_id]})"
            )
            continue
        seen[delivery_id] = where
        try:
            category, note, labeler, labeled_at = _label_fields(
                where, raw, category_key="category", default_labeler=default_labeler
            )
        except LabelError as exc:
            problems.append(f"{where} (delivery {delivery_id!r}): {exc}")
            continue
        out.append(LabelRecord(where, delivery_id, category, note, labeler, labeled_at))
    if problems:
        raise LabelFileError(source, problems)
    return out


# Delivery fields beyond the id: a JSONL line with none of them is just a label.
_DELIVERY_FIELDS = ("tenant", "endpoint", "status", "created_at")


def _delivery_from_json(raw: dict) -> dict:
    """The delivery part of a JSONL record, validated as ``python -m intel import`` does
    (CONTRACTS §1, size limits included); the label fields are not kept in the
    delivery's ``extra``."""
    from intel.settings import get_settings

    return validate_record({k: v for k, v in raw.items() if k not in LABEL_FIELDS},
                           limits=get_settings().limits)


def _label_only_id(raw: dict) -> str:
    """The id of a label-only line (``id`` or ``delivery_id``), or ``InvalidRecord``."""
    value = raw.get("id", raw.get("delivery_id"))
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(["missing required field 'id' (or 'delivery_id')"])
    if len(value) > 200 or storable_text(value) != value:
        raise InvalidRecord(["id: not a delivery id (over 200 characters, or a NUL or an "
                             "unpaired surrogate)"])
    return value


def parse_labels_jsonl(
    lines: Iterable[str], *, source: str = "JSONL", default_labeler: str | None = None
) -> list[LabelRecord]:
    """Read the dev-set format; ``LabelFileError`` lists every bad line."""
    out: list[LabelRecord] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            raw = loads_json(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON: {exc.msg} (column {exc.colno})")
            continue
        except ValueError as exc:  # NaN / Infinity
            problems.append(f"{where}: not JSON: {exc}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a JSON object, got {type(raw).__name__}")
            continue
        try:
            if any(name in raw for name in _DELIVERY_FIELDS):
                delivery = _delivery_from_json(raw)
                delivery_id = delivery["id"]
            else:
                delivery, delivery_id = None, _label_only_id(raw)
        except InvalidRecord as exc:
            problems.extend(f"{where}: {problem}" for problem in exc.problems)
            continue
        if delivery_id in seen:
            problems.append(
                f"{where}: delivery {delivery_id!r} again (first on {seen[delivery_id]})"
            )
            continue
        seen[delivery_id] = where
        key = "label" if raw.get("label") is not None else "category"
        try:
            category, note, labeler, labeled_at = _label_fields(
                where, raw, category_key=key, default_labeler=default_labeler
            )
        except LabelError as exc:
            problems.append(f"{where} (delivery {delivery_id!r}): {exc}")
            continue
        out.append(LabelRecord(where, delivery_id, category, note, labeler, labeled_at, delivery))
    if problems:
        raise LabelFileError(source, problems)
    return out


def read_label_file(path: str | Path, *, default_labeler: str | None = None) -> list[LabelRecord]:
    """CSV (``.csv``) or JSON Lines (``.jsonl``, ``.ndjson``, ``.json``) by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise LabelFileError(str(path), ["unknown file type: expected .csv or .jsonl"])
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            if suffix == ".csv":
                return parse_labels_csv(fh, source=str(path), default_labeler=default_labeler)
            return parse_labels_jsonl(fh, source=str(path), default_labeler=default_labeler)
    except OSError as exc:
        raise LabelFileError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise LabelFileError(str(path), [f"not UTF-8 text: {exc.reason}"]) from None


# --- writing -----------------------------------------------------------------------------


def _existing_ids(conn: Connection, ids: list[str], scope: TenantScope = ALL) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(conn.execute(
            select(deliveries.c.id)
            .where(deliveries.c.id.in_(chunk), *scope.where(deliveries.c.tenant))
        ).scalars())
    return found


def import_labels(
    conn: Connection,
    records: list[LabelRecord],
    *,
    actor: str,
    now: datetime,
    source: str = "file",
    scope: TenantScope = ALL,
    origin: str | None = None,
) -> ImportSummary:
    """Write ``records`` in the caller's transaction (all or nothing).

    Labels only: a label whose delivery is not in the store, or not in ``scope`` (the
    importer's tenants), is an error naming its line and nothing is written; no delivery
    is ever created or changed here (the deliveries a JSONL record carries are ignored;
    :func:`add_missing_deliveries` is the import's path for them). Each label is audited
    (``label.create`` / ``label.update``) and the import itself as ``label.import``.

    ``origin`` (default: :func:`~intel.labels.store.origin_of_import` of ``source`` and
    each record's labeler) is recorded on every created or changed label.
    """
    actor = check_labeler(actor)
    if origin is not None:
        origin = check_origin(origin)
    existing = _existing_ids(conn, [r.delivery_id for r in records], scope)
    problems = [
        f"{r.where}: delivery {r.delivery_id!r} is not in the store (a label file only labels "
        "existing deliveries; import them first with python -m intel import)"
        for r in records
        if r.delivery_id not in existing
    ]
    if problems:
        raise LabelFileError(source, problems)
    summary = ImportSummary(read=len(records))
    for r in records:
        label_origin = origin or origin_of_import(source, r.labeler)
        outcome = save_label(
            conn,
            delivery_id=r.delivery_id,
            category=r.category,
            labeler=r.labeler,
            now=now,
            note=r.note,
            labeled_at=r.labeled_at,
            actor=actor,
            origin=label_origin,
        )
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        if outcome != "unchanged" and label_origin not in summary.origins:
            summary.origins.append(label_origin)
        summary.by_category[r.category] = summary.by_category.get(r.category, 0) + 1
    record(
        conn,
        actor=actor,
        action="label.import",
        at=now,
        target_type="labels",
        target_id=source,
        summary=summary.describe(),
        details={
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "by_category": summary.by_category,
            "origins": summary.origins,
        },
        tenant=sole_tenant_of(conn, [r.delivery_id for r in records]),
    )
    return summary


def add_missing_deliveries(
    conn: Connection,
    records: list[LabelRecord],
    *,
    actor: str,
    now: datetime,
    source: str = "file",
) -> int:
    """Create the deliveries a dev-set JSONL file carries that are not in the store yet
    (those already there are left as they are); returns how many were added.

    This creates deliveries (and so endpoints a replay would reach): it is the import's
    power, for the CLI (``labels import --add-deliveries``, run by whoever runs the
    deployment) and the demo's starter set, never for a label upload. Audited as
    ``import.deliveries``.
    """
    from intel.settings import get_settings

    carried = [r for r in records if r.delivery is not None]
    existing = _existing_ids(conn, [r.delivery_id for r in carried])
    new = [r.delivery for r in carried if r.delivery_id not in existing]
    limits = get_settings().limits
    for start in range(0, len(new), 500):
        upsert_deliveries(conn, new[start : start + 500], now=now, limits=limits)
    if new:
        record(
            conn,
            actor=actor,
            action="import.deliveries",
            at=now,
            target_type="file",
            target_id=source,
            summary=f"added {len(new)} deliveries from the label file {source}",
            details={"added": len(new), "already_stored": len(carried) - len(new)},
            actor_kind="system" if actor in ("cli", SYSTEM) else None,
        )
    return len(new)


def labels_to_csv(labels: Iterable[Label]) -> str:
    """The CSV export (same columns the import reads)."""
    out = io.StringIO()
    write_labels_csv(labels, out)
    return out.getvalue()


def write_labels_csv(labels: Iterable[Label], fh) -> int:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for label in labels:
        writer.writerow(safe_row(
            [label.delivery_id, label.category, label.note or "", label.labeler,
             to_rfc3339(label.labeled_at)]
        ))
        n += 1
    return n


def iter_csv_lines(labels: Iterable[Label]) -> Iterator[str]:
    """The export streamed line by line (header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for label in labels:
        buf.seek(0)
        buf.truncate()
        writer.writerow(safe_row(
            [label.delivery_id, label.category, label.note or "", label.labeler,
             to_rfc3339(label.labeled_at)]
        ))
        yield buf.getvalue()
