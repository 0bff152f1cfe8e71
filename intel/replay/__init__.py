"""Replay: signed, safe, persisted, resumable (CONTRACTS §4).

* ``engine.replay_single`` / ``engine.replay_now``: replay one delivery, or a list as a job,
  in this process.
* ``jobs``: create (with preview and claims), ``create_recommended_job`` (the one
  "replay the recommendation"), cancel, progress, summary, claims.
* ``states``: item, job and claim states; the outcome rule (succeeded / failed / unknown).
* ``runner``: the job runner (concurrency, rate, Retry-After, circuit breaker, resume).
* ``background``: start a runner as a detached process (what the app does).
* ``safety``: outbound SSRF policy and the pinned connection; ``signing``: Standard Webhooks.
* ``items``: the per-item transactions, and how a replay changes the delivery row.
"""

from intel.replay.engine import SingleOutcome, replay_now, replay_single
from intel.replay.jobs import (
    JobError,
    Preview,
    RecommendedJob,
    UnknownDeliveries,
    create_job,
    create_recommended_job,
    job_progress,
    job_summary,
    preview_replay,
    request_cancel,
)
from intel.replay.runner import RunResult, resume_stale_jobs, run_job

__all__ = [
    "JobError",
    "Preview",
    "RecommendedJob",
    "RunResult",
    "SingleOutcome",
    "UnknownDeliveries",
    "create_job",
    "create_recommended_job",
    "job_progress",
    "job_summary",
    "preview_replay",
    "replay_now",
    "replay_single",
    "request_cancel",
    "resume_stale_jobs",
    "run_job",
]
