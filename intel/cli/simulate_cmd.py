"""``python -m intel simulate``: write simulated webhook traffic with ground truth."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from sqlalchemy.exc import SQLAlchemyError

from intel.timeutil import parse_duration, parse_timestamp, to_rfc3339, utcnow

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="fill the store with simulated webhook traffic (deterministic per seed)",
        description=(
            "Simulate webhook deliveries: tenants, endpoints, seasonality, failures in "
            "real-world shapes, injected incidents and confounders, with ground truth in "
            "sim_failure_truth and sim_events. The same seed and parameters always give "
            "the same data; running again rewrites the same ids. --live keeps appending "
            "traffic in real time until Ctrl-C."
        ),
    )
    parser.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--days", type=float, default=7.0,
                        help="length of the simulated history in days (default 7)")
    parser.add_argument("--end", default="now", metavar="T",
                        help="end of the history: RFC 3339 timestamp or 'now' (default)")
    parser.add_argument("--deliveries", type=int, default=200_000, metavar="N",
                        help="deliveries in the history (default 200000)")
    parser.add_argument("--endpoint-base", metavar="URL",
                        help="point every endpoint at URL/hooks/<tenant>/<slug> "
                             "(e.g. the local sandbox http://127.0.0.1:8701)")
    parser.add_argument("--scenario", default="default",
                        help="default (incidents and confounders) or calm (confounders only)")
    parser.add_argument("--live", action="store_true",
                        help="append traffic in real time until SIGINT/SIGTERM")
    parser.add_argument("--with-history", action="store_true",
                        help="with --live: first write the history ending now")
    parser.add_argument("--live-interval", default="5s", metavar="DURATION",
                        help="live tick length (default 5s)")
    parser.add_argument("--live-incident", default="outage",
                        help="incident injected in live mode: outage, misconfig, ratelimit, "
                             "burst or none (default outage)")
    parser.add_argument("--live-incident-after", default="3m", metavar="DURATION",
                        help="live incident starts this long after live start (default 3m)")
    parser.add_argument("--live-incident-duration", default="10m", metavar="DURATION",
                        help="live incident length (default 10m)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def _config(args: argparse.Namespace, now):
    from intel.simulate import SimulationConfig

    try:
        end = now if args.end.strip().lower() == "now" else parse_timestamp(args.end)
    except ValueError as exc:
        raise ValueError(f"--end: {exc}") from None
    durations = {}
    for flag in ("live_interval", "live_incident_after", "live_incident_duration"):
        value = getattr(args, flag)
        try:
            durations[flag] = parse_duration(value).total_seconds()
        except ValueError as exc:
            raise ValueError(f"--{flag.replace('_', '-')}: {exc}") from None
    try:
        return SimulationConfig(
            seed=args.seed, end=end, days=args.days, deliveries=args.deliveries,
            endpoint_base=args.endpoint_base, scenario=args.scenario,
            live_interval_s=durations["live_interval"],
            live_incident=None if args.live_incident == "none" else args.live_incident,
            live_incident_after_s=durations["live_incident_after"],
            live_incident_duration_s=durations["live_incident_duration"],
        )
    except ValueError as exc:
        # SimulationConfig names the field; say which flag that is.
        field, _, reason = str(exc).partition(":")
        flag = _FLAGS.get(field, field)
        raise ValueError(f"{flag}: {reason.strip()}") from None


_FLAGS = {
    "seed": "--seed", "end": "--end", "days": "--days", "deliveries": "--deliveries",
    "endpoint_base": "--endpoint-base", "scenario": "--scenario",
    "live_interval_s": "--live-interval", "live_incident": "--live-incident",
    "live_incident_after_s": "--live-incident-after",
    "live_incident_duration_s": "--live-incident-duration",
}


def run(args: argparse.Namespace) -> int:
    now = utcnow()
    try:
        config = _config(args, now)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    if args.with_history and not args.live:
        print("simulate: --with-history needs --live", file=sys.stderr)
        return 2
    from intel.secretbox import SecretError
    from intel.store.db import get_engine, make_engine, upgrade

    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = make_engine(args.db) if args.db else get_engine()
    try:
        upgrade(engine)
        if not args.live or args.with_history:
            _history(engine, config, now, args.json)
        if args.live:
            _live(engine, config, args.json)
    except SecretError as exc:  # endpoints' secrets cannot be stored without a key
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"simulate: database error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.db:
            engine.dispose()
    return 0


def _history(engine, config, now, as_json: bool) -> None:
    from intel.simulate import simulate

    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=config.deliveries, unit="delivery", unit_scale=True, file=sys.stderr,
                   leave=False, desc="simulate")

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        summary = simulate(engine, config, now=now, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        print(json.dumps(summary.as_dict()))
        return
    print(
        f"Simulated {summary.deliveries:,} deliveries (seed {summary.seed}, scenario "
        f"{summary.scenario}) from {to_rfc3339(summary.start)} to {to_rfc3339(summary.end)} "
        f"in {summary.seconds:.1f} s: {summary.delivered:,} delivered, {summary.failed:,} "
        f"failed, {summary.pending:,} pending; {summary.tenants} tenants, "
        f"{summary.endpoints} endpoints."
    )
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_kind.items()))
    print(f"Ground truth: {summary.events} events ({summary.anomalies} incidents): {kinds}.")
    if summary.removed:
        print(f"Removed {summary.removed:,} deliveries left by an earlier, larger run.")


def _live(engine, config, as_json: bool) -> None:
    from intel.simulate.live import run_live

    stop = threading.Event()

    def handler(signum, _frame):
        log.info("simulate: %s received, stopping live mode", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"Live simulation (seed {config.seed}): a tick every {config.live_interval_s:g} s; "
          "Ctrl-C to stop.", file=sys.stderr, flush=True)

    def on_tick(written, summary) -> None:
        log.debug("live tick: %d deliveries (total %d)", written, summary.deliveries)

    try:
        summary = run_live(engine, config, stop, on_tick=on_tick)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if as_json:
        print(json.dumps({"live": {"ticks": summary.ticks, "deliveries": summary.deliveries,
                                   "failed": summary.failed, "events": summary.events}}))
    else:
        print(f"Live simulation stopped: {summary.deliveries:,} deliveries "
              f"({summary.failed:,} failed) in {summary.ticks} ticks; events: "
              f"{', '.join(summary.events or []) or 'none'}.")
