"""Importing a file of delivery records (CONTRACTS §1): JSON Lines, CSV or Parquet.

``import_file(engine, path, ...)`` is the whole import; ``python -m intel import`` is a
thin shell around it. The file is streamed, never held in memory: JSON Lines and CSV
line by line, Parquet by record batches of its row groups (memory is bounded by the
file's row-group size).

All or nothing. By default a first pass validates every record without touching the
database; if any record is bad, :class:`InvalidRecords` carries each one's line (row
for Parquet) and reason and nothing is written. Otherwise a second pass writes every
record in ONE transaction, together with its ``import.file`` audit event, so a failure
half-way (the database, the disk, the file changing under us) leaves nothing behind.
Validating first costs a second read of the file (about a fifth of the import time)
and buys this: a bad file never opens a write transaction, so it never blocks the live
simulator or the worker on SQLite. A good file does hold SQLite's single write lock for
the whole write (other writers wait up to the 30 s busy timeout): import big files into
SQLite while the live simulator is stopped, or use PostgreSQL, where only the imported
rows are locked.

With ``skip_invalid`` there is one pass: valid records are written (in one
transaction), rejected ones go to the reject file, one JSON object a line:
``{"line": 12, "reason": "...", "record": {...}}`` (``"text"`` instead of ``"record"``
when the line was not a JSON object). The reject file is written next to its final
name and moved into place when the import commits, so it always describes the
committed import; it is written even when empty, so it never describes an older run.

Importing the same id again updates that delivery (``upsert_deliveries``). Within one
file an id may appear once: a repeat is an error naming both lines (``line 7: id 'd-1'
repeats line 3``; with ``skip_invalid`` the repeat goes to the reject file and the first
stays), unless ``last_wins``: then the records are applied in file order, the last
record of an id wins and every attempt number the file shows is in the attempts
timeline. Repeats are found from a 128-bit hash of each id (16 bytes a record, not the
ids themselves, so memory stays bounded), in the validation pass; with ``skip_invalid``
that pass runs too, unless ``last_wins``.

Size limits (``limits.*``): a record larger than ``limits.max_record_bytes`` in the file
is rejected with its line without being parsed (a JSON Lines line is never read whole);
a payload over ``limits.max_payload_bytes`` rejects its record (``intel.deliveries.record``);
a response body, error or headers over their limit are stored cut with a visible marker,
and the report counts the values cut (``truncated``, per field in ``truncated_fields``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from abc import ABC, abstractmethod
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from intel.audit import SYSTEM, record
from intel.deliveries.record import (
    FIELDS,
    OBJECT_FIELDS,
    REQUIRED,
    UNSTORABLE_ESCAPE,
    InvalidRecord,
    from_text_cells,
    loads_json,
    validate_record,
)
from intel.deliveries.write import upsert_deliveries
from intel.settings.limits import LimitSettings

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DEFAULT_BATCH_SIZE = 5000
#: Issues kept in the report (all of them are counted, and all go to the reject file).
MAX_ISSUES = 1000
_BOM = b"\xef\xbb\xbf"
_CSV_FIELD_LIMIT = 64 * 1024 * 1024
#: Characters of an over-large record kept in the reject file.
REJECT_TEXT_CHARS = 1000
FIELD_SET = frozenset(FIELDS)

#: ``progress(phase, done, total)``: phase "validate" or "write"; units are bytes for
#: JSON Lines and CSV, rows for Parquet.
Progress = Callable[[str, int, int], None]


class ImportFailed(Exception):
    """The file cannot be imported; the message names the file and what is wrong."""


class InvalidRecords(ImportFailed):
    """Some records break CONTRACTS §1; nothing was written. ``report.issues`` has them."""

    def __init__(self, report: ImportReport):
        self.report = report
        first = report.issues[0]
        super().__init__(
            f"{report.path}: {report.rejected} invalid record(s), nothing written; "
            f"first: {report.unit} {first.line}: {first.reason}"
        )


@dataclass(frozen=True)
class RecordIssue:
    line: int  # line of the file (JSON Lines, CSV: where the record starts) or row (Parquet)
    reason: str


@dataclass
class ImportReport:
    path: str
    format: str
    read: int = 0
    written: int = 0
    rejected: int = 0
    seconds: float = 0.0
    committed: bool = False
    reject_path: str | None = None
    issues: list[RecordIssue] = field(default_factory=list)
    truncated: int = 0  # stored values cut to the size limits
    truncated_fields: dict[str, int] = field(default_factory=dict)
    repeated: int = 0  # records whose id an earlier record of the file has

    @property
    def unit(self) -> str:
        return "row" if self.format == "parquet" else "line"

    def summary(self) -> str:
        text = (
            f"read {self.read:,}, written {self.written:,}, rejected {self.rejected:,} "
            f"in {self.seconds:.1f} s"
        )
        if self.truncated:
            fields = ", ".join(f"{k} {v:,}" for k, v in sorted(self.truncated_fields.items()))
            text += (f"; {self.truncated:,} value(s) cut to the size limits ({fields})")
        if self.reject_path:
            text += f"; rejects in {self.reject_path}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "reject_file": self.reject_path,
            "truncated": self.truncated,
            "truncated_fields": dict(self.truncated_fields),
            "repeated": self.repeated,
        }


@dataclass(frozen=True)
class _Item:
    """One record as read: ``data`` (typed values) or ``error`` (it could not be read)."""

    line: int
    data: dict[str, Any] | None
    error: str | None = None
    text: str | None = None  # the line, when it could not be read as a record
    plain_json: bool = False  # parsed JSON without a \u0000 escape (see validate_record)
    raw: dict[str, Any] | None = None  # the cells, when they could not be typed
    size: int | None = None  # bytes of the record in the file, when known


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImportFailed(
            f"{path}: unknown file type {path.suffix or '(none)'!r}; "
            "expected .jsonl, .csv or .parquet"
        )
    return fmt


# --- readers -----------------------------------------------------------------------------


class _Reader(ABC):
    """Streams the records of one file; ``done``/``total`` measure progress."""

    def __init__(self, path: Path, batch_size: int, limits: LimitSettings):
        self.path = path
        self.batch_size = batch_size
        self.limits = limits
        self.done = 0
        self.total = 0

    def too_large(self, size: int) -> str:
        return (f"record is {size:,} bytes, larger than limits.max_record_bytes "
                f"({self.limits.max_record_bytes:,}); not read")

    @abstractmethod
    def items(self) -> Iterator[_Item]:
        """The file's records in order, each with its line or row number."""


