"""CSV cells a spreadsheet cannot run: every CSV the product writes goes through here.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``).
Tenant ids, endpoint URLs, notes and ids come from outside, so such a text cell gets a
leading apostrophe, which spreadsheets show as text and do not evaluate (OWASP "CSV
injection"). Numbers are left alone: ``-5`` as a number is not a formula.

``restore_cell`` undoes it for the files the product reads back (the labels export is
also an import format). The one value it cannot tell apart is a text that itself starts
with an apostrophe followed by one of those characters: it is read back without the
apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a frame is written: the CLI stays light
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return QUOTE + value
    return value


def restore_cell(value: object) -> object:
    """The text ``safe_cell`` was given (for files the product reads back)."""
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:].startswith(
        FORMULA_START
    ):
        return value[1:]
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(v) for v in row]


def rows_to_csv(header: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV text from a header and rows, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return out.getvalue()


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are made safe."""
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(
            safe[column]
        ):
            safe[column] = pd.Series([safe_cell(v) for v in safe[column]], index=safe.index,
                                     dtype=object)
    safe.columns = [safe_cell(c) if isinstance(c, str) else c for c in safe.columns]
    return safe


def frame_to_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), every text cell made safe."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\n")
