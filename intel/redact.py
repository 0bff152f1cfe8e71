"""Credentials in endpoint URLs are never shown: ``https://user:pass@host/`` → ``https://***@host/``.

Call ``redact_url`` wherever an endpoint URL leaves the process for a person or a log
(UI, API bodies, notifications, log lines). The stored URL keeps its credentials; a
replay forwards them only when ``replay.forward_url_credentials`` allows it.
"""

from __future__ import annotations

import re

# scheme://userinfo@ — userinfo is everything up to the last '@' before the host part.
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#]*)@")

MASK = "***"


def redact_url(url: object) -> object:
    """The URL with any ``user:password@`` replaced by ``***@``; other values unchanged."""
    if not isinstance(url, str) or "@" not in url:
        return url
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", url, count=1)


def has_credentials(url: object) -> bool:
    return isinstance(url, str) and _USERINFO.match(url) is not None


def redact_text(text: object) -> object:
    """Every ``scheme://user:pass@`` inside free text (log lines, error strings)."""
    if not isinstance(text, str) or "@" not in text:
        return text
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@", rf"\1{MASK}@", text)
