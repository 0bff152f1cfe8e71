"""Fixtures of the browser end-to-end tests: the running product and a headless Chromium.

Run them alone with ``.venv/bin/python -m pytest -m e2e``. Screenshots of every step go
to ``E2E_OUTPUT`` (default ``test-output/e2e/`` in the repository); ``scripts/screenshots``
also refreshes the operator guide's images in ``docs/img/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import service_missing
from tests.e2e import product as P


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    return Path(os.environ.get("E2E_OUTPUT") or P.REPO / "test-output" / "e2e")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = P.chromium_path()
    if not path:
        service_missing("Debian's chromium (apt-get install chromium)", "no chromium on PATH")
    return path


@pytest.fixture(scope="module")
def product(tmp_path_factory, chromium):
    running = P.start(tmp_path_factory.mktemp("product"))
    try:
        yield running
    finally:
        P.stop(running)


@pytest.fixture(scope="module")
def db(product):
    engine = sa.create_engine(product.database_url)
    yield engine
    engine.dispose()


# Module-scoped, not session: Playwright's sync API keeps an event loop running on this
# thread while it is open, and later tests in the same worker call asyncio.run().
@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import expect, sync_playwright

    # A page run on a loaded 2-core machine can take tens of seconds (Insights cold):
    # assertions wait as long as actions do, not Playwright's default 5 s.
    expect.set_options(timeout=60_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  timezone_id="UTC", locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
