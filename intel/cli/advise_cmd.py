"""`python -m intel advise [--tenant T] [--since T] [--json]`: the replay advisor (CONTRACTS §4)."""

from __future__ import annotations

import json
import sys

from sqlalchemy.engine import make_url

from intel.redact import redact_url
from intel.settings import SettingsError, database_url, get_settings
from intel.store.db import make_engine
from intel.timeutil import parse_since, utcnow


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "advise",
        help="which failed deliveries to replay now, and why",
        description="Print the replay advisor's recommendation. --json prints the "
        "GET /replay/recommendations body.",
    )
    parser.add_argument("--tenant", help="only this tenant's deliveries")
    parser.add_argument(
        "--since",
        help="failures since this RFC 3339 time or look-back (e.g. 24h, 7d); "
        "default replay.advisor_window",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON body")
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from intel.advisor import get_replay_recommendations

    now = utcnow()
    if args.since:
        try:
            parse_since(args.since, now)
        except ValueError as exc:
            print(f"error: --since: {exc}", file=sys.stderr)
            return 2
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    url = args.db or database_url()
    engine = make_engine(url)
    try:
        advice = get_replay_recommendations(
            engine, args.tenant, args.since, now=now, settings=settings.replay
        )
    except Exception as exc:  # database unreachable, schema missing ...
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"error: database {shown}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(advice, indent=2))
        return 0
    print_text(advice)
    return 0


def print_text(advice: dict) -> None:
    n, total = advice["total_recommended"], advice["total_analyzed"]
    share = f" ({advice['share_of_failures']:.0%} of failures)" if total else ""
    print(f"{n} deliveries recommended for replay{share}; confidence {advice['confidence']}")
    print(f"window: {advice['since']} .. {advice['until']}"
          + (f", tenant {advice['tenant']}" if advice["tenant"] else ""))
    print(advice["reasoning"])
    decisions = advice["breakdown"]["by_decision"]
    if decisions:
        print("decisions: " + ", ".join(f"{k} {v}" for k, v in decisions.items()))
    categories = advice["breakdown"]["by_category"]
    if categories:
        print("categories: " + ", ".join(f"{k} {v}" for k, v in categories.items()))
    in_progress = advice.get("in_progress") or {}
    if in_progress.get("total"):
        jobs = ", ".join(f"{j['job_id']} ({j['count']})" for j in in_progress["jobs"][:10])
        print(f"in progress (in unfinished replay jobs, not recommended): "
              f"{in_progress['total']}: {jobs}")
    if advice.get("outcome_unknown_total"):
        print(f"\noutcome unknown — check with the receiver: {advice['outcome_unknown_total']} "
              "(never resent automatically)")
        for entry in advice["outcome_unknown"][:20]:
            print(f"  {entry['id']}  job {entry['job_id']}  {redact_url(entry['endpoint'])}")
        print("  resend one deliberately (same webhook-id): python -m intel replay --ids ID "
              "--resend-unknown --operator NAME")
    if advice["affected_endpoints"]:
        print(f"\n{'recommended':>11} {'waiting':>7} {'failures':>8}  health          endpoint")
        for ep in advice["affected_endpoints"][:20]:
            print(f"{ep['recommended']:>11} {ep['waiting']:>7} {ep['failures']:>8}  "
                  f"{ep['health']:<15} {redact_url(ep['endpoint'])}")
            if ep.get("health_note"):
                print(f"{'':>30}  ({ep['health_note']})")
    if n:
        print("\nreplay them: python -m intel replay --recommended --operator NAME"
              + (f" --tenant {advice['tenant']}" if advice["tenant"] else "")
              + f" --since {advice['since']}")
