"""Start a job runner as a detached process (how the app runs bulk replays).

The app does not run jobs in its own process: a Streamlit script run ends with the page,
a browser tab can close, and the server can restart. ``launch`` starts
``python -m intel replay --resume JOB`` in its own session (so it outlives the app),
with the app's environment (``DATABASE_URL``, ``INTEL_CONFIG``), logging to
``data/logs/replay-<job>.log`` (or the directory in ``INTEL_REPLAY_LOG_DIR``). The page
follows progress in the database. Should the process die, the job's heartbeat goes stale
and the next runner resumes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from intel.settings import REPO_ROOT

LOG_DIR = REPO_ROOT / "data" / "logs"


def log_dir() -> Path:
    return Path(os.environ.get("INTEL_REPLAY_LOG_DIR") or LOG_DIR)


def log_path(job_id: str) -> Path:
    return log_dir() / f"replay-{job_id}.log"


def launch(job_id: str, *, database_url: str | None = None, operator: str | None = None,
           env: dict | None = None) -> subprocess.Popen:
    """Start the runner for ``job_id`` detached; returns the process handle."""
    log_dir().mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ if env is None else env)
    if database_url:
        child_env["DATABASE_URL"] = database_url
    existing = child_env.get("PYTHONPATH")
    child_env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + existing if existing else "")
    cmd = [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--json"]
    if operator:
        cmd += ["--operator", operator]
    with open(log_path(job_id), "ab") as log:
        return subprocess.Popen(
            cmd,
            cwd=str(REPO_ROOT),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
