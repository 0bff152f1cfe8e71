"""`python -m intel replay ...`: replay deliveries as a persisted job (CONTRACTS §4).

    python -m intel replay --recommended [--tenant T] [--since T] --operator NAME [--json]
    python -m intel replay --ids ID [ID ...] --operator NAME [--resend-unknown] [--json]
    python -m intel replay --resume JOB [--operator NAME] [--json]
    python -m intel replay --cancel JOB --operator NAME
    python -m intel replay --status JOB [--json]

The job runs in this process; progress goes to stderr, the summary to stdout (``--json``:
job_id, attempted, succeeded, failed, unknown, skipped, refused, cancelled, interrupted,
in_other_jobs and one entry per delivery with its outcome).

A replay ends succeeded (2xx), failed (non-2xx, or provably never sent) or unknown (the
receiver may have it: a timeout after sending, a dropped connection, a runner that died
in flight). A delivery whose latest replay is unknown is never sent again automatically
(not by --recommended, another job or --resume); ``--ids ... --resend-unknown`` is the
operator's deliberate resend (same webhook-id). A delivery another unfinished job holds
is skipped ("in another job", with its id).

After its own job the command resumes any job whose runner died (stale heartbeat). Exit
status: 0 when every item that went out succeeded (or there was nothing to do), 1 when an
item failed, was refused, ended unknown or interrupted, or the job was cancelled or could
not be run, 2 on bad input.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from sqlalchemy.engine import make_url

from intel.settings import SettingsError, database_url, get_settings
from intel.store.db import make_engine
from intel.timeutil import parse_since, utcnow

log = logging.getLogger("intel.replay")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay failed deliveries (signed, rate-limited, resumable job)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--recommended", action="store_true",
                      help="replay what the advisor recommends")
    what.add_argument("--ids", nargs="+", metavar="ID", help="replay these delivery ids")
    what.add_argument("--resume", metavar="JOB",
                      help="run a pending job, or resume one whose runner died")
    what.add_argument("--cancel", metavar="JOB", help="cancel a job")
    what.add_argument("--status", metavar="JOB", help="print a job's progress")
    parser.add_argument("--tenant", help="with --recommended: only this tenant")
    parser.add_argument("--since", help="with --recommended: failures since (RFC 3339 or 24h)")
    parser.add_argument("--operator", help="who is replaying (recorded in the audit trail)")
    parser.add_argument("--resend-unknown", action="store_true",
                        help="with --ids: also send the deliveries whose earlier replay had "
                        "an unknown outcome (the receiver may have them; same webhook-id)")
    parser.add_argument("--json", action="store_true", help="print the JSON summary")
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL)")
    parser.add_argument("--no-resume-stale", action="store_true",
                        help="do not resume other jobs whose runner died")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


class _Progress:
    """Progress on stderr: a bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None
        self.last = 0.0
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="delivery", file=sys.stderr)

    def __call__(self, counts: dict) -> None:
        done = sum(counts.get(s, 0) for s in
                   ("succeeded", "failed", "refused", "unknown", "skipped", "cancelled",
                    "interrupted"))
        if self.bar is not None:
            self.bar.n = done
            self.bar.set_postfix(ok=counts.get("succeeded", 0), failed=counts.get("failed", 0),
                                 refresh=False)
            self.bar.refresh()
        elif time.monotonic() - self.last >= 2.0 or done == self.total:
            self.last = time.monotonic()
            print(f"replay: {done}/{self.total} done, {counts.get('succeeded', 0)} succeeded, "
                  f"{counts.get('failed', 0)} failed, {counts.get('unknown', 0)} unknown, "
                  f"{counts.get('skipped', 0)} skipped", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args) -> int:
    needs_operator = args.recommended or args.ids or args.cancel
    if needs_operator and not (args.operator and args.operator.strip()):
        return _fail("--operator NAME is required to replay or cancel")
    if (args.tenant or args.since) and not args.recommended:
        return _fail("--tenant and --since go with --recommended")
    if args.resend_unknown and not args.ids:
        return _fail("--resend-unknown goes with --ids (a deliberate resend of those "
                     "deliveries)")
    now = utcnow()
    if args.since:
        try:
            parse_since(args.since, now)
        except ValueError as exc:
            return _fail(f"--since: {exc}")
    try:
        settings = get_settings().replay
    except SettingsError as exc:
        return _fail(str(exc))
    url = args.db or database_url()
    engine = make_engine(url)
    try:
        return _dispatch(args, engine, settings, now)
    except Exception as exc:
        from intel.replay.jobs import JobError

        if isinstance(exc, JobError):
            return _fail(str(exc))
        shown = make_url(url).render_as_string(hide_password=True)
        log.debug("replay failed", exc_info=True)
        print(f"error: replay against {shown}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _dispatch(args, engine, settings, now) -> int:
    from intel.replay import jobs as J
    from intel.replay.runner import resume_stale_jobs, run_job

    if args.status:
        progress = J.job_progress(engine, args.status, now, settings.runner_stale_after_s)
        if progress is None:
            return _fail(f"--status: unknown replay job {args.status!r}")
        if args.json:
            print(json.dumps(progress, indent=2, default=str))
        else:
            print(f"{progress['job_id']}: {progress['status']}"
                  + (" (runner heartbeat stale: resumable)" if progress["stale"] else "")
                  + f", {progress['done']}/{progress['total']} done, "
                  f"{progress['succeeded']} succeeded, {progress['failed']} failed, "
                  f"{progress['unknown']} unknown, {progress['skipped']} skipped, "
                  f"{progress['refused']} refused")
        return 0
    if args.cancel:
        job = J.request_cancel(engine, args.cancel, operator=args.operator, now=now,
                               stale_after_s=settings.runner_stale_after_s)
        print(f"{args.cancel}: cancel requested (status {job['status']})", file=sys.stderr)
        if args.json:
            print(json.dumps(J.job_summary(engine, args.cancel), indent=2, default=str))
        return 0

    if args.resume:
        job = J.get_job(engine, args.resume)
        if job is None:
            return _fail(f"--resume: unknown replay job {args.resume!r}")
        job_id, total = args.resume, job["total"]
    else:
        if args.recommended:
            made = J.create_recommended_job(
                engine, operator=args.operator, now=now, launched_from="cli",
                tenant=args.tenant, since=args.since, settings=settings,
            )
            if not made.created:
                print(f"nothing to replay: {made.advice['reasoning']}", file=sys.stderr)
                _print_summary(args, None)
                return 0
            job_id, preview = made.job_id, made.preview
        else:
            job_id, preview = J.create_job(
                engine, args.ids, operator=args.operator, source="cli", now=now,
                filters={"launched_from": "cli"}, resend_unknown=args.resend_unknown,
            )
        total = preview.count
        held = []
        if preview.claimed_elsewhere:
            held.append(f"{preview.claimed_elsewhere} in another job "
                        f"({', '.join(preview.other_jobs)})")
        if preview.outcome_unknown:
            held.append(f"{preview.outcome_unknown} with an unknown earlier outcome"
                        + (" (resent: --resend-unknown)" if args.resend_unknown
                           else " (not resent without --resend-unknown)"))
        print(f"replay job {job_id}: {preview.count} deliveries to "
              f"{len(preview.endpoints)} endpoint(s); {preview.to_send} expected to go out"
              + (f"; {'; '.join(held)}" if held else ""),
              file=sys.stderr)
    progress = _Progress(total)
    try:
        result = run_job(engine, job_id, settings, operator=args.operator,
                         allow_failed=bool(args.resume), on_progress=progress)
    finally:
        progress.close()
    if not result.ran:
        print(f"error: {result.message}", file=sys.stderr)
    summary = J.job_summary(engine, job_id)
    _print_summary(args, summary)
    if not args.no_resume_stale:
        for other in resume_stale_jobs(engine, settings):
            print(f"resumed stale replay job {other.job_id}: {other.status}", file=sys.stderr)
    if not result.ran or result.status != "completed":
        return 1
    bad = summary["failed"] + summary["refused"] + summary["outcome_unknown"]
    return 1 if bad else 0


def _print_summary(args, summary: dict | None) -> None:
    if summary is None:
        summary = {"job_id": None, "status": None, "attempted": 0, "succeeded": 0, "failed": 0,
                   "unknown": 0, "skipped": 0, "refused": 0, "cancelled": 0, "interrupted": 0,
                   "outcome_unknown": 0, "in_other_jobs": {}, "pending": 0, "total": 0,
                   "endpoints": [], "deliveries": []}
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return
    print(f"job {summary['job_id']}: {summary['status']}: {summary['attempted']} attempted, "
          f"{summary['succeeded']} succeeded, {summary['failed']} failed, "
          f"{summary['unknown']} unknown, "
          f"{summary['skipped']} skipped, {summary['refused']} refused, "
          f"{summary['cancelled']} cancelled, {summary['interrupted']} interrupted")
    for other, n in (summary.get("in_other_jobs") or {}).items():
        print(f"  skipped: in another job: {n} (job {other})")
    if summary.get("outcome_unknown"):
        print(f"  outcome unknown — check with the receiver: {summary['outcome_unknown']} "
              "(never resent automatically; resend deliberately with --ids ... "
              "--resend-unknown)")
    troubled = [e for e in summary.get("deliveries", []) if e["outcome"] != "succeeded"]
    for entry in troubled[:50]:
        print(f"  {entry['id']}: {entry['outcome']}"
              + (f" ({entry['reason']})" if entry["reason"] else ""))
    if len(troubled) > 50:
        print(f"  ... and {len(troubled) - 50} more (--json lists every delivery)")
