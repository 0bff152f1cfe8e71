"""`python -m intel worker`: the sidecar anomaly detector (see intel/worker/runner.py)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from intel.settings import SettingsError, database_url, load_settings, redis_url
from intel.store.db import is_up_to_date, make_engine

log = logging.getLogger("intel.worker")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker", help="run the anomaly detector: ticks, incidents, notifications")
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL or data/aetherlink.db)")
    parser.add_argument("--config", help="YAML settings (default: INTEL_CONFIG or config.yaml)")
    parser.add_argument("--id", dest="holder", help="worker id in the lease (default: host:pid)")
    parser.add_argument("--once", action="store_true",
                        help="take the lease, run the due tick(s) once, release, exit")
    parser.set_defaults(func=run)


def run(args) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from intel.worker.runner import Worker, check_interval

    try:
        check_interval(settings.worker.interval_s)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    url = args.db or database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        if not is_up_to_date(engine):
            print(f"error: database {shown}: schema is not up to date; run "
                  "`python -m intel db upgrade`", file=sys.stderr)
            return 2
    except (OperationalError, DBAPIError) as exc:
        log.warning("database %s unreachable at start (%s); will keep retrying", shown,
                    str(exc).splitlines()[0])
    worker = Worker(engine, settings, holder=args.holder, redis_url=redis_url())
    try:
        if args.once:
            worker.step()
            worker.shutdown()
            result = worker.last_result
            if result is None:
                print("not the leader: another worker holds the lease", file=sys.stderr)
                return 1
            print(f"tick {result.at.isoformat()}: {result.active} active incident(s), "
                  f"{len(result.notable)} transition(s)", file=sys.stderr)
            return 0
        stop = threading.Event()

        def _stop(signum, _frame):
            log.info("received %s: stopping after the current tick",
                     signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        worker.run(stop)
        log.info("worker %s stopped", worker.holder)
        return 0
    finally:
        engine.dispose()
