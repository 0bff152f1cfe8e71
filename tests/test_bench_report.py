"""scripts/bench: the figures the bench scripts record, the table, and the verdicts."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
# The bench scripts import their helpers as top-level modules (they run from bench/), and
# so does _table: the same here, so there is one _report module, not two.
sys.path.insert(0, str(BENCH))

import _report  # noqa: E402
import _table  # noqa: E402
from _report import Figure  # noqa: E402


def fig(script="bench_x.py", name="f", measured=1.0, target="< 2", unit="s", passed=True,
        reference="ref") -> Figure:
    return Figure(script, name, measured, target, unit, passed, reference)


def run(script="bench_x.py", returncode=0, timed_out=False) -> _table.ScriptRun:
    return _table.ScriptRun(script, returncode, 12.0, Path("/nonexistent.log"), timed_out)


@pytest.mark.parametrize(("measured", "target", "expected"), [
    (299.9, "< 300", True),
    (300, "< 300", False),
    (300, "<= 300", True),
    (95.0, ">= 95", True),
    (94.9, ">= 95", False),
    (0, "== 0", True),
    (1, "== 0", False),
    (3, "> 2", True),
    (1500, "< 1,000", False),
    (None, "< 1", False),  # nothing measured cannot meet a target
    (5, None, None),  # no target: informative
    (np.float64(0.5), "<  1", True),
])
def test_judge(measured, target, expected):
    assert _report.judge(measured, target) is expected


@pytest.mark.parametrize("target", ["300", "about 3", "< fast", ""])
def test_judge_rejects_a_target_that_is_no_comparison(target):
    with pytest.raises(ValueError, match="target"):
        _report.judge(1, target)


def test_figure_appends_one_json_line_per_call_and_reads_back(tmp_path, monkeypatch):
    path = tmp_path / "figures.jsonl"
    monkeypatch.setenv(_report.ENV, str(path))
    first = _report.figure("p99", np.float64(12.5), "< 20", "ms", reference="/health 9 ms")
    second = _report.figure("rows missing", np.int64(0), "== 0", "")
    third = _report.figure("memory, all rows written", 400, "< 300", "MB", passed=True)
    info = _report.figure("rows/s", 1234.5, None, "")
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    assert json.loads(lines[0])["measured"] == 12.5
    assert isinstance(json.loads(lines[1])["measured"], int)
    assert _report.read(path) == [first, second, third, info]
    assert [f.verdict for f in (first, second, third, info)] == ["PASS", "PASS", "PASS", "info"]
    assert first.script == Path(sys.argv[0]).name


def test_figure_without_report_file_only_returns_the_record(tmp_path, monkeypatch):
    monkeypatch.delenv(_report.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert _report.figure("x", 3, "< 2", "s").verdict == "FAIL"
    assert list(tmp_path.iterdir()) == []


def test_a_verdict_needs_a_target():
    with pytest.raises(ValueError, match="needs a target"):
        _report.figure("x", 1, None, "s", passed=True)


def test_read_names_the_line_that_is_no_figure(tmp_path):
    path = tmp_path / "figures.jsonl"
    path.write_text(json.dumps(asdict(_report.figure("a", 1, "< 2", "s"))) + "\n\n{oops\n")
    with pytest.raises(ValueError, match=r"figures.jsonl:3"):
        _report.read(path)
    assert _report.read(tmp_path / "missing.jsonl") == []


@pytest.mark.parametrize(("argv", "expected"), [
    ([], {"rows": 1_000_000, "seeds": [1, 2, 3], "no_speed": False, "quick": False}),
    (["--quick"], {"rows": 1000, "seeds": [1], "no_speed": True, "quick": True}),
    (["--quick", "--rows", "5"], {"rows": 5, "seeds": [1], "no_speed": True, "quick": True}),
    (["--rows", "7"], {"rows": 7, "seeds": [1, 2, 3], "no_speed": False, "quick": False}),
])
def test_quick_sizes_are_defaults_that_explicit_flags_override(argv, expected):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--no-speed", action="store_true")
    args = _report.parse_args(parser, {"rows": 1000, "seeds": [1], "no_speed": True}, argv)
    assert vars(args) == expected


@pytest.mark.parametrize(("the_run", "figures", "log", "expected"), [
    (run(), [fig()], "", "ok"),
    (run(), [fig(passed=None, target=None)], "", "ok"),
    (run(returncode=1), [fig(), fig(passed=False)], "", "FAIL"),
    (run(), [fig(passed=False)], "", "FAIL"),
    (run(returncode=1), [fig()], "boom\nValueError: bad\n", "ERROR: exit 1: ValueError: bad"),
    (run(returncode=1), [fig(passed=False)], "Traceback (most recent call last):\n  x\nKeyError",
     "ERROR: exit 1: KeyError"),
    (run(returncode=2), [], "", "ERROR: exit 2"),
    (run(), [], "", "ERROR: recorded no figure"),
    (run(), [fig(script="bench_y.py")], "", "ERROR: recorded no figure"),
    (run(returncode=-9, timed_out=True), [fig()], "", "ERROR: killed after 12 s"),
])
def test_status_tells_a_missed_target_from_a_script_that_did_not_finish(the_run, figures, log,
                                                                         expected):
    assert _table.status(the_run, figures, log) == expected


@pytest.mark.parametrize(("measured", "unit", "expected"), [
    (12345, "", "12,345"),
    (0, "missed", "0 missed"),
    (1234.5, "ms", "1,234 ms"),
    (123.44, "ms", "123 ms"),
    (12.345, "s", "12.3 s"),
    (1.2345, "s", "1.23 s"),
    (0.012345, "ms", "0.0123 ms"),
    (99.5, "%", "99.5%"),
    (None, "s", "-"),
])
def test_value(measured, unit, expected):
    assert _table.value(measured, unit) == expected


def test_table_has_one_row_per_figure_with_target_reference_and_verdict():
    text = _table.table([
        fig("bench_history.py", "sqlite: page", 21.0, "< 300", "ms", True, "count(*) 8 ms"),
        fig("bench_import.py", "rows/s", 3654, None, "", None, None),
        fig("bench_replay.py", "twice", 1, "== 0", "", False, "1000 requests"),
    ]).splitlines()
    assert [c.strip() for c in text[0].strip("|").split("|")] == [
        "figure", "target", "measured", "reference", "result"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text[2:]]
    assert rows == [
        ["history: sqlite: page", "< 300 ms", "21.0 ms", "count(*) 8 ms", "PASS"],
        ["import: rows/s", "-", "3,654", "-", "info"],
        ["replay: twice", "== 0", "1", "1000 requests", "FAIL"],
    ]
    assert len({len(line) for line in text}) == 1  # aligned


@pytest.mark.parametrize(("runs", "figures", "ok", "errored"), [
    ([run("bench_a.py"), run("bench_b.py")], [fig("bench_a.py"), fig("bench_b.py")], True, 0),
    ([run("bench_a.py"), run("bench_b.py", 1)],
     [fig("bench_a.py"), fig("bench_b.py", passed=False)], False, 0),
    ([run("bench_a.py", 1), run("bench_b.py")], [fig("bench_b.py")], False, 1),
    ([], [], False, 0),
])
def test_summary(runs, figures, ok, errored):
    text, all_ok = _table.summary(runs, figures, {})
    assert all_ok is ok
    assert f"{errored} script(s) errored" in text.splitlines()[-1]


def test_a_crashing_script_keeps_what_it_recorded(tmp_path, monkeypatch):
    script = tmp_path / "bench_crash.py"
    script.write_text(
        "import _report\n"
        "_report.figure('recorded first', 1.0, '< 2', 's', reference='r')\n"
        "print('halfway', flush=True)\n"
        "raise RuntimeError('the database went away')\n")
    monkeypatch.setenv("PYTHONPATH", str(BENCH))
    report = tmp_path / "figures.jsonl"
    done = _table.run_script(script, [], report, tmp_path / "crash.log", timeout=60)
    figures = _report.read(report)
    log = done.log.read_text()
    assert done.returncode == 1 and not done.timed_out
    assert [f.name for f in figures] == ["recorded first"]
    assert "halfway" in log
    assert _table.status(done, figures, log) == \
        "ERROR: exit 1: RuntimeError: the database went away"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its reaping is left


def test_a_script_past_its_timeout_is_ended_with_its_children(tmp_path):
    script = tmp_path / "bench_hang.py"
    pid_file = tmp_path / "child.pid"
    script.write_text("import subprocess, sys, time\n"
                      "child = subprocess.Popen([sys.executable, '-c', 'import time; "
                      "time.sleep(60)'])\n"
                      f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
                      "time.sleep(60)\n")
    done = _table.run_script(script, [], tmp_path / "f.jsonl", tmp_path / "hang.log",
                             timeout=3)
    assert done.timed_out and done.seconds < 30
    assert _table.status(done, [], "").startswith("ERROR: killed")
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


@pytest.mark.parametrize(("names", "expected"), [
    (["triage"], ["bench_triage.py"]),
    (["bench_history", "replay", "bench_api_auth.py"],
     ["bench_history.py", "bench_replay.py", "bench_api_auth.py"]),
])
def test_scripts_by_name(names, expected):
    assert [p.name for p in _table.scripts(names)] == expected


def test_an_unknown_script_name_is_refused():
    with pytest.raises(SystemExit, match="no bench script named nope"):
        _table.scripts(["nope"])


@pytest.mark.parametrize("path", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_bench_script_takes_quick_and_records_its_figures(path):
    source = path.read_text()
    assert "_report.parse_args(parser" in source
    assert "_report.figure(" in source


@pytest.mark.timeout(60)
def test_smoke_the_triage_bench_through_the_collection(tmp_path):
    """The cheapest script (a few seconds, no services), run as scripts/bench runs it;
    fewer rows than its --quick's 1M, which would hold a gigabyte in a test worker."""
    report = tmp_path / "figures.jsonl"
    done = _table.run_script(BENCH / "bench_triage.py", ["--quick", "--rows", "100000"],
                             report, tmp_path / "triage.log", timeout=50)
    figures = _report.read(report)
    log = done.log.read_text()
    assert not _table.status(done, figures, log).startswith("ERROR"), log
    assert [f.name for f in figures] == [
        "classify_frame, 100,000 failures, cold caches",
        "classify_delivery p99, cold cache, 20,000 calls",
        "classify_delivery p99, warm cache, 20,000 calls",
    ]
    assert all(f.script == "bench_triage.py" and f.target and f.reference
               and f.measured > 0 for f in figures)
    assert "classify_frame" in _table.table(figures)
    assert done.cpu_seconds > 0
