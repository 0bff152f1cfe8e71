"""The API over the multi-tenant world of ``tests/scope/world.py``, on SQLite and
PostgreSQL, with one token per kind of caller.

The clock of the API is the world's ``NOW`` (``intel.api.deps.now`` patched), so its
24-hour windows hold the world's data; replay runners are never started (the launcher
dependency records the jobs instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from intel.api import create_app, deps
from intel.api.auth import forget_touches
from intel.auth.tokens import create_token, revoke_token
from intel.cache import get_cache
from intel.settings import get_settings
from tests.scope.world import NOW, World, build

ROOT = Path(__file__).resolve().parents[2]

#: name -> (role, tenants) of the tokens every test has.
TOKENS = {
    "viewer": ("viewer", ()),
    "operator": ("operator", ()),
    "admin": ("admin", ()),
    "acme": ("operator", ("acme",)),  # tenant-scoped: sees acme only
    "acme-viewer": ("viewer", ("acme",)),
}
#: Callers without a usable token: none at all, and tokens that do not authenticate.
NO_TOKEN = ("none", "unknown", "revoked", "expired")


@dataclass
class Api:
    client: TestClient
    engine: Engine
    world: World
    secrets: dict[str, str | None]
    launched: list[tuple[str, str | None]] = field(default_factory=list)

    def headers(self, who: str | None) -> dict[str, str]:
        secret = self.secrets.get(who) if who else None
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path: str, who: str | None = "admin", **kw):
        return self.client.get(path, headers=self.headers(who), **kw)

    def post(self, path: str, who: str | None = "admin", **kw):
        return self.client.post(path, headers=self.headers(who), **kw)

    def request(self, method: str, path: str, who: str | None, body=None):
        kw = {"json": body} if body is not None else {}
        return self.client.request(method, path, headers=self.headers(who), **kw)


def make_tokens(engine: Engine) -> dict[str, str | None]:
    made = NOW - timedelta(days=1)
    secrets: dict[str, str | None] = {"none": None, "unknown": "alk_" + "x" * 43}
    for name, (role, tenants) in TOKENS.items():
        secrets[name] = create_token(engine, name=name, role=role, tenants=tenants,
                                     actor="test", now=made)[1]
    secrets["revoked"] = create_token(engine, name="revoked", role="admin", actor="test",
                                      now=made)[1]
    revoke_token(engine, "revoked", actor="test", now=made)
    secrets["expired"] = create_token(engine, name="expired", role="admin", actor="test",
                                      now=made, expires_at=NOW - timedelta(minutes=1))[1]
    return secrets


def isolated_config(directory: Path) -> Path:
    """The repository's ``config.yaml`` with the triage model saved under ``directory``
    (so a model trained in the checkout never changes what a test sees)."""
    settings = yaml.safe_load((ROOT / "config.yaml").read_text()) or {}
    settings.setdefault("triage", {})["model_path"] = str(directory / "triage_model.joblib")
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture
def api(db_url, engine, monkeypatch, tmp_path) -> Api:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(isolated_config(tmp_path)))
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    get_cache().invalidate()
    forget_touches()
    monkeypatch.setattr(deps, "now", lambda: NOW)
    world = build(engine)
    secrets = make_tokens(engine)
    app = create_app()
    app.dependency_overrides[deps.engine] = lambda: engine
    api = Api(client=None, engine=engine, world=world, secrets=secrets)  # type: ignore[arg-type]

    def launcher(job_id, *, database_url=None, operator=None, env=None):
        api.launched.append((job_id, operator))

    app.dependency_overrides[deps.launcher] = lambda: launcher
    with TestClient(app, raise_server_exceptions=False) as client:
        api.client = client
        yield api
    get_settings.cache_clear()