def _bounded_lines(handle, limit: int) -> Iterator[tuple[int, bytes, int, int]]:
    """(line number, bytes, bytes read, size without the line end) of each line; a line
    longer than ``limit`` is never held whole: its first ``limit`` bytes come back with
    its full size."""
    number = 0
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        number += 1
        read = len(raw)
        last = raw
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # the rest of an over-long line, skipped in bounded chunks
                chunk = handle.readline(1 << 20)
                read += len(chunk)
                if chunk:
                    last = chunk
                if not chunk or chunk.endswith(b"\n"):
                    break
        ending = 2 if last.endswith(b"\r\n") else 1 if last.endswith(b"\n") else 0
        yield number, raw, read, read - ending


class _JsonLinesReader(_Reader):
    def __init__(self, path: Path, batch_size: int, limits: LimitSettings):
        super().__init__(path, batch_size, limits)
        self.total = path.stat().st_size

    def items(self) -> Iterator[_Item]:
        limit = self.limits.max_record_bytes
        with open(self.path, "rb") as handle:
            for number, raw, read, size in _bounded_lines(handle, limit + 2):  # + CR LF
                self.done += read
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]
                raw = raw.strip()
                if not raw:
                    continue
                if len(raw) > limit or size > limit + 2:
                    shown = raw[:REJECT_TEXT_CHARS].decode("utf-8", "replace")
                    yield _Item(number, None, self.too_large(max(size, len(raw))),
                                shown + "…", size=size)
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield _Item(
                        number, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)",
                        raw.decode("utf-8", "replace"),
                    )
                    continue
                try:
                    data = loads_json(text)
                except json.JSONDecodeError as exc:
                    yield _Item(number, None, f"bad JSON: {exc.msg} at column {exc.colno}", text)
                    continue
                except ValueError as exc:  # NaN / Infinity
                    yield _Item(number, None, f"bad JSON: {exc}", text)
                    continue
                if not isinstance(data, dict):
                    kind = "an array" if isinstance(data, list) else f"a {type(data).__name__}"
                    yield _Item(number, None, f"a record must be a JSON object, got {kind}", text)
                    continue
                plain = "\\u" not in text or UNSTORABLE_ESCAPE.search(text) is None
                yield _Item(number, data, plain_json=plain, size=len(raw))


