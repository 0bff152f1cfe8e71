"""Importing a file of delivery records (CONTRACTS §1): JSON Lines, CSV or Parquet.

``import_file(engine, path, ...)`` is the whole import; ``python -m intel import`` is a
thin shell around it. The file is streamed, never held in memory: JSON Lines and CSV
line by line, Parquet by record batches of its row groups (memory is bounded by the
file's row-group size).

One pass, all or nothing. The file is read once: records are validated and written in
batches inside ONE transaction, together with the ``import.file`` audit event, so a
failure half-way (the database, the disk, the file changing under us) leaves nothing
behind. By default nothing of a file with an invalid record may be written: at the
first bad record writing stops, the rest of the file is still validated so that
:class:`InvalidRecords` carries every bad record's line (row for Parquet) and reason,
and the transaction is rolled back. The price of reading once: a bad file holds a
write transaction until its first bad record (on SQLite, the single write lock; other
writers wait up to the 30 s busy timeout), and a good file holds it for the whole
import: import big files into SQLite while the live simulator is stopped, or use
PostgreSQL, where only the imported rows are locked.

With ``skip_invalid`` valid records are written and rejected ones go to the reject
file, one JSON object a line, in file order: ``{"line": 12, "reason": "...",
"record": {...}}`` (``"text"`` instead of ``"record"`` when the line was not a JSON
object). The reject file is written next to its final name and moved into place when
the import commits, so it always describes the committed import; it is written even
when empty, so it never describes an older run.

Importing the same id again updates that delivery (``upsert_deliveries``). Within one
file an id may appear once: a repeat is an error naming both lines (``line 7: id 'd-1'
repeats line 3``; with ``skip_invalid`` the repeat goes to the reject file and the first
stays), unless ``last_wins``: then the records are applied in file order, the last
record of an id wins and every attempt number the file shows is in the attempts
timeline. Repeats are found as each batch is read, from a 128-bit hash of each id (16
bytes a record, not the ids themselves, so memory stays bounded: see :class:`_IdLog`).

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

#: ``progress(phase, done, total)``: phase "write", or "validate" once a bad record has
#: stopped the writing; units are bytes for JSON Lines and CSV, rows for Parquet.
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


def _digest(delivery_id: str) -> bytes:
    return hashlib.blake2b(delivery_id.encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


class _IdLog:
    """The first line of every id of a file, kept as 128-bit hashes (16 bytes an id, plus
    8 for its line, whatever the id's length), checked a batch at a time as the file is
    read.

    The hashes sit in sorted runs, merged like a binary counter (a run is merged into the
    one before it while that one is at most twice its size), so a file of n ids costs
    O(n log n) sorting in all and a batch is looked up in O(log n) runs by binary search.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, their lines)

    def check(self, digests: list[bytes], lines: list[int]) -> list[int | None]:
        """For each record of the batch (in file order), the line of an earlier record
        with its id, or None; the ids seen for the first time are remembered."""
        n = len(digests)
        if not n:
            return []
        keys = np.frombuffer(b"".join(digests), dtype="S16")
        at = np.asarray(lines, dtype=np.int64)
        first = np.full(n, -1, dtype=np.int64)
        for run_keys, run_lines in self._runs:
            pos = np.searchsorted(run_keys, keys)
            pos[pos == len(run_keys)] = 0
            hit = run_keys[pos] == keys
            first[hit] = run_lines[pos[hit]]
        # repeats within the batch: a stable sort keeps each id's records in file order
        order = np.argsort(keys, kind="stable")
        ranked = keys[order]
        later = np.concatenate(([False], ranked[1:] == ranked[:-1]))
        if later.any():
            group_start = np.flatnonzero(~later)
            leader = order[group_start[np.cumsum(~later) - 1]]  # each record's first
            within = order[later]
            unseen = first[within] < 0
            first[within[unseen]] = at[leader[later][unseen]]
        new = first < 0
        if new.any():
            self._add(keys[new], at[new])
        return [None if f < 0 else f for f in first.tolist()]

    def _add(self, keys: np.ndarray, lines: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], lines[order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k2, l2), (k1, l1) = self._runs.pop(), self._runs.pop()
            keys, lines = np.concatenate((k1, k2)), np.concatenate((l1, l2))
            order = np.argsort(keys, kind="stable")
            self._runs.append((keys[order], lines[order]))


