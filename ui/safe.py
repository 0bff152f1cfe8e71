"""Untrusted text on screen: escaped for Markdown, or redacted when it is an endpoint URL.

Streamlit renders Markdown in ``st.markdown``, every ``st.title``/``header``/``subheader``/
``caption``/``info``/``warning``/``error``/``success``/``toast``, progress texts, widget
labels, expander and tab labels and ``help=`` tooltips; its Markdown also knows
``:red[...]`` colour directives, ``:material/...:`` icons and ``$...$`` maths. A value
from outside (a URL parameter, a tenant id, an endpoint, an error string, a name) goes
into those only through ``md``; better still, into ``st.text``/``st.code`` or a dataframe
cell, which never render Markdown. Endpoint URLs shown anywhere go through ``url`` so
``https://user:pass@host/`` appears as ``https://***@host/``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd

from intel.redact import redact_text, redact_url

# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped, and
# together they cover emphasis, links, images, HTML, code, directives, maths and tables.
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def md(text: object) -> str:
    """``text`` safe inside a Markdown-rendering element: every ASCII punctuation character
    backslash-escaped, so it shows literally and never becomes a link, an image, HTML, a
    colour directive, an icon or formatting. Line breaks become spaces (no new blocks)."""
    flat = " ".join(str(text).splitlines())
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in flat)


def url(value: object) -> object:
    """An endpoint URL as it may be shown: credentials replaced by ``***``."""
    return redact_url(value)


def text(value: object) -> object:
    """Free text (an error, a summary) with any ``scheme://user:pass@`` redacted."""
    return redact_text(value)


def redact_columns(frame: pd.DataFrame, urls: tuple[str, ...] = (),
                   texts: tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy of ``frame`` with its endpoint-URL columns and free-text columns redacted
    (columns it does not have are skipped)."""
    out = frame.copy()
    for column in urls:
        if column in out.columns:
            out[column] = [redact_url(v) for v in out[column]]
    for column in texts:
        if column in out.columns:
            out[column] = [redact_text(v) for v in out[column]]
    return out


def headline(text_: str, target: object) -> str:
    """An incident headline with the credentials of its endpoint target redacted (the
    headline names the target's host, which would carry ``user:pass@``)."""
    if not isinstance(target, str) or "@" not in target:
        return redact_text(text_)
    userinfo = urlsplit(target).netloc.rpartition("@")[0]
    if userinfo:
        text_ = text_.replace(userinfo + "@", "***@")
    return redact_text(text_)