class _CsvReader(_Reader):
    def __init__(self, path: Path, batch_size: int, limits: LimitSettings):
        super().__init__(path, batch_size, limits)
        self.total = path.stat().st_size
        self._bad_lines: set[int] = set()

    def _lines(self, handle) -> Iterator[str]:
        for number, raw in enumerate(handle, 1):
            self.done += len(raw)
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_lines.add(number)
                yield raw.decode("utf-8", "replace")

    def items(self) -> Iterator[_Item]:
        csv.field_size_limit(max(_CSV_FIELD_LIMIT, 2 * self.limits.max_record_bytes))
        with open(self.path, "rb") as handle:
            reader = csv.reader(self._lines(handle))
            try:
                header = next(reader, None)
                if header is None:
                    raise ImportFailed(f"{self.path}: empty file, expected a header row")
                header = [name.strip() for name in header]
                self._check_header(header)
                previous_end = reader.line_num
                consumed = self.done
                for cells in reader:
                    start, previous_end = previous_end + 1, reader.line_num
                    size, consumed = self.done - consumed, self.done
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue  # a blank line
                    if size > self.limits.max_record_bytes:
                        text = ",".join(cells)[:REJECT_TEXT_CHARS] + "…"
                        yield _Item(start, None, self.too_large(size), text=text, size=size)
                        continue
                    if any(n in self._bad_lines for n in range(start, previous_end + 1)):
                        yield _Item(start, None, "not valid UTF-8", text=",".join(cells))
                        continue
                    if len(cells) != len(header):
                        yield _Item(
                            start, None,
                            f"has {len(cells)} cells, the header has {len(header)}",
                            text=",".join(cells),
                        )
                        continue
                    # an empty cell of an unknown column is not kept (it is no value)
                    raw = {
                        name: cell
                        for name, cell in zip(header, cells, strict=True)
                        if cell or name in FIELD_SET
                    }
                    data, problems = from_text_cells(raw)
                    if problems:
                        yield _Item(start, None, "; ".join(problems), raw=raw)
                        continue
                    yield _Item(start, data, size=size)
            except csv.Error as exc:
                raise ImportFailed(
                    f"{self.path}: line {reader.line_num}: unreadable CSV: {exc}"
                ) from None

    def _check_header(self, header: list[str]) -> None:
        if any(not name for name in header):
            position = next(i for i, name in enumerate(header, 1) if not name)
            raise ImportFailed(f"{self.path}: line 1: header column {position} has no name")
        seen = set()
        for name in header:
            if name in seen:
                raise ImportFailed(f"{self.path}: line 1: header column {name!r} appears twice")
            seen.add(name)
        missing = [name for name in REQUIRED if name not in seen]
        if missing:
            raise ImportFailed(
                f"{self.path}: line 1: the header has no {', '.join(missing)} column(s) "
                f"(required: {', '.join(REQUIRED)})"
            )


