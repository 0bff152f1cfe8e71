"""AppTest: the Help page draws the operator guide with its screenshots."""

from __future__ import annotations

from tests.views.apptest import as_identity, view


def test_the_help_page_shows_the_guide_with_its_screenshots(demo_config):
    at = as_identity(view("guide"), "lead", "viewer").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "Operator guide" in shown and "The replay advisor" in shown
    assert len(at.get("image")) >= 8
