"""Label files: CSV export/import and the dev-set JSON Lines format.

CSV (export and import): a header row ``delivery_id,category,note,labeler,labeled_at``
(``labeled_at`` RFC 3339; ``note``, ``labeler`` and ``labeled_at`` may be empty: the
importing operator and the import time are used then). Every delivery must already be
in the store.

JSON Lines (``.jsonl``, the dev set's format, e.g. ``data/triage_labels_starter.jsonl``):
one delivery per line in the import format of CONTRACTS §1 plus ``label`` (the category;
``category`` is accepted too) and optionally ``note``, ``labeler``, ``labeled_at``. A
delivery not yet in the store is added with the label; one already there is left as it
is. Other fields (``acceptable``, ``unsafe``, ``kind``, ``source`` ...) are kept in the
delivery's ``extra``.

Import is all-or-nothing: every problem is collected with its line number, and nothing
is written unless the whole file is good.
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

from intel.audit import record
from intel.deliveries.record import InvalidRecord, loads_json, validate_record
from intel.deliveries.write import upsert_deliveries
from intel.labels.store import (
    Label,
    LabelError,
    check_category,
    check_labeler,
    clean_note,
    save_label,
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
    delivery: dict | None = None  # JSONL: the delivery, added when not in the store


@dataclass
class ImportSummary:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deliveries_added: int = 0
    by_category: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"{self.read} label(s) read: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged; {self.deliveries_added} delivery(ies) added"
        )


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
        raw = dict(zip(names, row, strict=True))
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


def _delivery_from_json(raw: dict) -> dict:
    """The delivery part of a JSONL record, validated as ``python -m intel import`` does
    (CONTRACTS §1); the label fields are not kept in the delivery's ``extra``."""
    return validate_record({k: v for k, v in raw.items() if k not in LABEL_FIELDS})


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
            delivery = _delivery_from_json(raw)
        except InvalidRecord as exc:
            problems.extend(f"{where}: {problem}" for problem in exc.problems)
            continue
        delivery_id = delivery["id"]
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


def _existing_ids(conn: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(conn.execute(select(deliveries.c.id).where(deliveries.c.id.in_(chunk)))
                     .scalars())
    return found


def import_labels(
    conn: Connection,
    records: list[LabelRecord],
    *,
    actor: str,
    now: datetime,
    source: str = "file",
) -> ImportSummary:
    """Write ``records`` in the caller's transaction (all or nothing).

    A CSV label whose delivery is not in the store is an error naming its line; a JSONL
    record brings its delivery, added when missing. Each label is audited
    (``label.create`` / ``label.update``) and the import itself as ``label.import``.
    """
    actor = check_labeler(actor)
    existing = _existing_ids(conn, [r.delivery_id for r in records])
    missing = [r for r in records if r.delivery_id not in existing]
    problems = [
        f"{r.where}: delivery {r.delivery_id!r} is not in the store (import the deliveries first)"
        for r in missing
        if r.delivery is None
    ]
    if problems:
        raise LabelFileError(source, problems)
    summary = ImportSummary(read=len(records))
    new_deliveries = [r.delivery for r in missing]
    for start in range(0, len(new_deliveries), 500):
        upsert_deliveries(conn, new_deliveries[start : start + 500], now=now)
    summary.deliveries_added = len(new_deliveries)
    for r in records:
        outcome = save_label(
            conn,
            delivery_id=r.delivery_id,
            category=r.category,
            labeler=r.labeler,
            now=now,
            note=r.note,
            labeled_at=r.labeled_at,
            actor=actor,
        )
        setattr(summary, outcome, getattr(summary, outcome) + 1)
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
            "deliveries_added": summary.deliveries_added,
            "by_category": summary.by_category,
        },
    )
    return summary


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
        writer.writerow(
            [label.delivery_id, label.category, label.note or "", label.labeler,
             to_rfc3339(label.labeled_at)]
        )
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
        writer.writerow(
            [label.delivery_id, label.category, label.note or "", label.labeler,
             to_rfc3339(label.labeled_at)]
        )
        yield buf.getvalue()
