"""Reading one value out of URL query parameters, the same way for every page and route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def one(params: Mapping[str, Any], name: str) -> str | None:
    """The value of ``name`` in ``params`` (the last one of a repeated parameter); None
    when absent or blank, so ``?tenant=`` means no tenant filter rather than tenant ''."""
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    if value is None:
        return None
    value = str(value)
    return value if value.strip() else None


def page_number(raw: str) -> int:
    """A 1-based page number from a URL; else a ValueError naming the value."""
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if page < 1:
        raise ValueError(f"expected a whole number >= 1, got {raw!r}")
    return page
