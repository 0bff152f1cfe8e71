"""``scripts/bench``: every ``bench/bench_*.py`` in its own process, then one table.

Each script runs with ``--quick`` (``--full``: its own default sizes) and
``BENCH_REPORT`` pointing at one JSON Lines file, which its ``_report.figure`` calls append
to; its output goes to a log file beside that one. A script that exits non-zero does not
stop the others: whatever it recorded is in the table, and it is named under it.

    .venv/bin/python bench/_table.py [--full] [--logs DIR] [--timeout S] [-v] [NAME ...]

Exit status 0 only when every figure with a target passed and every script ran to its end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report
from _report import FAIL, Figure

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
#: per script, so one hung script cannot take the whole run with it
TIMEOUT_S = {"quick": 900.0, "full": 3 * 3600.0}
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class ScriptRun:
    script: str
    returncode: int
    seconds: float
    log: Path
    timed_out: bool = False
    #: CPU of the script and the processes it waited for: steadier than the wall time on a
    #: machine shared with other work
    cpu_seconds: float = 0.0


def scripts(names: list[str] | None = None) -> list[Path]:
    """The bench scripts, all or those named (``history``, ``bench_history``, or the file)."""
    found = sorted(BENCH.glob("bench_*.py"))
    if not names:
        return found
    by_name = {}
    for path in found:
        for key in (path.name, path.stem, path.stem.removeprefix("bench_")):
            by_name[key] = path
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SystemExit(f"no bench script named {', '.join(missing)}; there are "
                         f"{', '.join(p.stem.removeprefix('bench_') for p in found)}")
    return [by_name[n] for n in names]


def run_script(path: Path, args: list[str], report: Path, log: Path, timeout: float,
               echo: bool = False) -> ScriptRun:
    """``path`` in its own process (and process group, so a timeout also ends the servers
    it started), its output copied to ``log`` (and stderr with ``echo``)."""
    env = dict(os.environ, **{_report.ENV: str(report)}, PYTHONUNBUFFERED="1")
    started, cpu_before = time.perf_counter(), _children_cpu()
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, str(path), *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

        def copy() -> None:
            for line in proc.stdout:
                sink.write(line)
                sink.flush()
                if echo:
                    sys.stderr.buffer.write(line)
                    sys.stderr.flush()

        copier = threading.Thread(target=copy, daemon=True)
        copier.start()
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _end_group(proc)
        _kill_leftovers(proc)
        copier.join(30)
    return ScriptRun(path.name, proc.returncode, time.perf_counter() - started, log, timed_out,
                     _children_cpu() - cpu_before)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _end_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    _kill_leftovers(proc)
    proc.wait(30)


def _kill_leftovers(proc: subprocess.Popen) -> None:
    """Whatever the script started and left running (a server it did not get to stop)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def status(run: ScriptRun, figures: list[Figure], log_text: str = "") -> str:
    """"ok", "FAIL" (a figure missed its target) or "ERROR: ..." (the script did not run
    to its end: killed, crashed, or recorded nothing). A script that exits 1 because one
    of its figures failed is a FAIL, not an error, unless it also left a traceback."""
    mine = [f for f in figures if f.script == run.script]
    failed = any(f.verdict == FAIL for f in mine)
    if run.timed_out:
        return f"ERROR: killed after {run.seconds:.0f} s"
    if run.returncode != 0 and (not failed or TRACEBACK in log_text):
        last = next((line.strip() for line in reversed(log_text.splitlines())
                     if line.strip()), "")
        return f"ERROR: exit {run.returncode}" + (f": {last[:160]}" if last else "")
    if not mine:
        return "ERROR: recorded no figure"
    return FAIL if failed else "ok"


def value(measured: float | int | None, unit: str) -> str:
    if measured is None:
        return "-"
    if isinstance(measured, int):
        text = f"{measured:,}"
    elif abs(measured) >= 100:
        text = f"{measured:,.0f}"
    elif abs(measured) >= 10:
        text = f"{measured:.1f}"
    elif abs(measured) >= 1:
        text = f"{measured:.2f}"
    else:
        text = f"{measured:.3g}"
    return with_unit(text, unit)