def _row_size(values: dict, limit: int) -> tuple[int, bool]:
    """(bytes of a Parquet row's text cells, whether it has object cells too): the
    characters, measured in UTF-8 only when they could exceed ``limit``."""
    chars, objects = 0, False
    texts = []
    for value in values.values():
        if isinstance(value, str):
            chars += len(value)
            texts.append(value)
        elif isinstance(value, bytes | bytearray):
            chars += len(value)
        elif isinstance(value, dict | list | tuple):
            objects = True
    if chars * 4 > limit:
        chars = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) + sum(
            len(v) for v in values.values() if isinstance(v, bytes | bytearray))
    return chars, objects


class _ParquetReader(_Reader):
    def __init__(self, path: Path, batch_size: int, limits: LimitSettings):
        super().__init__(path, batch_size, limits)
        import pyarrow.parquet as pq

        try:
            # No pre-buffering, one thread, buffered reads: peak memory stays near one
            # record batch instead of whole row groups (311 → 184 MB at 1M records).
            self._file = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise ImportFailed(f"{path}: not a readable Parquet file: {exc}") from None
        self.total = self._file.metadata.num_rows
        names = set(self._file.schema_arrow.names)
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise ImportFailed(
                f"{path}: the Parquet schema has no {', '.join(missing)} column(s) "
                f"(required: {', '.join(REQUIRED)})"
            )

    def items(self) -> Iterator[_Item]:
        row = 0
        for batch in self._file.iter_batches(batch_size=self.batch_size, use_threads=False):
            for values in batch.to_pylist():
                row += 1
                self.done = row
                data = {}
                for name, value in values.items():
                    if value is None or (isinstance(value, float) and value != value):
                        data[name] = None  # null, or NaN (how pandas writes a gap)
                    elif (
                        name in OBJECT_FIELDS
                        and isinstance(value, list)
                        and all(isinstance(p, tuple) and len(p) == 2 for p in value)
                    ):
                        data[name] = dict(value)  # a Parquet map column
                    else:
                        data[name] = value
                size, objects = _row_size(data, self.limits.max_record_bytes)
                if size > self.limits.max_record_bytes:
                    yield _Item(row, None, self.too_large(size),
                                text=f"(a Parquet row of {size:,} bytes)", size=size)
                    continue
                typed, problems = from_text_cells(data)
                if problems:
                    yield _Item(row, None, "; ".join(problems), raw=data)
                    continue
                data = typed
                # object cells are not measured: payload and headers are then measured
                # by validate_record itself
                yield _Item(row, data, size=None if objects else size)


def _reader(path: Path, fmt: str, batch_size: int, limits: LimitSettings) -> _Reader:
    cls = {"jsonl": _JsonLinesReader, "csv": _CsvReader, "parquet": _ParquetReader}[fmt]
    return cls(path, batch_size, limits)


# --- the import --------------------------------------------------------------------------


def default_reject_path(path: str | os.PathLike) -> Path:
    return Path(f"{path}.rejects.jsonl")


def _validated(
    items: Iterator[_Item], limits: LimitSettings, cuts: Counter | None = None
) -> Iterator[tuple[_Item, dict | None, str | None]]:
    for item in items:
        if item.error is not None:
            yield item, None, item.error
            continue
        try:
            row = validate_record(item.data, plain_json=item.plain_json, limits=limits,
                                  cuts=cuts, size_hint=item.size)
            yield item, row, None
        except InvalidRecord as exc:
            yield item, None, str(exc)


