"""Running the sandbox: in the foreground (CLI) or in a background thread (tests, benches)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from sqlalchemy import Engine

from intel.sandbox.app import AbortableH11Protocol, Sandbox


def _config(app: Sandbox, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=AbortableH11Protocol,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
        backlog=2048,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (raises ``OSError``: in use, denied ...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(engine: Engine, *, host: str, port: int, base_url: str | None = None,
                  reload_s: float = 5.0, log_level: str = "info") -> None:
    """Serve until interrupted (``python -m intel sandbox``). Raises ``OSError`` when the
    address cannot be bound."""
    sock = bind(host, port)
    app = Sandbox(engine, base_url=base_url or f"http://{host}:{port}", reload_s=reload_s)
    try:
        uvicorn.Server(_config(app, host, port, log_level)).run(sockets=[sock])
    finally:
        sock.close()


class SandboxThread:
    """The sandbox on ``host`` and a free port, in a daemon thread; a context manager.

    ``base_url`` is ``http://host:port`` unless given; the socket is bound before the
    thread starts, so the port is known (and reserved) up front.
    """

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = 0,
                 base_url: str | None = None, reload_s: float = 5.0, log_level: str = "warning"):
        self.sock = bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.base_url = base_url or f"http://{self.host}:{self.port}"
        self.app = Sandbox(engine, base_url=self.base_url, reload_s=reload_s)
        self.server = uvicorn.Server(_config(self.app, self.host, self.port, log_level))
        self.thread = threading.Thread(target=self._run, name="sandbox", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 15.0) -> SandboxThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def __enter__(self) -> SandboxThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
