"""JSON bodies: datetimes as RFC 3339 UTC, every text capped and without credentials.

:func:`to_json` is what every route returns through. Besides making values JSON-ready
(datetimes, decimals, numpy scalars, non-finite floats as null), it treats every string
in the body, keys included, as untrusted text:

* credentials in URLs are masked: ``https://user:pass@host/`` -> ``https://***@host/``,
  also inside free text (errors, summaries, reasons) and in their URL-encoded form
  (``https%3A%2F%2Fuser%3Apass%40host`` in a history ``link``);
* it is cut at ``limits.api_text_chars`` characters with ``…[truncated N characters]``
  (``intel.deliveries.caps.cut_chars``), so a 50 MB stored response body gives a bounded
  response.

The masking runs in linear time whatever the text (a hostile response body of megabytes
of letters and one ``@`` costs one pass), and before the cut, so a cut never leaves half
a password behind.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from intel.deliveries.caps import cut_chars
from intel.redact import MASK
from intel.timeutil import to_rfc3339

# ``scheme://userinfo@``: anchored on the literal ``://`` so each match attempt scans
# only to the next delimiter (linear), unlike a pattern that starts with the scheme.
_USERINFO = re.compile(r"://[^/?#\s]*@")
_USERINFO_ENCODED = re.compile(r"(?i)(%3A%2F%2F)(?:(?!%2F|%3F|%23)[^/?#&\s])*%40")


def mask_credentials(text: str) -> str:
    """``text`` with the userinfo of every URL in it (plain or URL-encoded) masked."""
    if "@" in text:
        text = _USERINFO.sub(f"://{MASK}@", text)
    if "%40" in text:
        text = _USERINFO_ENCODED.sub(lambda m: f"{m.group(1)}{MASK}%40", text)
    return text


def clean_text(text: str, limit: int | None) -> str:
    text = mask_credentials(text)
    return cut_chars(text, limit) if limit else text


def _text_limit() -> int:
    from intel.settings import get_settings

    return get_settings().limits.api_text_chars


def to_json(value: Any, *, text_chars: int | None = None) -> Any:
    """``value`` ready for a JSON response (see the module docstring); ``text_chars``
    defaults to the ``limits.api_text_chars`` setting."""
    return _convert(value, text_chars if text_chars is not None else _text_limit())


def _convert(value: Any, limit: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return to_rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {clean_text(str(k), limit): _convert(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_convert(v, limit) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return _convert(value.value, limit)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _convert(value.item(), limit)
    if isinstance(value, bytes):
        return clean_text(value.decode("utf-8", "replace"), limit)
    return value
