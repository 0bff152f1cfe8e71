"""Running one view (page file), or the whole app, under AppTest as a given identity.

Identities come through the app's real sign-in paths, never through anything a browser
could send: the settings (``demo_config``: demo mode plus ``auth.users`` entries with
tenants) and the session state a demo visitor's sidebar widgets write (``demo_name``,
``demo_role``). The page's clock is frozen through ``ui.session.CLOCK_KEY``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.session import CLOCK_KEY, DEMO_NAME_KEY, DEMO_ROLE_KEY

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "views"
APP = str(ROOT / "app.py")

#: The ``auth`` section every view test runs with (demo mode; two tenant-scoped names).
AUTH_YAML = """
auth:
  demo: true
  users:
    acme-viewer: {role: viewer, tenants: [acme]}
    acme-operator: {role: operator, tenants: [acme]}
    acme-admin: {role: admin, tenants: [acme]}
"""


def write_config(directory: Path, text: str = "") -> Path:
    """A config file holding ``text`` plus the test ``auth`` section."""
    path = directory / "config.yaml"
    path.write_text(text + AUTH_YAML)
    return path


def as_identity(at: AppTest, name: str | None, role: str | None = None,
                now: datetime | None = None) -> AppTest:
    """Sign ``at`` in as demo visitor ``name`` (None: nobody) with ``role``; freeze its
    clock at ``now``."""
    if name is not None:
        at.session_state[DEMO_NAME_KEY] = name
    if role is not None:
        at.session_state[DEMO_ROLE_KEY] = role
    if now is not None:
        at.session_state[CLOCK_KEY] = now
    return at


def view(name: str, *, timeout: float = 30, **params: str) -> AppTest:
    """An AppTest of ``views/<name>.py`` with ``params`` in its URL (not run yet)."""
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def run_view(name: str, *, timeout: float = 30, user: str | None = "alice",
             role: str | None = None, now: datetime | None = None, **params: str) -> AppTest:
    """Run ``views/<name>.py`` as ``user`` with ``params`` in its URL; fail on any
    exception."""
    at = as_identity(view(name, timeout=timeout, **params), user, role, now)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> list[str]:
    """Every piece of text a page rendered through Markdown (where hostile values must
    never arrive unescaped)."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning",
             "error", "success", "toast")
    out = []
    for kind in kinds:
        out.extend(str(e.value) for e in at.get(kind))
    out.extend(str(e.label) for e in at.expander)
    out.extend(str(e.label) for e in at.tabs)
    out.extend(str(e.label) for e in at.button)
    out.extend(str(e.label) for e in at.metric)
    for progress in at.get("progress"):
        out.append(str(progress.proto.text))
    return out
