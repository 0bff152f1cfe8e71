"""``python -m intel labels import|export``: operator labels as files.

``labels import FILE --labeler NAME`` reads CSV (``delivery_id,category,note,labeler,
labeled_at``) or the dev set's JSON Lines (delivery fields + ``label``). It labels
deliveries already in the store; a label for an unknown id is an error naming its line.
``--add-deliveries`` first adds the deliveries a JSON Lines file carries (validated as
``python -m intel import`` does; existing ones are left as they are). All or nothing: a
bad row is reported with its line and nothing is written. ``labels export FILE`` writes
every label as CSV (``-`` for stdout).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from intel.labels.files import (
    LabelFileError,
    add_missing_deliveries,
    import_labels,
    read_label_file,
    write_labels_csv,
)
from intel.labels.store import LabelError, iter_labels
from intel.settings import database_url
from intel.store.db import make_engine
from intel.timeutil import utcnow


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="import or export operator labels (CSV, or the dev set's JSON Lines)",
        description=__doc__.split("\n\n", 1)[1],
    )
    actions = parser.add_subparsers(dest="labels_action", metavar="ACTION", required=True)

    imp = actions.add_parser("import", help="import labels from .csv or .jsonl")
    imp.add_argument("file", metavar="FILE", help="a .csv or .jsonl label file")
    imp.add_argument("--labeler", metavar="NAME", required=True,
                     help="who is importing (audit trail); also the labeler of rows without one")
    imp.add_argument("--add-deliveries", action="store_true",
                     help="first add the deliveries a .jsonl file carries that are not in the "
                          "store (an import: whoever runs the CLI may create deliveries)")
    imp.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    imp.set_defaults(func=run_import)

    exp = actions.add_parser("export", help="export every label as CSV")
    exp.add_argument("file", metavar="FILE", help="output .csv file, or - for stdout")
    exp.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    exp.set_defaults(func=run_export)


def _engine(args):
    url = args.db or database_url()
    return make_engine(url), make_url(url).render_as_string(hide_password=True)


def run_import(args: argparse.Namespace) -> int:
    if not args.labeler.strip():
        print("error: --labeler: a name is required", file=sys.stderr)
        return 2
    try:
        records = read_label_file(args.file, default_labeler=args.labeler)
    except LabelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine, shown = _engine(args)
    try:
        now = utcnow()
        with engine.begin() as conn:
            added = 0
            if args.add_deliveries:
                added = add_missing_deliveries(conn, records, actor=args.labeler, now=now,
                                               source=Path(args.file).name)
            summary = import_labels(conn, records, actor=args.labeler, now=now,
                                    source=Path(args.file).name)
            summary.deliveries_added = added
    except (LabelFileError, LabelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: database {shown}: {exc.__class__.__name__}: {exc.orig or exc}",
              file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    cats = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_category.items()))
    print(f"{args.file}: {summary.describe()} ({cats})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    engine, shown = _engine(args)
    try:
        with engine.connect() as conn:
            if args.file == "-":
                n = write_labels_csv(iter_labels(conn), sys.stdout)
            else:
                target = Path(args.file)
                tmp = target.with_name(target.name + ".tmp")
                with tmp.open("w", encoding="utf-8", newline="") as fh:
                    n = write_labels_csv(iter_labels(conn), fh)
                tmp.replace(target)
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: database {shown}: {exc.__class__.__name__}: {exc.orig or exc}",
              file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.file != "-":
        print(f"{n} label(s) written to {args.file}", file=sys.stderr)
    return 0
