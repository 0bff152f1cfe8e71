"""The operator guide: cut into blocks for the app, its screenshots present and small."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intel.docs import GUIDE_PATH, split_markdown

BASE = Path("/docs")


@pytest.mark.parametrize(("markdown", "expected"), [
    ("# Title\ntext", [("markdown", "# Title\ntext", None)]),
    ("before\n![The banner](img/banner.png)\nafter",
     [("markdown", "before", None), ("image", "The banner", "/docs/img/banner.png"),
      ("markdown", "after", None)]),
    ("   ![indented](img/a.png)  ", [("image", "indented", "/docs/img/a.png")]),
    # An image inside a sentence is not a block of its own.
    ("see ![x](img/a.png) here", [("markdown", "see ![x](img/a.png) here", None)]),
    # A remote image is left to Markdown (the guide has none: nothing reaches the internet).
    ("![remote](https://example.com/a.png)",
     [("markdown", "![remote](https://example.com/a.png)", None)]),
    ("![a](img/a.png)\n![b](img/b.png)",
     [("image", "a", "/docs/img/a.png"), ("image", "b", "/docs/img/b.png")]),
    # Links to other documents name the file (the app does not serve docs/).
    ("see [summary](summary.md#decision-time)", [("markdown", "see summary (docs/summary.md)",
                                                  None)]),
    ("[up](#top) and [web](https://x.example/)",
     [("markdown", "[up](#top) and [web](https://x.example/)", None)]),
    ("\n\n", []),
])
def test_split_markdown(markdown, expected):
    blocks = split_markdown(markdown, BASE)
    assert [(b.kind, b.text, str(b.image) if b.image else None) for b in blocks] == expected


def test_every_screenshot_the_guide_shows_is_there_and_small():
    text = GUIDE_PATH.read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) >= 8
    for src in images:
        path = GUIDE_PATH.parent / src
        assert path.is_file(), f"{src}: missing (scripts/screenshots takes them)"
        assert path.stat().st_size < 150_000, f"{src}: {path.stat().st_size} bytes"


def test_the_guide_covers_what_an_operator_must_know():
    text = GUIDE_PATH.read_text().lower()
    for topic in ("transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown outcome",
                  "acknowledg", "escalat", "resolves", "strict accuracy", "accepted accuracy",
                  "viewer", "operator", "admin", "tenant", "known limits"):
        assert topic in text, topic
