"""Capping untrusted stored values to the ``limits`` settings (``intel.settings.limits``).

A response body or error text over its limit keeps its first bytes (never half a
character) followed by a visible marker ``…[truncated N bytes]``, both within the limit;
response headers over theirs keep the headers that fit, in order, and one entry
``…truncated`` saying how many bytes and headers were cut (a name no real header has, so
triage never reads it as one).
A payload is never cut: :func:`payload_bytes` measures it for the caller to refuse.

Every function returns the value and the bytes it cut, so callers can count.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from intel.settings.limits import LimitSettings

MARKER = "…[truncated {n} bytes]"
TRUNCATED_HEADER = "…truncated"
# Room kept for the TRUNCATED_HEADER entry itself.
_HEADER_MARKER_ROOM = 96
#: Stored text fields and the limit each one has.
TEXT_LIMITS = {"response_body": "max_body_bytes", "error": "max_error_bytes"}


# Characters no store holds: NUL (PostgreSQL text) and unpaired surrogates (UTF-8 itself).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with every NUL and unpaired surrogate replaced by U+FFFD (for evidence:
    a response body, an error, a header value)."""
    if text.isascii() and "\x00" not in text:
        return text
    return UNSTORABLE.sub("\ufffd", text)


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (an unpaired surrogate counts as its 3 bytes)."""
    return len(text.encode("utf-8", "surrogatepass"))


def cut_text(text: str, limit_bytes: int) -> tuple[str, int]:
    """(``text`` cut to at most ``limit_bytes``, the marker included, and the bytes cut);
    ``(text, 0)`` when it fits. Within the limit, so cutting again changes nothing."""
    if len(text) * 4 <= limit_bytes:  # no character takes more than 4 bytes
        return text, 0
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit_bytes:
        return text, 0
    room = max(0, limit_bytes - len(MARKER.format(n=len(data)).encode("utf-8")))
    kept = data[:room].decode("utf-8", "ignore")  # never half a character
    cut = len(data) - utf8_size(kept)
    return kept + MARKER.format(n=cut), cut


CHARS_MARKER = "…[truncated {n} characters]"


def cut_chars(text: str, limit_chars: int) -> str:
    """``text`` cut to ``limit_chars`` characters plus ``…[truncated N characters]``
    (for API responses: ``limits.api_text_chars``); unchanged when it fits."""
    if not isinstance(text, str) or len(text) <= limit_chars:
        return text
    return text[:limit_chars] + CHARS_MARKER.format(n=len(text) - limit_chars)


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8",
                                                                          "surrogatepass"))


def _surely_fits(headers: Mapping, limit_bytes: int) -> bool:
    """A cheap bound: string names and values at their worst JSON size (6 bytes a
    character, an escaped control character) still fit."""
    total = 2
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            return False
        total += (len(name) + len(value)) * 6 + 6
        if total > limit_bytes:
            return False
    return True


def cap_headers(headers: Mapping, limit_bytes: int) -> tuple[dict | Mapping, int]:
    """(headers within ``limit_bytes`` of JSON, bytes cut); unchanged when they fit."""
    if _surely_fits(headers, limit_bytes):
        return headers, 0
    total = _json_size(headers)
    if total <= limit_bytes:
        return headers, 0
    budget = max(0, limit_bytes - _HEADER_MARKER_ROOM)
    out: dict = {}
    used = 2  # {}
    dropped = 0
    full = False
    for name, value in headers.items():
        key = str(name)
        key_size = _json_size(key) + 4  # with the ": " after it and the ", " before the next
        entry = key_size + _json_size(value)
        if not full and used + entry <= budget:
            out[key] = value
            used += entry
            continue
        room = budget - used - key_size - 2  # the quotes
        if not full and isinstance(value, str) and room > 48:
            shortened, _cut = cut_text(value, room)
            size = key_size + _json_size(shortened)  # escapes can make it longer
            if used + size <= budget:
                out[key] = shortened
                used += size
                full = True
                continue
        full = True
        dropped += 1
    cut = max(0, total - used)
    out[TRUNCATED_HEADER] = (
        MARKER.format(n=cut)
        + (f", {dropped} header(s) dropped" if dropped else "")
    )
    return out, cut


def payload_bytes(payload: Any) -> int:
    """Bytes a replay sends for ``payload`` (as ``intel.replay.signing.encode_payload``
    encodes it: a string as it is, anything else as compact JSON)."""
    if payload is None:
        return 0
    if isinstance(payload, str):
        return utf8_size(payload)
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
               .encode("utf-8", "surrogatepass"))


def cap_row(row: dict, limits: LimitSettings, cuts: Counter | None = None) -> int:
    """Cap ``row``'s body, error and headers in place; count cut values per field in
    ``cuts``; returns how many values were cut."""
    n = 0
    for field, limit_name in TEXT_LIMITS.items():
        value = row.get(field)
        if isinstance(value, str):
            row[field], cut = cut_text(value, getattr(limits, limit_name))
            if cut:
                n += 1
                if cuts is not None:
                    cuts[field] += 1
    headers = row.get("response_headers")
    if isinstance(headers, Mapping) and headers:
        row["response_headers"], cut = cap_headers(headers, limits.max_headers_bytes)
        if cut:
            n += 1
            if cuts is not None:
                cuts["response_headers"] += 1
    return n
