"""Triage badges: one colour and one meaning per category, everywhere in the app.

green ``transient-endpoint-down`` (safe to retry), red ``permanent-4xx`` (investigate),
yellow ``rate-limited`` (wait), grey ``unknown`` (manual review). Badge texts are fixed
strings of this module, never data, so they may go through ``st.badge``; a table cell
carries the same colour as a coloured dot plus a cell background.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from intel.triage.result import CATEGORIES, PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN


@dataclass(frozen=True)
class Badge:
    dot: str  # coloured dot for table cells and option labels
    color: str  # st.badge colour
    meaning: str  # what the operator does with it
    background: str  # table cell background
    foreground: str  # table cell text


BADGES: dict[str, Badge] = {
    TRANSIENT: Badge("🟢", "green", "safe to retry", "#d3f9d8", "#1b5e20"),
    PERMANENT: Badge("🔴", "red", "investigate", "#ffe0e0", "#8a1c1c"),
    RATE_LIMITED: Badge("🟡", "yellow", "wait", "#fff3bf", "#6b4e00"),
    UNKNOWN: Badge("⚪", "gray", "manual review", "#eceff1", "#37474f"),
}


def badge_text(category: str | None) -> str:
    """``🟢 transient-endpoint-down`` for a table cell; ``—`` for no category."""
    if not category:
        return "—"
    badge = BADGES.get(category)
    return f"{badge.dot} {category}" if badge else category


def option_label(category: str | None) -> str:
    """``🟢 transient-endpoint-down · safe to retry`` for pickers; ``Any`` for None."""
    if category is None:
        return "Any"
    badge = BADGES.get(category)
    return f"{badge.dot} {category} · {badge.meaning}" if badge else category


def category_of_cell(text: str) -> str | None:
    """The category a :func:`badge_text` cell shows."""
    for category in CATEGORIES:
        if text.endswith(category):
            return category
    return None


def render_badge(category: str, score: int | None = None) -> None:
    """A coloured ``st.badge`` for one of the four categories (fixed text only)."""
    badge = BADGES.get(category)
    if badge is None:
        st.text(category)
        return
    suffix = f" · score {int(score)}" if score is not None else ""
    st.badge(f"{category} · {badge.meaning}{suffix}", color=badge.color)


def _cell_style(value: object) -> str:
    category = category_of_cell(value) if isinstance(value, str) else None
    if category is None:
        return ""
    badge = BADGES[category]
    return f"background-color: {badge.background}; color: {badge.foreground}; font-weight: 600"


def style_triage(frame: pd.DataFrame, column: str = "Triage"):
    """A Styler colouring ``column``'s badge cells (the data stays as it is)."""
    return frame.style.map(_cell_style, subset=[column])


def legend() -> str:
    """One line naming every badge (fixed text)."""
    return "   ".join(f"{b.dot} {c} = {b.meaning}" for c, b in BADGES.items())
