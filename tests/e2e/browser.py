"""Driving the app in headless Chromium as an operator would: open, sign in, click, look.

Streamlit draws after the script run the browser asked for, so every step waits for the
app to say it is not running (``data-test-script-state``) instead of sleeping. Each step
can leave a screenshot in the run's output folder; the ones the operator guide shows are
also written, small, to ``docs/img`` when ``E2E_DOCS_IMG`` names that folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SETTLE_TIMEOUT_MS = 60_000
START_WAIT_MS = 2_000


class Operator:
    """One browser tab and the identity typed into the demo sign-in."""

    def __init__(self, page: Page, base_url: str, shots: Path, name: str = "lead",
                 role: str | None = None):
        self.page, self.base_url, self.shots = page, base_url, shots
        self.name, self.role = name, role
        self.clicks = 0  # what the operator did: sign-in, clicks and key presses

    # --- navigation ---------------------------------------------------------------------

    def open(self, path: str = "/") -> Operator:
        """Open a page by its address (a deep link) and sign in on it."""
        self.page.goto(self.base_url + path)
        self.sign_in()
        return self

    def sign_in(self) -> None:
        box = self.page.get_by_role("textbox", name="Your name")
        box.wait_for(timeout=SETTLE_TIMEOUT_MS)
        box.fill(self.name)
        box.press("Enter")
        self.clicks += 1
        self.settle()
        if self.role:
            self.choose("Role", self.role)
        expect(self.page.get_by_text(f"{self.name} · ")).to_be_visible()

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the select box ``label``, by typing it as a person can."""
        box = self.page.get_by_role("combobox", name=label)
        if box.input_value() == option:
            return
        box.click()
        box.fill(option)
        self.page.get_by_role("option", name=option, exact=True).click()
        self.clicks += 1
        self.settle()
        expect(box).to_have_value(option)

    def nav(self, title: str) -> None:
        """Click a page in the sidebar navigation (the session and its sign-in carry on)."""
        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        self.clicks += 1
        self.settle()

    def click(self, name: str, *, exact: bool = True, within=None) -> None:
        scope = within if within is not None else self.page
        # By its text: a segmented control's options are buttons without an accessible name.
        text = re.compile(rf"^\s*{re.escape(name)}\s*$") if exact else name
        scope.locator("button").filter(has_text=text).first.click()
        self.clicks += 1
        self.settle()

    def press(self, key: str) -> None:
        # Streamlit's button shortcuts ignore keys typed into a field (the sign-in box
        # still has the focus after Enter): leave it first, as a person clicking away would.
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.keyboard.press(key)
        self.clicks += 1
        self.settle()

    def settle(self, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
        """Wait until the app has finished the run this step asked for.

        On a loaded machine the rerun may start well after the click, so first wait (a
        little) for it to start, then for it to end; a step that asks for no run costs
        only the first wait."""
        with contextlib.suppress(PlaywrightTimeout):
            self.page.locator("[data-test-script-state='running']").wait_for(
                state="attached", timeout=START_WAIT_MS)
        self.page.locator("[data-test-script-state='notRunning']").wait_for(
            timeout=timeout_ms)
        self.page.wait_for_timeout(150)

    # --- what is on the screen ----------------------------------------------------------

    def main_text(self) -> str:
        return self.page.get_by_test_id("stMain").inner_text()

    def assert_no_exception(self, where: str) -> None:
        boxes = self.page.locator("[data-testid='stException']")
        assert boxes.count() == 0, f"{where}: exception box: {boxes.first.inner_text()[:2000]}"
        errors = self.page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, f"{where}: error: {errors.first.inner_text()[:500]}"

    def buttons(self) -> list[str]:
        return [b.inner_text().strip() for b in self.page.locator("button").all()
                if b.is_visible()]

    def shot(self, step: str, docs_name: str | None = None) -> Path:
        """A screenshot of the step (the viewport, as the operator sees it)."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{step}.png"
        self.page.screenshot(path=path)
        docs = os.environ.get("E2E_DOCS_IMG")
        if docs and docs_name:
            small_png(path, Path(docs) / f"{docs_name}.png")
        return path


def small_png(source: Path, target: Path) -> None:
    """A 256-colour copy for the docs: a few tens of KB instead of a few hundred."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True)


def wait_until(predicate, timeout_s: float, what: str, every_s: float = 1.0):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s (last: {last!r})")


def number_before(text: str, words: str) -> int | None:
    """The integer just before ``words`` in ``text`` ("142 deliveries recommended")."""
    match = re.search(r"([\d,]+)\s+" + re.escape(words), text)
    return int(match.group(1).replace(",", "")) if match else None
