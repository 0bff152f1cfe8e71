"""``python -m intel import FILE``: import delivery records (CONTRACTS §1)."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from intel.deliveries.importer import (
    DEFAULT_BATCH_SIZE,
    ImportFailed,
    InvalidRecords,
    import_file,
)
from intel.timeutil import utcnow

#: Bad records listed on stderr when an import is refused (all are counted).
SHOWN_ISSUES = 20


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import delivery records from .jsonl, .csv or .parquet",
        description=(
            "Import delivery records (CONTRACTS §1) from JSON Lines, CSV or Parquet. "
            "By default a file with any invalid record is refused and nothing is written; "
            "--skip-invalid writes the valid records and the rejected ones to a reject file. "
            "Importing an id again updates that delivery; within one file an id may appear "
            "once (a repeat is an error naming both lines) unless --last-wins. Response "
            "bodies, errors and headers over the size limits (limits.*) are stored cut "
            "with a marker and counted; a larger payload or record is rejected."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="a .jsonl, .csv or .parquet file")
    parser.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    parser.add_argument(
        "--skip-invalid", action="store_true",
        help="write the valid records; rejected ones go to the reject file",
    )
    parser.add_argument(
        "--last-wins", action="store_true",
        help="an id repeated in the file is not an error: its records are applied in order "
             "and the last one wins",
    )
    parser.add_argument(
        "--reject-file", metavar="PATH",
        help="where rejected records go with --skip-invalid (default: FILE.rejects.jsonl)",
    )
    parser.add_argument(
        "--batch-size", metavar="N", type=int, default=DEFAULT_BATCH_SIZE,
        help=f"records written per statement batch (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--operator", metavar="NAME", help="who is importing (audit trail; default 'cli')"
    )
    parser.set_defaults(func=run)


class _Bars:
    """tqdm bars on stderr, one per phase, only when stderr is a terminal."""

    def __init__(self, unit: str):
        self.unit = unit
        self.bars: dict[str, object] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(phase)
        if bar is None:
            for other in self.bars.values():
                other.close()
            bar = self.bars[phase] = tqdm(
                total=total, desc=phase, unit=self.unit, unit_scale=True, file=sys.stderr,
                leave=False,
            )
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        print(f"import: --batch-size must be >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    if args.reject_file and not args.skip_invalid:
        print("import: --reject-file needs --skip-invalid", file=sys.stderr)
        return 2
    from intel.store.db import get_engine, make_engine, upgrade

    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)  # keep stderr for the import

    engine = make_engine(args.db) if args.db else get_engine()
    upgrade(engine)
    unit = "row" if args.file.lower().endswith(".parquet") else "B"
    bars = _Bars(unit) if sys.stderr.isatty() else None
    try:
        report = import_file(
            engine,
            args.file,
            now=utcnow(),
            actor=args.operator or "cli",
            skip_invalid=args.skip_invalid,
            reject_path=args.reject_file,
            batch_size=args.batch_size,
            progress=bars,
            last_wins=args.last_wins,
        )
    except InvalidRecords as exc:
        if bars:
            bars.close()
        report = exc.report
        print(
            f"import: {report.path}: {report.rejected:,} of {report.read:,} records are "
            "invalid; nothing was written (use --skip-invalid to import the valid ones)",
            file=sys.stderr,
        )
        for issue in report.issues[:SHOWN_ISSUES]:
            print(f"  {report.unit} {issue.line}: {issue.reason}", file=sys.stderr)
        if report.rejected > SHOWN_ISSUES:
            print(f"  ... and {report.rejected - SHOWN_ISSUES:,} more", file=sys.stderr)
        return 2
    except ImportFailed as exc:
        if bars:
            bars.close()
        print(f"import: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the reject file cannot be written, the file vanished, ...
        if bars:
            bars.close()
        print(f"import: {exc}; nothing written", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        if bars:
            bars.close()
        print(f"import: database error, nothing written: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.db:
            engine.dispose()
    if bars:
        bars.close()
    print(f"Imported {report.path}: {report.summary()}")
    if report.rejected:
        for issue in report.issues[:SHOWN_ISSUES]:
            print(f"  rejected {report.unit} {issue.line}: {issue.reason}", file=sys.stderr)
    return 0
