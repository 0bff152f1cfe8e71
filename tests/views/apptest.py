"""Running one view (page file) under AppTest, as the app would inside st.navigation."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

VIEWS = Path(__file__).resolve().parents[2] / "views"


def run_view(name: str, *, timeout: float = 30, **params: str) -> AppTest:
    """Run ``views/<name>.py`` with ``params`` in its URL; fail on any exception."""
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at