def with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def short(script: str) -> str:
    return script.removesuffix(".py").removeprefix("bench_")


def table(figures: list[Figure]) -> str:
    """The figures as one Markdown table: figure, target, measured, reference, result."""
    rows = [("figure", "target", "measured", "reference", "result")]
    for f in figures:
        rows.append((f"{short(f.script)}: {f.name}",
                     "-" if f.target is None else with_unit(f.target, f.unit),
                     value(f.measured, f.unit), f.reference or "-", f.verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows[1:]]
    return "\n".join(out)


def summary(runs: list[ScriptRun], figures: list[Figure],
            logs: dict[str, str]) -> tuple[str, bool]:
    """Per script: its status, times and figure count; then the totals. And whether all
    is well (no figure failed, every script ran to its end)."""
    lines, errored = [], []
    states = [status(run, figures, logs.get(run.script, "")) for run in runs]
    for run, state in zip(runs, states, strict=True):
        n = sum(f.script == run.script for f in figures)
        lines.append(f"  {run.script:24s} {run.seconds:6.0f} s wall {run.cpu_seconds:6.0f} s CPU"
                     f"  {n:3d} figures  {state}")
        if state.startswith("ERROR"):
            errored.append(run.script)
    counts = {v: sum(f.verdict == v for f in figures) for v in ("PASS", "FAIL", "info")}
    lines.append(f"{len(figures)} figures: {counts['PASS']} PASS, {counts['FAIL']} FAIL, "
                 f"{counts['info']} without target; {len(errored)} script(s) errored"
                 + (f" ({', '.join(errored)})" if errored else "")
                 + f"; {sum(r.seconds for r in runs) / 60:.1f} min in the scripts "
                 f"({sum(r.cpu_seconds for r in runs) / 60:.1f} min CPU)")
    return "\n".join(lines), bool(runs) and all(state == "ok" for state in states)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Every bench/bench_*.py in its own process (--quick sizes unless --full), "
                    "then one table: figure, target, measured, reference, PASS/FAIL.")
    parser.add_argument("names", nargs="*", help="run only these (e.g. history triage)")
    parser.add_argument("--full", action="store_true",
                        help="each script's own default sizes, as in the README's figures "
                             "(several times longer)")
    parser.add_argument("--logs", help="directory for the figures and each script's output "
                                       "(default: a new one under the temporary directory)")
    parser.add_argument("--timeout", type=float,
                        help=f"seconds per script (default {TIMEOUT_S['quick']:.0f} quick, "
                             f"{TIMEOUT_S['full']:.0f} full)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show each script's output as it runs")
    args = parser.parse_args(argv)
    size = "full" if args.full else "quick"
    timeout = args.timeout or TIMEOUT_S[size]
    chosen = scripts(args.names)
    logs_dir = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="intel-bench-"))
    logs_dir.mkdir(parents=True, exist_ok=True)
    report = logs_dir / "figures.jsonl"
    report.unlink(missing_ok=True)
    extra = [] if args.full else ["--quick"]
    began = time.perf_counter()
    runs = []
    for i, path in enumerate(chosen, 1):
        print(f"==> [{i}/{len(chosen)}] {path.name} {' '.join(extra)}", file=sys.stderr,
              flush=True)
        run = run_script(path, extra, report, logs_dir / f"{path.stem}.log", timeout,
                         echo=args.verbose)
        runs.append(run)
        print(f"    exit {run.returncode} after {run.seconds:.0f} s ({run.cpu_seconds:.0f} s CPU)"
              + (" (killed: timeout)" if run.timed_out else ""), file=sys.stderr, flush=True)
    figures = _report.read(report)
    logs = {r.script: r.log.read_text(encoding="utf-8", errors="replace") for r in runs}
    text, ok = summary(runs, figures, logs)
    print(f"\n{size} sizes; figures and each script's output in {logs_dir}\n")
    print(table(figures))
    print("\n" + text)
    print(f"total {(time.perf_counter() - began) / 60:.1f} min: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
