"""Replay fixtures: a real HTTP receiver (plain and TLS) on 127.0.0.1."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from tests.replay.replay_helpers import Receiver, serve


@pytest.fixture
def receiver():
    rec = serve(Receiver())
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for DNS:localhost only (made with the openssl CLI)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(tls_cert):
    cert, key = tls_cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    rec = serve(Receiver(), ctx)
    yield rec
    rec.server.shutdown()
    rec.server.server_close()
