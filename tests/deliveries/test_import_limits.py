"""Hostile import files: size limits (cut with a marker and counted, or the record
rejected with its line), ids repeated within one file (an error naming both lines, or
--last-wins), characters no store holds; JSON Lines, CSV and Parquet; SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.cli import main
from intel.deliveries.caps import (
    MARKER,
    TRUNCATED_HEADER,
    cap_headers,
    cut_chars,
    cut_text,
    payload_bytes,
)
from intel.deliveries.importer import InvalidRecords, import_file
from intel.deliveries.record import InvalidRecord, validate_record
from intel.deliveries.write import upsert_deliveries
from intel.settings.limits import LimitSettings
from intel.store.schema import deliveries
from tests.deliveries.test_delivery_import import (
    CSV_HEADER,
    count,
    record,
    stored,
    write_csv,
    write_jsonl,
)

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
SMALL = LimitSettings(max_body_bytes=256, max_error_bytes=256, max_headers_bytes=512,
                      max_payload_bytes=1024, max_record_bytes=4096)


# --- the cutting functions (pure) -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "kept", "cut"),
    [
        ("short", 256, "short", 0),
        # the marker counts within the limit: 24 bytes reserved for "…[truncated 300 bytes]"
        ("x" * 300, 256, "x" * 232, 68),
        ("é" * 200, 256, "é" * 116, 168),  # 2-byte characters: never half of one
        ("a" + "€" * 100, 256, "a" + "€" * 77, 69),
        ("😀" * 100, 256, "😀" * 58, 168),
    ],
)
def test_cut_text(text, limit, kept, cut):
    got, n = cut_text(text, limit)
    assert n == cut
    assert got == (kept + MARKER.format(n=cut) if cut else text)
    assert len(got.encode()) <= limit
    assert cut_text(got, limit) == (got, 0)  # cutting again changes nothing


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("abc", 3, "abc"), ("abcdef", 3, "abc…[truncated 3 characters]"), (None, 3, None),
     ("é" * 5, 2, "éé…[truncated 3 characters]")],
)
def test_cut_chars_for_the_api(text, limit, expected):
    assert cut_chars(text, limit) == expected


def test_cap_headers_keeps_what_fits_and_says_what_was_cut():
    headers = {"Retry-After": "30", "X-Big": "v" * 2000, **{f"X-{i}": "w" * 50 for i in range(20)}}
    capped, cut = cap_headers(headers, 512)
    assert capped["Retry-After"] == "30"
    assert capped["X-Big"].startswith("vvv") and "…[truncated" in capped["X-Big"]
    assert "header(s) dropped" in capped[TRUNCATED_HEADER] and cut > 0
    assert len(json.dumps(capped, ensure_ascii=False).encode()) <= 512
    assert cap_headers(capped, 512) == (capped, 0)
    assert cap_headers({"a": "b"}, 512) == ({"a": "b"}, 0)
    nested, cut = cap_headers({"a": {"deep": ["x" * 1000]}, "b": "c"}, 300)
    assert "a" not in nested and cut > 0  # an object value cannot be cut: dropped


@pytest.mark.parametrize(
    ("payload", "size"),
    [(None, 0), ("abc", 3), ("é", 2), ({"a": 1}, 7), ([1, "é"], 8)],
)
def test_payload_bytes_is_what_a_replay_sends(payload, size):
    assert payload_bytes(payload) == size


def test_validate_record_cuts_and_counts():
    cuts = Counter()
    row = validate_record(
        {**record(1), "response_body": "b" * 1000, "error": "e" * 300,
         "response_headers": {f"H{i}": "v" * 40 for i in range(30)}},
        limits=SMALL, cuts=cuts)
    assert row["response_body"] == "b" * 231 + MARKER.format(n=769)
    assert row["error"] == "e" * 232 + "…[truncated 68 bytes]"
    assert TRUNCATED_HEADER in row["response_headers"]
    assert cuts == {"response_body": 1, "error": 1, "response_headers": 1}


@pytest.mark.parametrize(
    ("over", "problem"),
    [
        ({"payload": {"blob": "x" * 2000}}, "payload: 2,011 bytes, larger than "
                                            "limits.max_payload_bytes (1,024)"),
        ({"payload": "y" * 1025}, "payload: 1,025 bytes"),
        ({"id": "d\ud800"}, "id: contains an unpaired surrogate (\\ud800)"),
        ({"payload": {"k": "\udfff"}}, "payload: contains an unpaired surrogate (\\udfff)"),
        ({"payload": "\ud83d"}, "payload: contains an unpaired surrogate"),
    ],
)
def test_validate_record_refuses(over, problem):
    with pytest.raises(InvalidRecord) as info:
        validate_record({**record(1), **over}, limits=SMALL)
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems


def test_unpaired_surrogates_in_evidence_are_replaced():
    row = validate_record({**record(1), "response_body": "a\ud800b", "error": "\udc00"})
    assert (row["response_body"], row["error"]) == ("a\ufffdb", "\ufffd")


# --- import files ---------------------------------------------------------------------


def test_oversized_values_are_cut_with_a_marker_and_counted(engine, tmp_path):
    big = {**record(1), "response_body": "<html>" + "x" * 5000, "error": "e" * 400,
           "response_headers": {f"X-Header-{i}": "v" * 60 for i in range(40)}}
    path = write_jsonl(tmp_path / "big.jsonl", [big, record(2)])
    report = import_file(engine, path, now=NOW,
                         limits=LimitSettings(max_body_bytes=1024, max_error_bytes=256,
                                              max_headers_bytes=1024))
    assert (report.written, report.truncated) == (2, 3)
    assert report.truncated_fields == {"response_body": 1, "error": 1, "response_headers": 1}
    assert "3 value(s) cut to the size limits" in report.summary()
    one = stored(engine, "d1")
    assert one["response_body"] == ("<html>" + "x" * 5000)[:999] + "…[truncated 4007 bytes]"
    assert one["error"] == "e" * 232 + "…[truncated 168 bytes]"
    assert TRUNCATED_HEADER in one["response_headers"]
    assert stored(engine, "d2")["response_body"] == "<html>503</html>"  # untouched
    events, _ = list_events(engine, AuditFilter(action_prefix="import"))
    assert events[0]["details"]["truncated"] == 3


def test_the_settings_limits_apply_by_default(engine, tmp_path):
    path = write_jsonl(tmp_path / "big.jsonl", [{**record(1), "response_body": "z" * 70000}])
    report = import_file(engine, path, now=NOW)  # limits.max_body_bytes: 64 KiB
    assert report.truncated == 1
    body = stored(engine, "d1")["response_body"]
    assert body == "z" * 65510 + "…[truncated 4490 bytes]"
    assert len(body.encode()) <= 65536


def test_an_oversized_payload_rejects_its_record_never_cuts_it(engine, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl",
                       [record(1), {**record(2), "payload": {"blob": "x" * 3000}}, record(3)])
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, limits=SMALL)
    [issue] = info.value.report.issues
    assert issue.line == 2 and "larger than limits.max_payload_bytes" in issue.reason
    assert count(engine) == 0
    report = import_file(engine, path, now=NOW, limits=SMALL, skip_invalid=True)
    assert (report.written, report.rejected) == (2, 1)
    rejects = _rejects(report)
    assert rejects[0]["line"] == 2 and rejects[0]["record"]["payload"]["blob"] == "x" * 3000


def test_an_oversized_jsonl_record_is_rejected_with_its_line(engine, tmp_path):
    huge = json.dumps({**record(2), "response_body": "y" * 20000, "ignored": "z" * 50000})
    path = write_jsonl(tmp_path / "r.jsonl", [record(1), record(2), record(3)],
                       raw_lines={2: huge})
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, limits=SMALL)
    [issue] = info.value.report.issues
    assert issue.line == 2
    assert issue.reason.startswith(f"record is {len(huge):,} bytes, larger than "
                                   "limits.max_record_bytes (4,096)")
    report = import_file(engine, path, now=NOW, limits=SMALL, skip_invalid=True)
    assert (report.read, report.written, report.rejected) == (3, 2, 1)
    assert count(engine) == 2
    [reject] = _rejects(report)
    assert reject["line"] == 2 and len(reject["text"]) < 1100  # a prefix, not the record


def test_an_oversized_csv_record_is_rejected_with_its_line(engine, tmp_path):
    row = ["c{}", "acme", "https://a.example/h", "failed", "503", "", "", "body", "1",
           "2026-11-05T10:00:00Z", "", '{"a": 1}', ""]
    rows = [[c.format(i) if i == 0 else c for i, c in enumerate(row)] for _ in range(3)]
    rows = [[f"c{n}", *r[1:]] for n, r in enumerate(rows, 1)]
    rows[1][7] = "multi\nline\n" + "q" * 6000  # a quoted field over several lines
    path = write_csv(tmp_path / "r.csv", CSV_HEADER, rows)
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, limits=SMALL)
    [issue] = info.value.report.issues
    assert issue.line == 3 and "larger than limits.max_record_bytes" in issue.reason
    report = import_file(engine, path, now=NOW, limits=SMALL, skip_invalid=True)
    assert (report.written, report.rejected) == (2, 1)
    assert sorted(r["id"] for r in _all(engine)) == ["c1", "c3"]


def test_an_oversized_parquet_row_is_rejected_with_its_row(engine, tmp_path):
    recs = [record(1), {**record(2), "response_body": "p" * 9000}, record(3)]
    table = pa.table({k: [json.dumps(r[k]) if isinstance(r[k], dict) else r[k] for r in recs]
                      for k in ("id", "tenant", "endpoint", "status", "created_at",
                                "response_body", "payload")})
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, limits=SMALL)
    [issue] = info.value.report.issues
    assert issue.line == 2 and "larger than limits.max_record_bytes" in issue.reason


def _rejects(report) -> list[dict]:
    with open(report.reject_path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _all(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(deliveries)).mappings()]


def test_unpaired_surrogates_never_break_the_import(engine, tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [record(1), record(2), record(3)], raw_lines={
        2: json.dumps({**record(2), "response_body": "x"}).replace('"x"', '"bad \\ud800 body"'),
        3: json.dumps({**record(3), "payload": {"k": "v"}}).replace('"v"', '"\\udfff"'),
    })
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW)
    [issue] = info.value.report.issues
    assert issue.line == 3 and "unpaired surrogate" in issue.reason
    report = import_file(engine, path, now=NOW, skip_invalid=True)
    assert report.written == 2
    assert stored(engine, "d2")["response_body"] == "bad \ufffd body"


# --- ids repeated within one file -------------------------------------------------------


def test_a_repeated_id_in_jsonl_names_both_lines(engine, tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl",
                       [record(1), record(2), record(3, id="d1"), record(4), record(5, id="d2"),
                        record(6, id="d1")])
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW)
    reasons = {i.line: i.reason for i in info.value.report.issues}
    assert sorted(reasons) == [3, 5, 6]
    assert reasons[3].startswith("id 'd1' repeats line 1")
    assert reasons[5].startswith("id 'd2' repeats line 2")
    assert reasons[6].startswith("id 'd1' repeats line 1")
    assert "line 3: id 'd1' repeats line 1" in str(info.value)
    assert count(engine) == 0


def test_repeats_with_skip_invalid_keep_the_first(engine, tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl",
                       [record(1, http_status=500), record(2), record(3, id="d1",
                                                                      http_status=502)])
    report = import_file(engine, path, now=NOW, skip_invalid=True)
    assert (report.written, report.rejected, report.repeated) == (2, 1, 1)
    assert stored(engine, "d1")["http_status"] == 500
    [reject] = _rejects(report)
    assert reject["line"] == 3 and reject["reason"].startswith("id 'd1' repeats line 1")


def test_last_wins_applies_repeats_in_order(engine, tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl",
                       [record(1, http_status=500), record(2), record(3, id="d1",
                                                                      http_status=502)])
    report = import_file(engine, path, now=NOW, last_wins=True)
    assert (report.written, report.rejected) == (3, 0)
    assert stored(engine, "d1")["http_status"] == 502


def test_a_repeated_id_in_csv_names_both_lines(engine, tmp_path):
    row = ["acme", "https://a.example/h", "failed", "503", "", "", "b", "1",
           "2026-11-05T10:00:00Z", "", "", ""]
    path = write_csv(tmp_path / "dup.csv", CSV_HEADER,
                     [["c1", *row], ["c2", *row[:6], "two\nlines", *row[7:]], ["c1", *row]])
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW)
    [issue] = info.value.report.issues
    assert issue.line == 5 and issue.reason.startswith("id 'c1' repeats line 2")
    assert import_file(engine, path, now=NOW, last_wins=True).written == 3


def test_a_repeated_id_in_parquet_names_both_rows(sqlite_engine, tmp_path):
    recs = [record(1), record(2), record(3, id="d1")]
    table = pa.table({k: [r[k] for r in recs]
                      for k in ("id", "tenant", "endpoint", "status", "created_at")})
    path = tmp_path / "dup.parquet"
    pq.write_table(table, path)
    with pytest.raises(InvalidRecords) as info:
        import_file(sqlite_engine, path, now=NOW)
    [issue] = info.value.report.issues
    assert issue.line == 3 and issue.reason.startswith("id 'd1' repeats row 1")


def test_cli_last_wins_flag(sqlite_url, tmp_path, capsys):
    path = write_jsonl(tmp_path / "dup.jsonl", [record(1), record(2, id="d1")])
    assert main(["import", str(path), "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "line 2: id 'd1' repeats line 1" in err
    assert main(["import", str(path), "--db", sqlite_url, "--last-wins"]) == 0
    assert "written 2" in capsys.readouterr().out


def test_any_writer_is_capped(engine):
    """The write path itself keeps stored values to the limits (a backstop for writers
    other than the import)."""
    from tests.replay.replay_helpers import delivery

    with engine.begin() as conn:
        upsert_deliveries(conn, [delivery("w1", "https://a.example/",
                                          response_body="r" * 1000, error="e" * 1000)],
                          now=NOW, limits=SMALL)
    row = stored(engine, "w1")
    assert row["response_body"] == "r" * 231 + "…[truncated 769 bytes]"
    assert row["error"] == "e" * 231 + "…[truncated 769 bytes]"


@pytest.mark.parametrize(
    ("data", "key"),
    [({"limits": {"max_body_bytes": 10}}, "limits.max_body_bytes"),
     ({"limits": {"max_record_bytes": "big"}}, "limits.max_record_bytes"),
     ({"limits": {"max_payload": 1}}, "unknown key 'limits.max_payload'")],
)
def test_bad_limits_name_the_key(data, key):
    from intel.settings import SettingsError, parse_settings

    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        parse_settings(data)
