"""The operator guide (``docs/operator-guide.md``) as blocks the app can draw.

The guide is our own Markdown, written for GitHub: its images are paths relative to
``docs/`` and its links point at other files of ``docs/``. Streamlit's Markdown cannot load
a local image, so the guide is cut into text blocks and image blocks (the page draws an
image with ``st.image``), and links to other documents are turned into plain text that
names the file, since the app does not serve them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE_PATH = DOCS / "operator-guide.md"

IMAGE = re.compile(r"^\s*!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)\s*$")
# [text](other.md#anchor) -> text (docs/other.md); in-page anchors (#...) are kept.
DOC_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>(?!#|https?:)[^)\s]+)\)")


@dataclass(frozen=True)
class GuideBlock:
    kind: str  # "markdown" | "image"
    text: str = ""  # the Markdown, or the image's caption
    image: Path | None = None  # the image file, when kind == "image"


def _unlink(text: str) -> str:
    return DOC_LINK.sub(lambda m: f"{m['text']} (docs/{m['target'].split('#')[0]})", text)


def split_markdown(markdown: str, base: Path) -> list[GuideBlock]:
    """Cut ``markdown`` at its image lines; image paths resolve against ``base``."""
    blocks: list[GuideBlock] = []
    pending: list[str] = []

    def flush() -> None:
        text = "\n".join(pending).strip("\n")
        if text.strip():
            blocks.append(GuideBlock("markdown", _unlink(text)))
        pending.clear()

    for line in markdown.splitlines():
        match = IMAGE.match(line)
        if match and not match["src"].startswith(("http:", "https:")):
            flush()
            blocks.append(GuideBlock("image", match["alt"], (base / match["src"]).resolve()))
        else:
            pending.append(line)
    flush()
    return blocks


def guide_blocks(path: Path = GUIDE_PATH) -> list[GuideBlock]:
    """The operator guide as blocks; a missing image file becomes a note, not an error."""
    blocks = split_markdown(path.read_text(encoding="utf-8"), path.parent)
    return [b if b.kind != "image" or (b.image and b.image.is_file())
            else GuideBlock("markdown", f"*(screenshot missing: {b.image.name})*")
            for b in blocks]
