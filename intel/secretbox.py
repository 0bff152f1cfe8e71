"""Endpoint signing secrets, encrypted at rest with Fernet (``cryptography``).

Stored form: ``fernet:<token>`` in ``endpoints.signing_secret``. A value without the
prefix is a legacy plaintext secret (written before encryption): it is still used, and
``python -m intel secrets rotate`` encrypts it.

The key: ``INTEL_SECRET_KEY``, one or more Fernet keys (urlsafe base64 of 32 bytes, as
``python -m intel secrets genkey`` prints), comma-separated, newest first. New values are
encrypted with the first key; any of them decrypts (``MultiFernet``). To rotate: put a
new key first, run ``python -m intel secrets rotate`` (every stored secret re-encrypted
with the newest key), then drop the old key.

Without ``INTEL_SECRET_KEY``:

* in demo mode (``auth.demo: true``, as in ``config.demo.yaml`` that ``scripts/run``
  uses) the key is kept in ``data/secret.key``, created on first use with mode 0600
  (gitignored), so the demo's processes share it;
* otherwise there is no key, and storing or using a secret fails with
  :class:`SecretKeyMissing` saying what to set: a replay to an endpoint with a secret is
  refused (never sent unsigned), the simulator refuses to write endpoints.

Secrets are decrypted only in the process that uses them, right before use: the replay
sender to sign, the sandbox (the demo's stand-in for a customer's receiver) to verify.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

ENV = "INTEL_SECRET_KEY"
PREFIX = "fernet:"
GENKEY_HINT = "python -m intel secrets genkey"


class SecretError(ValueError):
    """A secret cannot be stored or used; the message says why and what to do."""


class SecretKeyMissing(SecretError):
    """No key is configured."""


class SecretKeyInvalid(SecretError):
    """A configured key is not a Fernet key."""


class SecretUndecryptable(SecretError):
    """A stored secret was encrypted with a key that is not configured (or was altered)."""


def generate_key() -> str:
    """A new Fernet key (urlsafe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def parse_keys(text: str, source: str = ENV) -> list[str]:
    """The comma-separated keys of ``text``, newest first; ``SecretKeyInvalid`` names a
    bad one by position (never echoing it)."""
    keys = [part.strip() for part in text.split(",") if part.strip()]
    if not keys:
        raise SecretKeyInvalid(f"{source} is empty; generate a key with {GENKEY_HINT}")
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyInvalid(
                f"{source}: key {position} of {len(keys)} is not a Fernet key (urlsafe "
                f"base64 of 32 bytes); generate one with {GENKEY_HINT}"
            ) from None
    return keys


class SecretBox:
    """Seals and opens stored secrets with the configured keys (None: no key)."""

    def __init__(self, keys: list[str] | None, source: str = ENV):
        self.source = source
        self.keys = list(keys) if keys else []
        self._multi = MultiFernet([Fernet(k) for k in self.keys]) if self.keys else None
        self._newest = Fernet(self.keys[0]) if self.keys else None

    @property
    def has_key(self) -> bool:
        return self._multi is not None

    def _need_key(self, what: str) -> MultiFernet:
        if self._multi is None:
            raise SecretKeyMissing(
                f"cannot {what} an endpoint signing secret: {ENV} is not set (secrets are "
                f"stored encrypted). Generate a key with {GENKEY_HINT} and set {ENV} in "
                "the environment of every process (app, API, worker, replay runners)."
            )
        return self._multi

    def seal(self, plaintext: str) -> str:
        """The stored form of ``plaintext`` (encrypted with the newest key)."""
        if not isinstance(plaintext, str) or not plaintext:
            raise SecretError("an endpoint signing secret must be non-empty text")
        token = self._need_key("store").encrypt(plaintext.encode("utf-8"))
        return PREFIX + token.decode("ascii")

    def open(self, stored: str) -> str:
        """The plaintext of a stored secret (a legacy plaintext value as it is)."""
        multi = self._need_key("use")
        if not is_sealed(stored):
            _warn_plaintext()
            return stored
        try:
            return multi.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretUndecryptable(
                f"an endpoint signing secret does not decrypt with the key(s) in "
                f"{self.source}: it was encrypted with another key (add that key after the "
                "new one, comma-separated) or the stored value was altered"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Sealed with the newest key (nothing for ``rotate`` to do)."""
        if not is_sealed(stored) or self._newest is None:
            return False
        try:
            self._newest.decrypt(stored[len(PREFIX):].encode("ascii"))
        except (InvalidToken, UnicodeError, ValueError):
            return False
        return True

    def reseal(self, stored: str) -> str:
        """``stored`` encrypted with the newest key (legacy plaintext encrypted)."""
        return self.seal(self.open(stored))


@lru_cache(maxsize=1)
def _warn_plaintext() -> None:
    log.warning("an endpoint signing secret is stored in plaintext (written before "
                "encryption); run python -m intel secrets rotate to encrypt it")


def _demo_key(path: Path) -> str:
    """The demo's key file: read it, or create it (mode 0600) when missing. Creation is
    atomic (a hard link), so processes starting together agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (generate_key() + "\n").encode("ascii"))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            log.info("demo mode: created the secret key file %s (mode 0600)", path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def default_key_file() -> Path:
    from intel.settings import REPO_ROOT

    return REPO_ROOT / "data" / "secret.key"


def load_box(*, environ: dict | None = None, demo: bool = False,
             key_file: Path | None = None) -> SecretBox:
    """The box for this configuration (see the module docstring); raises
    ``SecretKeyInvalid`` for a malformed key."""
    env = os.environ if environ is None else environ
    text = env.get(ENV)
    if text is not None and text.strip():
        return SecretBox(parse_keys(text))
    if demo:
        path = key_file or default_key_file()
        return SecretBox(parse_keys(_demo_key(path), source=str(path)), source=str(path))
    return SecretBox(None)


@dataclass(frozen=True)
class _Config:
    env: str | None
    demo: bool


@lru_cache(maxsize=4)
def _cached_box(config: _Config) -> SecretBox:
    environ = {ENV: config.env} if config.env is not None else {}
    return load_box(environ=environ, demo=config.demo)


def default_box() -> SecretBox:
    """The process's box: ``INTEL_SECRET_KEY``, else the demo key file in demo mode."""
    from intel.settings import get_settings

    return _cached_box(_Config(os.environ.get(ENV), get_settings().auth.demo))


# --- stored secrets: survey and rotation ----------------------------------------------------


@dataclass
class RotationReport:
    """What ``rotate`` did (or ``survey`` found): counts of endpoints' secrets."""

    current: int = 0  # sealed with the newest key (left as they are)
    rotated: int = 0  # sealed with an older key: re-encrypted with the newest
    encrypted: int = 0  # legacy plaintext: encrypted
    undecryptable: list[str] | None = None  # endpoints (credentials redacted) none opens

    def to_dict(self) -> dict:
        return {"current": self.current, "rotated": self.rotated, "encrypted": self.encrypted,
                "undecryptable": list(self.undecryptable or [])}


def _stored_secrets(conn) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from intel.store.schema import endpoints

    return [
        (url, secret)
        for url, secret in conn.execute(
            select(endpoints.c.url, endpoints.c.signing_secret).order_by(endpoints.c.url)
        )
        if secret
    ]


def survey(conn, box: SecretBox) -> RotationReport:
    """How the stored secrets stand: ``rotated``/``encrypted`` count what ``rotate`` would
    change. Reads only."""
    from intel.redact import redact_url

    report = RotationReport(undecryptable=[])
    for url, stored in _stored_secrets(conn):
        if not is_sealed(stored):
            report.encrypted += 1
        elif box.is_current(stored):
            report.current += 1
        else:
            try:
                box.open(stored)
                report.rotated += 1
            except SecretUndecryptable:
                report.undecryptable.append(redact_url(url))
    return report


def rotate(conn, box: SecretBox, *, actor: str, now) -> RotationReport:
    """Re-encrypt every stored secret with the newest key and encrypt legacy plaintext
    ones, in the caller's transaction, audited as ``secrets.rotate``. All or nothing: a
    secret no configured key opens raises ``SecretUndecryptable`` naming its endpoints
    (nothing is changed; add the old key after the new one and run it again)."""
    from sqlalchemy import update

    from intel.audit import SYSTEM, record
    from intel.store.schema import endpoints

    box._need_key("store")
    report = survey(conn, box)
    if report.undecryptable:
        shown = ", ".join(report.undecryptable[:10])
        more = len(report.undecryptable) - 10
        raise SecretUndecryptable(
            f"{len(report.undecryptable)} endpoint secret(s) do not decrypt with the key(s) in "
            f"{box.source}: {shown}{f' and {more} more' if more > 0 else ''}; nothing was "
            "changed (add the key they were encrypted with after the new one)"
        )
    for url, stored in _stored_secrets(conn):
        if box.is_current(stored):
            continue
        conn.execute(
            update(endpoints).where(endpoints.c.url == url)
            .values(signing_secret=box.reseal(stored), updated_at=now)
        )
    record(
        conn,
        actor=actor,
        action="secrets.rotate",
        at=now,
        target_type="endpoints",
        summary=(f"endpoint signing secrets: {report.rotated} re-encrypted with the newest "
                 f"key, {report.encrypted} plaintext encrypted, {report.current} already "
                 "current"),
        details=report.to_dict(),
        actor_kind="system" if actor in ("cli", SYSTEM) else None,
    )
    return report
