"""The one-pass import: a file is read once, validated and written in batches inside one
transaction; a refused file is still validated to its end and leaves nothing; repeated ids
are found batch by batch (``_IdLog``), across batch boundaries as within one batch."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from intel.audit import list_events
from intel.deliveries.importer import InvalidRecords, _digest, _IdLog, import_file
from intel.deliveries.record import loads_json
from intel.store.schema import delivery_attempts
from tests.deliveries.test_delivery_import import count, record, stored, write_jsonl

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)


def _reference_firsts(ids: list[str]) -> list[int | None]:
    seen: dict[str, int] = {}
    out = []
    for line, delivery_id in enumerate(ids, 1):
        out.append(seen.get(delivery_id))
        seen.setdefault(delivery_id, line)
    return out


@pytest.mark.parametrize(
    ("ids", "batch"),
    [
        ([], 3),
        (["a"], 1),
        (["a", "a", "a"], 1),  # every repeat names the first line, batch after batch
        (["a", "a", "a"], 3),  # ... and within one batch
        (["a", "b", "a", "c", "b", "a"], 2),
        (["a", "b", "a", "c", "b", "a"], 4),
        (["x" * 200, "x" * 199 + "y", "x" * 200], 1),  # long ids, one character apart
        ([f"id{random.Random(n).randrange(300)}" for n in range(2000)], 7),  # many runs
        ([f"id{random.Random(n).randrange(300)}" for n in range(2000)], 1000),
        ([f"u{n}" for n in range(5000)], 1),  # no repeat, runs merged all the way
    ],
)
def test_id_log_names_each_ids_first_line(ids, batch):
    log = _IdLog()
    found: list[int | None] = []
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        found += log.check([_digest(i) for i in chunk],
                           list(range(start + 1, start + len(chunk) + 1)))
    assert found == _reference_firsts(ids)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_repeats_across_and_within_batches(engine, tmp_path, batch_size):
    path = write_jsonl(tmp_path / "dup.jsonl",
                       [record(1), record(2), record(3, id="d1"), record(4),
                        record(5, id="d4"), record(6, id="d1")])
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, batch_size=batch_size)
    report = info.value.report
    assert [(i.line, i.reason[:21]) for i in report.issues] == [
        (3, "id 'd1' repeats line "), (5, "id 'd4' repeats line "), (6, "id 'd1' repeats line ")]
    assert [i.reason.split(" (")[0] for i in report.issues] == [
        "id 'd1' repeats line 1", "id 'd4' repeats line 4", "id 'd1' repeats line 1"]
    assert (report.read, report.rejected, report.repeated, report.written) == (6, 3, 3, 0)
    assert count(engine) == 0 and count(engine, delivery_attempts) == 0


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_a_late_bad_record_rolls_back_every_written_batch(engine, tmp_path, batch_size):
    """Batches before the first bad record were written in the transaction: all of it
    goes, and the records after it are still validated and reported."""
    records = [record(i) for i in range(1, 11)]
    path = write_jsonl(tmp_path / "late.jsonl", records,
                       raw_lines={8: json.dumps(record(8, status="odd")), 10: "{"})
    phases = []
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, batch_size=batch_size,
                    progress=lambda phase, done, total: phases.append(phase))
    report = info.value.report
    assert [i.line for i in report.issues] == [8, 10]
    assert (report.read, report.rejected, report.written, report.committed) == (10, 2, 0, False)
    assert count(engine) == 0 and count(engine, delivery_attempts) == 0
    assert list_events(engine)[1] == 0
    assert phases[-1] == "validate"  # once refused, the rest is only checked


def test_a_good_file_reports_the_write_phase_only(sqlite_engine, tmp_path):
    path = write_jsonl(tmp_path / "good.jsonl", [record(i) for i in range(1, 6)])
    phases = []
    report = import_file(sqlite_engine, path, now=NOW, batch_size=2,
                         progress=lambda phase, done, total: phases.append((phase, done, total)))
    assert report.written == 5
    assert {p for p, _, _ in phases} == {"write"}
    assert phases[-1][1] == phases[-1][2] == path.stat().st_size


def test_skip_invalid_keeps_the_reject_file_in_file_order(engine, tmp_path):
    """Invalid records and repeats interleaved over batch boundaries: the reject file and
    the issues follow the file; the first record of an id stays."""
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [record(1, http_status=500), record(2), record(3, id="d1"), record(4),
         record(5, status="bad"), record(6, id="d2"), record(7)],
        raw_lines={4: "oops"},
    )
    report = import_file(engine, path, now=NOW, skip_invalid=True, batch_size=2)
    assert (report.read, report.written, report.rejected, report.repeated) == (7, 3, 4, 2)
    with open(report.reject_path, encoding="utf-8") as handle:
        rejects = [json.loads(line) for line in handle]
    assert [r["line"] for r in rejects] == [3, 4, 5, 6]
    assert [i.line for i in report.issues] == [3, 4, 5, 6]
    assert rejects[0]["reason"].startswith("id 'd1' repeats line 1")
    assert rejects[3]["reason"].startswith("id 'd2' repeats line 2")
    assert stored(engine, "d1")["http_status"] == 500
    assert count(engine) == 3 and count(engine, delivery_attempts) == 3


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ('{"a": 1}', {"a": 1}),
        ("\ufeff{}", "Unexpected UTF-8 BOM"),  # a BOM on a later line: json.loads' message
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ('{"a": 1} x', "Extra data"),
        (b'{"a": 2}', {"a": 2}),
    ],
)
def test_loads_json(text, outcome):
    if isinstance(outcome, dict):
        assert loads_json(text) == outcome
    else:
        with pytest.raises(ValueError, match=outcome):
            loads_json(text)


def test_a_bom_on_a_later_line_is_bad_json_with_its_line(sqlite_engine, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text(json.dumps(record(1)) + "\n\ufeff" + json.dumps(record(2)) + "\n",
                    encoding="utf-8")
    with pytest.raises(InvalidRecords) as info:
        import_file(sqlite_engine, path, now=NOW)
    [issue] = info.value.report.issues
    assert issue.line == 2 and issue.reason.startswith("bad JSON: Unexpected UTF-8 BOM")
