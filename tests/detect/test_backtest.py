"""The backtest: same detector over history, over count arrays; the CLI's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from intel.backtest import run_backtest
from intel.deliveries.write import upsert_deliveries
from intel.detect.counts import CumulativeCounts, bucket_of
from intel.detect.families import family_of
from intel.detect.rules import LONGEST_LOOKBACK_S
from intel.detect.source import aggregate_records, rows_from_db
from intel.settings import Settings
from intel.timeutil import parse_timestamp, to_rfc3339
from tests.conftest import REPO
from tests.detect.traffic import DOWN, END, OUTAGE, START, records

BT_START = START + timedelta(hours=24)


def _counts(rows, first_epoch):
    first = bucket_of(first_epoch, 30)
    return CumulativeCounts(rows, first, bucket_of(END.timestamp(), 30) + 1, 30)


@pytest.fixture(scope="module")
def recs():
    return records()


def _from_records(recs):
    return aggregate_records(
        ((r["tenant"], r["endpoint"], family_of(r["status"], r["http_status"], r["error"]),
          parse_timestamp(r["last_attempt_at"]).timestamp()) for r in recs), 30)


def test_outage_detected_fast_and_surge_ignored(recs):
    result = run_backtest(_counts(_from_records(recs), START.timestamp()), BT_START, END, 30,
                          Settings().detector)
    opened = [(i.type, i.target) for i in result.incidents]
    assert opened == [("endpoint_spike", DOWN)]  # no surge incident, no tenant duplicate
    (incident,) = result.incidents
    assert OUTAGE[0] < incident.detected_at <= OUTAGE[0] + timedelta(minutes=3)
    assert incident.status == "resolved" and incident.resolved_at > OUTAGE[1]
    assert incident.severity == "critical"


def test_literal_seed_rules_fire_on_noise(recs):
    literal = Settings().detector.model_copy(update={"mode": "literal"})
    result = run_backtest(_counts(_from_records(recs), START.timestamp()), BT_START, END, 30,
                          literal)
    assert len(result.incidents) > 10


def test_db_and_arrays_give_the_same_counts(sqlite_engine, recs):
    batch = [dict(r, created_at=parse_timestamp(r["created_at"]),
                  last_attempt_at=parse_timestamp(r["last_attempt_at"])) for r in recs]
    with sqlite_engine.begin() as conn:
        upsert_deliveries(conn, batch, now=END, record_attempts=False)
    with sqlite_engine.connect() as conn:
        db_rows = rows_from_db(conn, START, END, 30)
    a = run_backtest(_counts(db_rows, START.timestamp()), BT_START, END, 30,
                     Settings().detector).to_json()
    b = run_backtest(_counts(_from_records(recs), START.timestamp()), BT_START, END, 30,
                     Settings().detector).to_json()
    assert a == b


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "intel", "backtest", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_prints_the_contract_json(tmp_path, recs):
    path = tmp_path / "deliveries.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    run = _cli("--input", str(path), "--start", to_rfc3339(BT_START), "--end", to_rfc3339(END))
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)  # stdout is exactly one JSON object
    (item,) = body["incidents"]
    assert set(item) >= {"id", "type", "severity", "target", "current_failures", "baseline",
                         "detected_at", "resolved_at", "status"}
    assert item["type"] == "endpoint_spike" and item["target"] == DOWN
    assert item["severity"] in ("warning", "critical") and item["status"] == "resolved"
    assert item["detected_at"].endswith("Z") and item["current_failures"] >= 3
    assert isinstance(item["baseline"], float)
    assert "backtest:" in run.stderr  # logs on stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday"], "--start: not an RFC 3339 timestamp"),
        (["--end", "2026-11-01T00:00:00Z"], "--end (2026-11-01T00:00:00Z) must be after"),
        (["--step", "fast"], "--step: not a duration"),
    ],
)
def test_cli_bad_arguments(tmp_path, args, message):
    path = tmp_path / "d.jsonl"
    path.write_text("")
    base = {"--input": str(path), "--start": "2026-11-05T00:00:00Z",
            "--end": "2026-11-05T06:00:00Z"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    run = _cli(*[x for kv in base.items() for x in kv])
    assert run.returncode == 2 and message in run.stderr and run.stdout == ""
    assert "Traceback" not in run.stderr


def test_cli_bad_record_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    good = {"id": "a", "tenant": "t", "endpoint": "https://x", "status": "failed",
            "created_at": "2026-11-05T00:00:00Z"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(dict(good, status="lost")) + "\n")
    run = _cli("--input", str(path), "--start", "2026-11-05T00:00:00Z",
               "--end", "2026-11-05T01:00:00Z")
    assert run.returncode == 2
    assert f"{path}: line 2: status: unknown value 'lost'" in run.stderr


def test_cli_reads_a_store_without_writing(tmp_path, sqlite_url, recs):
    from intel.store.db import make_engine

    engine = make_engine(sqlite_url)
    batch = [dict(r, created_at=parse_timestamp(r["created_at"]),
                  last_attempt_at=parse_timestamp(r["last_attempt_at"])) for r in recs]
    with engine.begin() as conn:
        upsert_deliveries(conn, batch, now=END, record_attempts=False)
    engine.dispose()
    run = _cli("--db", sqlite_url, "--start", to_rfc3339(BT_START), "--end", to_rfc3339(END))
    assert run.returncode == 0, run.stderr
    assert [i["target"] for i in json.loads(run.stdout)["incidents"]] == [DOWN]
    assert LONGEST_LOOKBACK_S > 86400
