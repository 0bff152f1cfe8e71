"""The product's own documentation, read for the app's Help page."""

from intel.docs.guide import GUIDE_PATH, GuideBlock, guide_blocks, split_markdown

__all__ = ["GUIDE_PATH", "GuideBlock", "guide_blocks", "split_markdown"]