class _IdLog:
    """The ids of a file's records, as 128-bit hashes (16 bytes each, whatever the id's
    length), and their lines; :meth:`repeats` finds the ids seen before."""

    def __init__(self) -> None:
        self.digests = bytearray()
        self.lines = array("q")

    def add(self, delivery_id: str, line: int) -> None:
        self.digests += hashlib.blake2b(delivery_id.encode("utf-8", "surrogatepass"),
                                        digest_size=16).digest()
        self.lines.append(line)

    def repeats(self) -> dict[int, int]:
        """{line of a repeat: line of the id's first record}."""
        n = len(self.lines)
        if n < 2:
            return {}
        halves = np.frombuffer(bytes(self.digests), dtype="<u8").reshape(n, 2)
        order = np.lexsort((halves[:, 1], halves[:, 0]))
        high, low = halves[order, 0], halves[order, 1]
        same = (high[1:] == high[:-1]) & (low[1:] == low[:-1])
        if not same.any():
            return {}
        lines = np.frombuffer(self.lines, dtype=np.int64)[order]
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        group = np.cumsum(np.concatenate(([0], ~same)))  # group of each sorted record
        first = np.minimum.reduceat(lines, starts)[group]  # its id's first line
        repeat = lines != first
        return dict(zip(lines[repeat].tolist(), first[repeat].tolist(), strict=True))


def repeat_reason(delivery_id: str, first_line: int, unit: str = "line") -> str:
    return (f"id {delivery_id!r} repeats {unit} {first_line} (one record per id in a file; "
            "--last-wins applies them in order instead)")


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _ticker(progress: Progress | None, phase: str, reader: _Reader) -> Callable[[], None]:
    if progress is None:
        return lambda force=False: None
    state = {"last": 0.0}

    def tick(force: bool = False) -> None:
        moment = time.monotonic()
        if force or moment - state["last"] >= 0.2:
            state["last"] = moment
            progress(phase, reader.done, reader.total)

    return tick


def _ids_of(reader: _Reader, lines: set[int]) -> dict[int, str]:
    """The ids of the records on ``lines`` (to name a repeated id in its message)."""
    found: dict[int, str] = {}
    for item in reader.items():
        if item.line in lines and item.data is not None:
            found[item.line] = str(item.data.get("id"))
            if len(found) == len(lines):
                break
    return found


