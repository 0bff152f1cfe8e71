"""Importing JSON Lines, CSV and Parquet (CONTRACTS §1), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.cli import main
from intel.deliveries.importer import (
    ImportFailed,
    InvalidRecords,
    default_reject_path,
    import_file,
)
from intel.store.schema import deliveries, delivery_attempts

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)


def record(i: int, **over) -> dict:
    rec = {
        "id": f"d{i}",
        "tenant": "acme",
        "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid",
        "status": "failed",
        "http_status": 503,
        "error": None,
        "response_headers": {"Retry-After": "30"},
        "response_body": "<html>503</html>",
        "attempts": 1,
        "created_at": f"2026-11-05T10:{i % 60:02d}:00Z",
        "duration_ms": 12.5,
        "payload": {"invoice": i, "lines": [{"amount": 10}]},
    }
    rec.update(over)
    return rec


def write_jsonl(path: Path, records: list, raw_lines: dict[int, str] | None = None) -> Path:
    """One record per line; ``raw_lines`` replaces given (1-based) lines with raw text."""
    lines = [json.dumps(r) for r in records]
    for number, text in (raw_lines or {}).items():
        lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def count(engine, table=deliveries) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def stored(engine, delivery_id: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))
            .mappings()
            .one()
        )


# --- JSON Lines ------------------------------------------------------------------------


def test_good_jsonl_is_written_with_every_field_and_audited(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "good.jsonl",
        [record(1, region="eu", shard=3), record(2, created_at="2026-11-05T10:02:00"),
         record(3, status="delivered", http_status=200, last_attempt_at="2026-11-05T11:00:00Z",
                attempts=2, payload="raw=1")],
    )
    report = import_file(engine, path, now=NOW, actor="alice")
    assert (report.read, report.written, report.rejected, report.committed) == (3, 3, 0, True)
    assert count(engine) == 3
    one = stored(engine, "d1")
    assert one["payload"] == {"invoice": 1, "lines": [{"amount": 10}]}
    assert one["response_headers"] == {"Retry-After": "30"}
    assert one["extra"] == {"region": "eu", "shard": 3}  # unknown fields kept
    assert one["last_attempt_at"] == one["created_at"]  # default
    assert stored(engine, "d2")["created_at"] == datetime(2026, 11, 5, 10, 2, tzinfo=UTC)
    three = stored(engine, "d3")
    assert (three["attempts"], three["payload"], three["extra"]) == (2, "raw=1", None)
    events, total = list_events(engine, AuditFilter(action_prefix="import"))
    assert total == 1
    assert events[0]["actor"] == "alice" and events[0]["actor_kind"] == "operator"
    assert events[0]["details"]["written"] == 3
    assert events[0]["target_id"] == str(path)


def test_bad_records_are_reported_by_line_and_nothing_is_written(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [record(i) for i in range(1, 8)],
        raw_lines={
            2: json.dumps(record(2, status="ok")),
            4: '{"id": "d4", "tenant": ',
            5: json.dumps(record(5, created_at="yesterday", attempts=0)),
            7: "[1, 2]",
        },
    )
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW, batch_size=2)
    report = info.value.report
    assert (report.read, report.rejected, report.written, report.committed) == (7, 4, 0, False)
    lines = {issue.line: issue.reason for issue in report.issues}
    assert sorted(lines) == [2, 4, 5, 7]
    assert "status: unknown status 'ok'" in lines[2]
    assert lines[4].startswith("bad JSON:")
    assert "created_at: not an RFC 3339 timestamp: 'yesterday'" in lines[5]
    assert "attempts: must be an integer >= 1, got 0" in lines[5]
    assert lines[7] == "a record must be a JSON object, got an array"
    assert "line 2: status" in str(info.value)
    assert count(engine) == 0 and count(engine, delivery_attempts) == 0
    assert list_events(engine)[1] == 0  # no audit event either


def test_duplicate_ids_update_never_duplicate(engine, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [record(1), record(2)])
    import_file(engine, first, now=NOW)
    second = write_jsonl(
        tmp_path / "b.jsonl",
        [record(1, status="pending", attempts=2),
         record(1, status="delivered", http_status=200, attempts=3),  # applied in order
         record(3)],
    )
    report = import_file(engine, second, now=NOW, batch_size=2, last_wins=True)
    assert report.written == 3
    assert count(engine) == 3
    one = stored(engine, "d1")
    assert (one["status"], one["attempts"], one["http_status"]) == ("delivered", 3, 200)
    # re-import: same rows, no new attempts
    again = import_file(engine, second, now=NOW, last_wins=True)
    assert again.written == 3 and count(engine) == 3
    with engine.connect() as conn:
        attempts = conn.execute(
            sa.select(delivery_attempts.c.attempt_no)
            .where(delivery_attempts.c.delivery_id == "d1")
            .order_by(delivery_attempts.c.attempt_no)
        ).scalars().all()
    assert attempts == [1, 2, 3]  # every attempt the files showed, once


def test_nul_and_nan_in_json_are_refused_with_their_line(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "nul.jsonl",
        [record(1), record(2), record(3)],
        raw_lines={
            2: json.dumps(record(2, payload={"note": "a\u0000b"})),
            3: json.dumps(record(3)).replace('"duration_ms": 12.5', '"duration_ms": NaN'),
        },
    )
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW)
    reasons = {i.line: i.reason for i in info.value.report.issues}
    assert "payload: contains a NUL character" in reasons[2]
    assert reasons[3] == "bad JSON: NaN is not valid JSON"


def test_blank_lines_bom_and_non_utf8(sqlite_engine, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(record(1)).encode() + b"\n\n   \n"
        + json.dumps(record(2, tenant="caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n"
    )
    with pytest.raises(InvalidRecords) as info:
        import_file(sqlite_engine, path, now=NOW)
    assert [(i.line, i.reason[:19]) for i in info.value.report.issues] == [
        (4, "not valid UTF-8 (by")
    ]
    assert info.value.report.read == 2


# --- skip-invalid and the reject file ------------------------------------------------------


def test_skip_invalid_writes_valid_ones_and_rejects_the_rest(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [record(1), record(2, status="weird"), record(3), record(4)],
        raw_lines={4: "not json"},
    )
    report = import_file(engine, path, now=NOW, skip_invalid=True)
    assert (report.read, report.written, report.rejected) == (4, 2, 2)
    assert report.reject_path == str(default_reject_path(path))
    assert count(engine) == 2
    rejects = [json.loads(line) for line in Path(report.reject_path).read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 4]
    assert "status: unknown status 'weird'" in rejects[0]["reason"]
    assert rejects[0]["record"]["id"] == "d2"
    assert rejects[1] == {"line": 4, "reason": rejects[1]["reason"], "text": "not json"}
    events, _ = list_events(engine, AuditFilter(action_prefix="import"))
    assert events[0]["details"]["rejected"] == 2
    assert events[0]["actor"] == "cli" and events[0]["actor_kind"] == "system"


def test_reject_file_is_rewritten_each_run_and_can_be_named(sqlite_engine, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [record(1), record(2, status="no")])
    named = tmp_path / "out" / "rejects.jsonl"
    named.parent.mkdir()
    report = import_file(sqlite_engine, path, now=NOW, skip_invalid=True, reject_path=named)
    assert report.reject_path == str(named) and len(named.read_text().splitlines()) == 1
    write_jsonl(path, [record(1), record(2)])
    report = import_file(sqlite_engine, path, now=NOW, skip_invalid=True, reject_path=named)
    assert report.rejected == 0 and named.read_text() == ""  # never an older run's rejects
    assert not named.with_name("rejects.jsonl.part").exists()


def test_a_file_changing_during_the_write_leaves_nothing(engine, tmp_path):
    path = write_jsonl(tmp_path / "moving.jsonl", [record(i) for i in range(1, 11)])

    def progress(phase, done, total):
        if phase == "write" and done:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record(99)) + "\n")

    with pytest.raises(ImportFailed, match="changed while importing"):
        import_file(engine, path, now=NOW, batch_size=2, progress=progress)
    assert count(engine) == 0


# --- CSV ---------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


CSV_HEADER = ["id", "tenant", "endpoint", "status", "http_status", "error",
              "response_headers", "response_body", "attempts", "created_at", "duration_ms",
              "payload", "region"]


def test_csv_import(engine, tmp_path):
    path = write_csv(tmp_path / "d.csv", CSV_HEADER, [
        ["c1", "acme", "https://a.example/h", "failed", "429", "",
         '{"Retry-After": "120"}', "slow down\nplease", "2", "2026-11-05T10:00:00Z", "3.5",
         '{"a": 1}', "eu"],
        ["c2", "acme", "https://a.example/h", "failed", "", "dial tcp: connection refused",
         "", "", "", "2026-11-05 10:01:00", "", "plain text payload", ""],
    ])
    report = import_file(engine, path, now=NOW)
    assert (report.written, report.rejected) == (2, 0)
    c1, c2 = stored(engine, "c1"), stored(engine, "c2")
    assert c1["http_status"] == 429 and c1["attempts"] == 2 and c1["duration_ms"] == 3.5
    assert c1["response_headers"] == {"Retry-After": "120"}
    assert c1["response_body"] == "slow down\nplease"
    assert c1["payload"] == {"a": 1} and c1["extra"] == {"region": "eu"}
    assert c2["http_status"] is None and c2["response_headers"] is None  # empty cell = null
    assert c2["attempts"] == 1 and c2["payload"] == "plain text payload"
    assert c2["created_at"] == datetime(2026, 11, 5, 10, 1, tzinfo=UTC)
    assert c2["extra"] is None


def test_csv_bad_rows_name_their_line(engine, tmp_path):
    path = write_csv(tmp_path / "bad.csv", CSV_HEADER, [
        ["c1", "acme", "https://a.example/h", "failed", "", "", "", "multi\nline\nbody", "",
         "2026-11-05T10:00:00Z", "", "", ""],  # lines 2-4
        ["c2", "acme", "https://a.example/h", "failed", "abc", "", "{bad", "", "",
         "2026-11-05T10:00:00Z", "", "", ""],  # line 5
        ["c3", "acme", "https://a.example/h", "failed"],  # line 6: too few cells
        ["c4", "", "https://a.example/h", "failed", "", "", "", "", "", "", "", "", ""],  # 7
    ])
    with pytest.raises(InvalidRecords) as info:
        import_file(engine, path, now=NOW)
    reasons = {i.line: i.reason for i in info.value.report.issues}
    assert sorted(reasons) == [5, 6, 7]
    assert "http_status: must be an integer, got 'abc'" in reasons[5]
    assert "response_headers: bad JSON in object field" in reasons[5]
    assert reasons[6] == "has 4 cells, the header has 13"
    assert "missing required field 'tenant'" in reasons[7]
    assert "missing required field 'created_at'" in reasons[7]
    assert count(engine) == 0


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["id", "tenant", "status", "created_at"], "the header has no endpoint column"),
        (["id", "tenant", "endpoint", "status", "created_at", "id"],
         "header column 'id' appears twice"),
        (["id", "", "tenant", "endpoint", "status", "created_at"], "header column 2 has no name"),
    ],
)
def test_csv_header_problems_stop_the_import(sqlite_engine, tmp_path, header, message):
    path = write_csv(tmp_path / "h.csv", header, [])
    with pytest.raises(ImportFailed, match=message):
        import_file(sqlite_engine, path, now=NOW)


# --- Parquet -----------------------------------------------------------------------------


def test_parquet_import_in_row_group_batches(engine, tmp_path):
    n = 25
    table = pa.table({
        "id": [f"p{i}" for i in range(n)],
        "tenant": ["acme"] * n,
        "endpoint": ["https://a.example/h"] * n,
        "status": ["failed"] * (n - 1) + ["delivered"],
        "http_status": pa.array([503.0] * (n - 2) + [None, 200.0]),  # a pandas-style gap
        "response_headers": pa.array(
            [[("Retry-After", "30")]] * n, pa.map_(pa.string(), pa.string())
        ),
        "payload": [json.dumps({"n": i}) for i in range(n)],
        "created_at": pa.array(
            [datetime(2026, 11, 5, 10, i % 60, tzinfo=UTC) for i in range(n)],
            pa.timestamp("ns", tz="UTC"),
        ),
        "last_attempt_at": pa.array(
            [datetime(2026, 11, 5, 11, i % 60) for i in range(n)], pa.timestamp("us")
        ),
        "batch": pa.array([i // 10 for i in range(n)], pa.int64()),
    })
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=10)
    report = import_file(engine, path, now=NOW, batch_size=4)
    assert (report.read, report.written, report.rejected, report.format) == (n, n, 0, "parquet")
    p0 = stored(engine, "p0")
    assert p0["http_status"] == 503 and p0["response_headers"] == {"Retry-After": "30"}
    assert p0["payload"] == {"n": 0} and p0["extra"] == {"batch": 0}
    assert p0["created_at"] == datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    assert p0["last_attempt_at"] == datetime(2026, 11, 5, 11, 0, tzinfo=UTC)  # naive: UTC
    assert stored(engine, f"p{n - 2}")["http_status"] is None


def test_parquet_bad_rows_and_schema(sqlite_engine, tmp_path):
    table = pa.table({
        "id": ["a", "b", "c"],
        "tenant": ["acme", None, "acme"],
        "endpoint": ["https://a.example/h"] * 3,
        "status": ["failed", "failed", "broken"],
        "created_at": ["2026-11-05T10:00:00Z", "2026-11-05T10:00:00Z", "2026-11-05T10:00:00Z"],
    })
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    with pytest.raises(InvalidRecords) as info:
        import_file(sqlite_engine, path, now=NOW)
    report = info.value.report
    assert report.unit == "row"
    assert {i.line: i.reason for i in report.issues} == {
        2: "missing required field 'tenant'",
        3: "status: unknown status 'broken' (expected delivered, failed or pending)",
    }
    pq.write_table(table.drop(["status"]), path)
    with pytest.raises(ImportFailed, match="the Parquet schema has no status column"):
        import_file(sqlite_engine, path, now=NOW)
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(ImportFailed, match="not a readable Parquet file"):
        import_file(sqlite_engine, tmp_path / "fake.parquet", now=NOW)


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.jsonl", "no such file"), ("records.txt", "unknown file type '.txt'")],
)
def test_file_problems(sqlite_engine, tmp_path, name, message):
    if name.endswith(".txt"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(ImportFailed, match=message):
        import_file(sqlite_engine, tmp_path / name, now=NOW)


# --- the command -----------------------------------------------------------------------------


def test_cli_imports_and_prints_a_summary(sqlite_url, tmp_path, capsys):
    path = write_jsonl(tmp_path / "ok.jsonl", [record(1), record(2)])
    assert main(["import", str(path), "--db", sqlite_url, "--operator", "bob"]) == 0
    out = capsys.readouterr()
    assert "read 2, written 2, rejected 0" in out.out
    assert "Traceback" not in out.err


def test_cli_refuses_a_bad_file_with_lines_on_stderr(sqlite_url, tmp_path, capsys):
    path = write_jsonl(tmp_path / "bad.jsonl", [record(1), record(2, status="x")])
    assert main(["import", str(path), "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "1 of 2 records are invalid; nothing was written" in err
    assert "line 2: status: unknown status 'x'" in err
    assert "Traceback" not in err
    assert main(["import", str(path), "--db", sqlite_url, "--skip-invalid"]) == 0
    assert Path(f"{path}.rejects.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "no such file"),
        (["x.jsonl", "--reject-file", "r.jsonl"], "--reject-file needs --skip-invalid"),
        (["x.jsonl", "--batch-size", "0"], "--batch-size must be >= 1"),
    ],
)
def test_cli_bad_arguments(sqlite_url, tmp_path, capsys, args, message):
    args = [str(tmp_path / args[0]), *args[1:]]
    assert main(["import", *args, "--db", sqlite_url]) == 2
    assert message in capsys.readouterr().err
