"""`python -m intel backtest`: the worker's detector over history (CONTRACTS §3).

Prints one JSON object ``{"incidents": [...]}`` on stdout; logs go to stderr. With
``--input FILE`` the deliveries are read from the file into memory (no database is
touched); with ``--db URL`` one aggregate query reads them (nothing is written).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import timedelta

from intel.settings import SettingsError, load_settings
from intel.timeutil import parse_duration, parse_timestamp

log = logging.getLogger("intel.backtest")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "backtest", help="run the anomaly detector over history and print its incidents (JSON)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE",
                        help="deliveries file (.jsonl, .csv, .parquet; CONTRACTS §1)")
    source.add_argument("--db", metavar="URL", help="SQLAlchemy URL of a store to read")
    parser.add_argument("--start", required=True, help="first tick (RFC 3339)")
    parser.add_argument("--end", required=True, help="last tick (RFC 3339)")
    parser.add_argument("--step", default="30s", help="tick interval (default 30s)")
    parser.add_argument("--config", help="YAML settings (default: INTEL_CONFIG or config.yaml)")
    parser.add_argument("--mode", choices=["guarded", "literal"],
                        help="override detector.mode (literal: the seed's bare rules)")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from intel.backtest import counts_for, run_backtest
    from intel.detect.counts import bucket_size_for
    from intel.detect.rules import LONGEST_LOOKBACK_S
    from intel.detect.source import InputError, rows_from_db, rows_from_file

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        return _fail(str(exc))
    detector = settings.detector
    if args.mode:
        detector = detector.model_copy(update={"mode": args.mode})
    try:
        start = parse_timestamp(args.start)
    except ValueError as exc:
        return _fail(f"--start: {exc}")
    try:
        end = parse_timestamp(args.end)
    except ValueError as exc:
        return _fail(f"--end: {exc}")
    if end <= start:
        return _fail(f"--end ({args.end}) must be after --start ({args.start})")
    try:
        step = parse_duration(args.step).total_seconds()
        bucket = bucket_size_for(step)
    except ValueError as exc:
        return _fail(f"--step: {exc}")
    if start.microsecond:
        return _fail(f"--start: whole seconds only, got {args.start!r}")
    offset = int(start.timestamp()) % bucket
    lo = start - timedelta(seconds=LONGEST_LOOKBACK_S)
    began = time.perf_counter()
    if args.input:
        try:
            rows, n = rows_from_file(args.input, bucket, offset)
        except InputError as exc:
            return _fail(str(exc))
        log.info("read %d deliveries from %s", n, args.input)
    else:
        from sqlalchemy.engine import make_url

        from intel.store.db import make_engine

        try:
            shown = make_url(args.db).render_as_string(hide_password=True)
        except Exception:
            return _fail(f"--db: not a database URL: {args.db!r}")
        engine = make_engine(args.db)
        try:
            with engine.connect() as conn:
                rows = rows_from_db(conn, lo, end, bucket, offset)
        except Exception as exc:
            print(f"error: database {shown}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        log.info("read %d bucket counts from %s", len(rows), shown)
    loaded = time.perf_counter()
    counts = counts_for(rows, start, end, bucket, offset)
    result = run_backtest(counts, start, end, int(step), detector)
    log.info("backtest: %d ticks (%d evaluated), %d incidents; load %.1fs, detect %.1fs",
             result.ticks, result.evaluated_ticks, len(result.incidents), loaded - began,
             result.seconds)
    json.dump(result.to_json(), sys.stdout)
    sys.stdout.write("\n")
    return 0
