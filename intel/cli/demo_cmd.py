"""`python -m intel demo seed`: the demo's data, created once.

A week of simulated traffic ending now, with endpoints pointing at the local sandbox,
the detector run over that week (the backtest, written as real incidents audited as the
system: ``intel.backtest.history``) so the Anomalies history matches the timeline beside
it, and the starter label set, so every screen has something true to show on first
start. An existing store is left alone (the live simulator keeps it current); the
incident history is added only where none is stored yet, so seeding twice writes nothing
twice.
"""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from intel.settings import REPO_ROOT
from intel.store.db import get_engine, upgrade
from intel.store.schema import deliveries, labels
from intel.timeutil import utcnow

STARTER_LABELS = REPO_ROOT / "data" / "triage_labels_starter.jsonl"


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="create the demo data (first run only)")
    parser.add_argument("action", choices=["seed"])
    parser.add_argument("--endpoint-base", default="http://127.0.0.1:8701",
                        help="where the sandbox serves the simulated endpoints")
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="seed even if data exists")
    parser.add_argument("--api-token-file", default=None, metavar="PATH",
                        help="keep an operator API token named 'demo' in PATH (mode 0600), "
                        "creating it when missing or no longer valid")
    parser.set_defaults(func=run)


def run(args) -> int:
    from intel.labels.files import add_missing_deliveries, import_labels, read_label_file
    from intel.secretbox import SecretError
    from intel.simulate import SimulationConfig, simulate

    engine = get_engine()
    upgrade(engine)
    now = utcnow()
    with engine.connect() as conn:
        has_deliveries = conn.execute(select(func.count()).select_from(
            select(deliveries.c.id).limit(1).subquery())).scalar()
        has_labels = conn.execute(select(func.count()).select_from(
            select(labels.c.delivery_id).limit(1).subquery())).scalar()
    if has_deliveries and not args.force:
        print("demo data already present; leaving it as it is (use --force to add more)")
    else:
        print(f"simulating {args.days:g} days, {args.deliveries:,} deliveries ...", flush=True)
        config = SimulationConfig(seed=args.seed, end=now, days=args.days,
                                  deliveries=args.deliveries, endpoint_base=args.endpoint_base)
        try:
            summary = simulate(engine, config, now=now)
        except SecretError as exc:  # the endpoints' secrets need a key (intel.secretbox)
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {summary.deliveries:,} deliveries ({summary.failed:,} failed)")
    from datetime import timedelta

    from intel.backtest.history import record_history
    from intel.settings import get_settings

    print("running the detector over the simulated week ...", flush=True)
    history = record_history(engine, now - timedelta(days=args.days), now,
                             get_settings().detector, now=now)
    print(history.describe())
    if not has_labels and STARTER_LABELS.exists():
        try:
            records = read_label_file(STARTER_LABELS, default_labeler="starter-set")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        with engine.begin() as conn:
            # the starter set's deliveries are ours to add (an import), then labelled
            added = add_missing_deliveries(conn, records, actor="starter-set", now=now,
                                           source="demo")
            result = import_labels(conn, records, actor="starter-set", now=now, source="demo")
            result.deliveries_added = added
        print(f"starter label set: {result.describe()}")
    if args.api_token_file:
        from pathlib import Path

        from intel.auth.tokens import ensure_token_file

        path = Path(args.api_token_file)
        _secret, created = ensure_token_file(engine, path, name="demo", role="operator",
                                             actor="demo-seed", now=now)
        print(f"demo API token ({'created' if created else 'kept'}, operator role): "
              f"in {path} — curl -H \"Authorization: Bearer $(cat {path})\" ...")
    return 0