def repeat_reason(delivery_id: str, first_line: int, unit: str = "line") -> str:
    return (f"id {delivery_id!r} repeats {unit} {first_line} (one record per id in a file; "
            "--last-wins applies them in order instead)")


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _ticker(
    progress: Progress | None, phase: Callable[[], str], reader: _Reader
) -> Callable[..., None]:
    if progress is None:
        return lambda force=False: None
    state = {"last": 0.0}

    def tick(force: bool = False) -> None:
        moment = time.monotonic()
        if force or moment - state["last"] >= 0.2:
            state["last"] = moment
            progress(phase(), reader.done, reader.total)

    return tick


class _Pass:
    """The one pass over a file: validated records are held a batch at a time, checked
    for repeated ids, then written (or, once the import is refused, only reported)."""

    def __init__(self, conn, report: ImportReport, *, now: datetime, limits: LimitSettings,
                 skip_invalid: bool, last_wins: bool, batch_size: int, reject_handle):
        self.conn = conn
        self.report = report
        self.now = now
        self.limits = limits
        self.skip_invalid = skip_invalid
        self.batch_size = batch_size
        self.reject_handle = reject_handle
        self.ids = None if last_wins else _IdLog()
        self.writing = True  # False once a bad record refuses the file (not skip_invalid)
        self.pending: list[tuple[_Item, dict | None, str | None]] = []

    def add(self, item: _Item, row: dict | None, reason: str | None) -> None:
        self.report.read += 1
        self.pending.append((item, row, reason))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        valid = [(item, row) for item, row, reason in pending if reason is None]
        firsts: dict[int, int] = {}
        if self.ids is not None and valid:
            found = self.ids.check([_digest(row["id"]) for _, row in valid],
                                   [item.line for item, _ in valid])
            firsts = {item.line: f for (item, _), f in zip(valid, found, strict=True)
                      if f is not None}
        report = self.report
        unit = report.unit
        rows: list[dict] = []
        for item, row, reason in pending:
            if reason is None and item.line in firsts:
                reason = repeat_reason(row["id"], firsts[item.line], unit)
                report.repeated += 1
            if reason is None:
                rows.append(row)
                continue
            report.rejected += 1
            if len(report.issues) < MAX_ISSUES:
                report.issues.append(RecordIssue(item.line, reason))
            if self.skip_invalid:
                _write_reject(self.reject_handle, item, reason)
            else:
                self.writing = False  # the file is refused: validate the rest, write none
        if self.writing and rows:
            self._write(rows)

    def _write(self, rows: list[dict]) -> None:
        batch: dict[str, dict] = {}
        for row in rows:
            if row["id"] in batch:  # the same id again (last_wins): apply in order
                upsert_deliveries(self.conn, list(batch.values()), now=self.now,
                                  limits=self.limits)
                batch.clear()
            batch[row["id"]] = row
        upsert_deliveries(self.conn, list(batch.values()), now=self.now, limits=self.limits)
        self.report.written += len(rows)


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
    ``progress``: called with phase "write" while records are written and "validate"
    once a bad record has stopped the writing (the rest is only checked).
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

    final_reject = None
    part_reject = None
    if skip_invalid:
        final_reject = Path(reject_path) if reject_path else default_reject_path(path)
        part_reject = final_reject.with_name(final_reject.name + ".part")
    cuts: Counter = Counter()
    reject_handle = None
    try:
        if part_reject is not None:
            reject_handle = open(part_reject, "w", encoding="utf-8")  # noqa: SIM115
        reader = _reader(path, fmt, batch_size, limits)
        with engine.begin() as conn:
            one = _Pass(conn, report, now=now, limits=limits, skip_invalid=skip_invalid,
                        last_wins=last_wins, batch_size=batch_size,
                        reject_handle=reject_handle)
            tick = _ticker(progress, lambda: "write" if one.writing else "validate", reader)
            for item, row, reason in _validated(reader.items(), limits, cuts):
                one.add(item, row, reason)
                tick()
            one.flush()
            tick(True)
            if not skip_invalid and report.rejected:
                report.written = 0  # rolled back with the transaction
                report.seconds = time.perf_counter() - started
                raise InvalidRecords(report)
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
