"""The whole product, started the way the README's run command starts it, for browser tests.

``scripts/run`` is started as it is (same Procfile, same demo config, same seed) with the
ports, the SQLite file, the run directory and the replay logs pointed at a throwaway
directory, so a developer's own demo data is left alone. Everything it starts is in one
process group, stopped as a group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300  # a fresh .venv check, the seeded week and five processes on 2 cores


def chromium_path() -> str | None:
    """Debian's chromium (the browser Playwright drives; nothing is downloaded)."""
    return os.environ.get("E2E_CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Product:
    workdir: Path
    app_url: str
    api_url: str
    sandbox_url: str
    database_url: str
    log: Path
    process: subprocess.Popen
    env: dict[str, str]

    @property
    def api_token(self) -> str:
        return (self.workdir / "run" / "demo-api-token").read_text().strip()

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """``python -m intel ...`` against this product's database."""
        return subprocess.run([str(REPO / ".venv/bin/python"), "-m", "intel", *args],
                              cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=120, check=True)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_http(url: str, process: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"scripts/run exited with {process.returncode} before {url} "
                               f"answered; its log ends:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT_S} s; the log ends:\n"
                       f"{log.read_text(errors='replace')[-4000:]}")


def start(workdir: Path) -> Product:
    app, api, sandbox = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "INTEL_CONFIG", "DATABASE_URL")}
    database_url = f"sqlite:///{workdir / 'e2e.db'}"
    env |= {
        "DATABASE_URL": database_url,
        "INTEL_APP_PORT": str(app),
        "INTEL_API_PORT": str(api),
        "INTEL_SANDBOX_PORT": str(sandbox),
        "INTEL_RUN_DIR": str(workdir / "run"),
        "INTEL_REPLAY_LOG_DIR": str(workdir / "logs"),
        "INTEL_SECRET_KEY": Fernet.generate_key().decode(),
        "INTEL_CONFIG": "config.demo.yaml",
        "PYTHONUNBUFFERED": "1",
    }
    log = workdir / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["bash", "scripts/run"], cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    product = Product(workdir=workdir, app_url=f"http://127.0.0.1:{app}",
                      api_url=f"http://127.0.0.1:{api}",
                      sandbox_url=f"http://127.0.0.1:{sandbox}", database_url=database_url,
                      log=log, process=process, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        _wait_http(f"{product.app_url}/_stcore/health", process, log, deadline)
        _wait_http(f"{product.api_url}/health", process, log, deadline)
    except BaseException:
        stop(product)
        raise
    return product


def stop(product: Product) -> None:
    """SIGTERM to the whole group (honcho and what it started), SIGKILL after 20 s."""
    try:
        os.killpg(product.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        product.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(product.process.pid, signal.SIGKILL)