def import_file(
    engine: Engine,
    path: str | os.PathLike,
    *,
    now: datetime,
    actor: str = "cli",
    skip_invalid: bool = False,
    reject_path: str | os.PathLike | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    last_wins: bool = False,
    limits: LimitSettings | None = None,
) -> ImportReport:
    """Import one file (see the module docstring). Raises :class:`ImportFailed` for a
    file that cannot be read and :class:`InvalidRecords` for bad records (by default).

    ``actor`` is the operator's name, or ``"cli"`` (recorded as a system actor).
    ``last_wins``: an id repeated in the file is not an error; its last record wins.
    ``limits``: the size limits (default: the settings' ``limits``).
    """
    path = Path(path)
    if batch_size < 1:
        raise ImportFailed(f"batch size must be >= 1, got {batch_size}")
    if not path.exists():
        raise ImportFailed(f"{path}: no such file")
    if not path.is_file():
        raise ImportFailed(f"{path}: not a file")
    if limits is None:
        from intel.settings import get_settings

        limits = get_settings().limits
    fmt = detect_format(path)
    started = time.perf_counter()
    report = ImportReport(path=str(path), format=fmt)
    stamp = _stamp(path)

    repeats: dict[int, int] = {}  # line of a repeated id -> line of its first record
    if not skip_invalid or not last_wins:
        reader = _reader(path, fmt, batch_size, limits)
        tick = _ticker(progress, "validate", reader)
        ids = None if last_wins else _IdLog()
        for item, row, reason in _validated(reader.items(), limits):
            report.read += 1
            if reason is not None:
                report.rejected += 1
                if len(report.issues) < MAX_ISSUES:
                    report.issues.append(RecordIssue(item.line, reason))
            elif ids is not None:
                ids.add(row["id"], item.line)
            tick()
        tick(True)
        if ids is not None:
            repeats = ids.repeats()
            del ids
        if not skip_invalid and repeats:
            named = _ids_of(_reader(path, fmt, batch_size, limits), set(repeats))
            report.rejected += len(repeats)
            report.repeated = len(repeats)
            report.issues.extend(
                RecordIssue(line, repeat_reason(named.get(line, "?"), first, report.unit))
                for line, first in sorted(repeats.items())[:MAX_ISSUES]
            )
            report.issues = sorted(report.issues, key=lambda issue: issue.line)[:MAX_ISSUES]
        if not skip_invalid and report.rejected:
            report.seconds = time.perf_counter() - started
            raise InvalidRecords(report)

    final_reject = None
    part_reject = None
    if skip_invalid:
        final_reject = Path(reject_path) if reject_path else default_reject_path(path)
        part_reject = final_reject.with_name(final_reject.name + ".part")
    report.read = report.written = report.rejected = report.repeated = 0
    report.issues = []
    cuts: Counter = Counter()
    reject_handle = None
    try:
        if part_reject is not None:
            reject_handle = open(part_reject, "w", encoding="utf-8")  # noqa: SIM115
        with engine.begin() as conn:
            reader = _reader(path, fmt, batch_size, limits)
            tick = _ticker(progress, "write", reader)
            batch: dict[str, dict] = {}
            for item, row, reason in _validated(reader.items(), limits, cuts):
                report.read += 1
                if reason is None and item.line in repeats:
                    reason = repeat_reason(row["id"], repeats[item.line], report.unit)
                    report.repeated += 1
                if reason is not None:
                    if not skip_invalid:
                        raise ImportFailed(
                            f"{path}: changed while importing ({report.unit} {item.line}: "
                            f"{reason}); nothing written"
                        )
                    report.rejected += 1
                    if len(report.issues) < MAX_ISSUES:
                        report.issues.append(RecordIssue(item.line, reason))
                    _write_reject(reject_handle, item, reason)
                    continue
                report.written += 1
                if row["id"] in batch:  # the same id again (last_wins): apply in order
                    upsert_deliveries(conn, list(batch.values()), now=now, limits=limits)
                    batch.clear()
                batch[row["id"]] = row
                if len(batch) >= batch_size:
                    upsert_deliveries(conn, list(batch.values()), now=now, limits=limits)
                    batch.clear()
                tick()
            if batch:
                upsert_deliveries(conn, list(batch.values()), now=now, limits=limits)
            tick(True)
            if _stamp(path) != stamp:
                raise ImportFailed(f"{path}: changed while importing; nothing written")
            report.truncated = sum(cuts.values())
            report.truncated_fields = dict(cuts)
            report.seconds = time.perf_counter() - started
            if final_reject is not None:
                report.reject_path = str(final_reject)
            _audit(conn, report, actor=actor, now=now, skip_invalid=skip_invalid)
            if reject_handle is not None:
                reject_handle.close()
                reject_handle = None
                os.replace(part_reject, final_reject)
    except BaseException:
        report.reject_path = None
        if reject_handle is not None:
            reject_handle.close()
        if part_reject is not None and part_reject.exists():
            part_reject.unlink()
        raise
    report.committed = True
    report.seconds = time.perf_counter() - started
    return report


def _write_reject(handle, item: _Item, reason: str) -> None:
    entry: dict[str, Any] = {"line": item.line, "reason": reason}
    if item.data is not None or item.raw is not None:
        entry["record"] = item.data if item.data is not None else item.raw
    else:
        entry["text"] = item.text
    try:
        handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
    except UnicodeEncodeError:  # an unpaired surrogate: keep it escaped, as the file had it
        handle.write(json.dumps(entry, ensure_ascii=True, default=str) + "\n")


def _audit(conn, report: ImportReport, *, actor: str, now: datetime, skip_invalid: bool) -> None:
    actor = (actor or "cli").strip() or "cli"
    details = report.to_dict()
    details["skip_invalid"] = skip_invalid
    record(
        conn,
        actor=actor,
        action="import.file",
        at=now,
        target_type="file",
        target_id=report.path,
        summary=(
            f"Imported {report.written:,} deliveries from {Path(report.path).name}"
            + (f" ({report.rejected:,} rejected)" if report.rejected else "")
        ),
        details=details,
        actor_kind="system" if actor in ("cli", SYSTEM) else "operator",
    )
