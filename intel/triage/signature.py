"""Failure signatures: the normalised form of a failure the rules are matched against.

A delivery is reduced to a :class:`Signature`: whether it was delivered, its HTTP status
(the ``http_status`` field, or failing that a code read from the error/body text, marked
as inferred), the response headers the rules look at (name lower-cased, value
normalised) and the normalised error and body text. Normalising drops what varies
between occurrences of the same failure and keeps what names it:

* lower case, whitespace collapsed, HTML tags and ``<script>``/``<style>`` blocks dropped;
* URLs → ``<url>``, UUIDs → ``<uuid>``, IPv4/IPv6 addresses (with port) → ``<ip>``,
  host names (ending in a common TLD, or after "lookup") → ``<host>``, absolute paths →
  ``<path>``, hex ids (``0x…``, or 8+ hex chars mixing digits and letters) and long
  alphanumeric tokens → ``<hex>``, numbers → ``<n>`` (a lone ``0`` stays: "0ms" is a
  configuration error, "remaining=0" a spent quota);
* digits glued to letters stay (``H12``, ``x509``, ``http2``, ``ERR_NGROK_8012``): they
  name error families;
* quoted strings are kept: Python's requests/urllib3 and every JSON body quote the very
  words that name the error (``ConnectionResetError(104, 'Connection reset by peer')``).

Raw text is cut to :data:`MAX_TEXT` characters first (after ``<script>``/``<style>``
blocks of a long HTML page are dropped), so the work per failure is bounded.

:func:`failure_signature` renders the signature as one string, the key the failure-groups
view folds by (with endpoint and category), e.g.
``-||dial tcp <ip>: connect: connection refused|`` or
``~503|retry-after=<n>||<n> service unavailable``.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from intel.triage.rules import RULES

#: Characters of error or body text kept (the body is "the start of the response").
MAX_TEXT = 2048
#: Characters of a long body scanned for ``<script>``/``<style>`` blocks before the cut.
MAX_SCAN = 16384
#: Characters of a header value kept.
MAX_HEADER_VALUE = 200

#: Header names (lower case) some rule looks at; only these enter the signature.
RELEVANT_HEADERS: frozenset[str] = frozenset(
    name.lower() for rule in RULES for match in rule.headers for name in match.names
)

RawHeaders = tuple[tuple[str, str], ...]


class RawKey(NamedTuple):
    """A delivery reduced to what triage reads, before normalisation (hashable)."""

    delivered: bool
    status: int | None
    error: str
    body: str
    headers: RawHeaders


class Signature(NamedTuple):
    """The normalised failure the rules match (hashable: the memo key)."""

    delivered: bool
    status: int | None
    status_inferred: bool
    headers: tuple[tuple[str, str], ...]
    error: str
    body: str

    def render(self) -> str:
        status = "-" if self.status is None else f"{'~' if self.status_inferred else ''}"
        if self.status is not None:
            status += str(self.status)
        headers = ",".join(f"{name}={value}" for name, value in self.headers)
        text = f"{status}|{headers}|{self.error}|{self.body}"
        return f"delivered|{text}" if self.delivered else text


# --- reading odd field values ----------------------------------------------------------

# a block cut off by MAX_SCAN runs to the end of the text
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.I | re.S)


def as_text(value: Any) -> str:
    """Any field value as text: None/NaN → "", str as is, bytes decoded, containers as
    JSON; long text cut to :data:`MAX_TEXT` characters."""
    try:
        if value is None:
            return ""
        if isinstance(value, str):
            text = value
        elif isinstance(value, bytes | bytearray):
            text = bytes(value[:MAX_SCAN]).decode("utf-8", "replace")
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, float):
            text = "" if math.isnan(value) else repr(value)
        elif isinstance(value, int):
            text = str(value)
        elif type(value).__name__ in ("NAType", "NaTType"):
            return ""
        elif isinstance(value, Mapping | list | tuple):
            text = json.dumps(value, ensure_ascii=False, default=str)
        else:
            text = str(value)
    except Exception:  # a field that cannot be read counts as empty
        return ""
    if len(text) > MAX_TEXT:
        text = text[:MAX_SCAN]
        if "<" in text:
            text = _SCRIPT_STYLE.sub(" ", text)
        text = text[:MAX_TEXT]
    return text


_STATUS_STR = re.compile(r"^\s*(\d{3})(?:\.0*)?(?:\s|$)")


def parse_status(value: Any) -> int | None:
    """The HTTP status field as an int in 100..599, or None (missing or unreadable).

    Accepts ints, integral floats (503.0, as pandas stores a column with gaps) and
    strings ("503", " 503 ", "503.0", "503 Service Unavailable"); booleans, lists,
    NaN and anything else are "no status"."""
    try:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, numbers.Integral):
            code = int(value)
        elif isinstance(value, numbers.Real):
            number = float(value)
            if not math.isfinite(number) or not number.is_integer():
                return None
            code = int(number)
        elif isinstance(value, str | bytes):
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            found = _STATUS_STR.match(text)
            if not found:
                return None
            code = int(found.group(1))
        else:
            return None
    except Exception:  # unreadable: no status
        return None
    return code if 100 <= code <= 599 else None


def is_delivered(value: Any) -> bool:
    """True when the delivery status field says ``delivered`` (any case, any spaces)."""
    return isinstance(value, str) and value.strip().lower() == "delivered"


# --- headers ---------------------------------------------------------------------------


def _header_pairs(headers: Any) -> list[tuple[Any, Any]]:
    """(name, value) pairs from a dict, a list of pairs / "Name: value" strings /
    {"name":…, "value":…} objects, or a string of "Name: value" lines (or JSON)."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    if isinstance(headers, bytes | bytearray):
        headers = bytes(headers).decode("utf-8", "replace")
    if isinstance(headers, str):
        stripped = headers.strip()
        if stripped[:1] in ("{", "["):
            try:
                return _header_pairs(json.loads(stripped))
            except ValueError:
                pass
        pairs = []
        for line in stripped.splitlines():
            name, sep, value = line.partition(":")
            if sep:
                pairs.append((name, value))
        return pairs
    if isinstance(headers, list | tuple):
        pairs = []
        for item in headers:
            if isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif isinstance(item, Mapping):
                name = item.get("name", item.get("key"))
                if name is not None:
                    pairs.append((name, item.get("value")))
            elif isinstance(item, str):
                name, sep, value = item.partition(":")
                if sep:
                    pairs.append((name, value))
        return pairs
    return []


def _header_value(value: Any) -> str:
    if type(value) is str and len(value) <= MAX_TEXT:
        return value.strip()[:MAX_HEADER_VALUE]
    if isinstance(value, list | tuple):
        value = ", ".join(as_text(v) for v in value)
    return as_text(value).strip()[:MAX_HEADER_VALUE]


def _wanted_keys(keys: Any) -> tuple[tuple[Any, str], ...]:
    """(key, lower name) of the relevant keys, first occurrence of a name, by name."""
    found: dict[str, Any] = {}
    for key in keys:
        name = as_text(key).strip().lower()
        if name in RELEVANT_HEADERS and name not in found:
            found[name] = key
    return tuple((key, name) for name, key in sorted(found.items()))


# Which keys of a header dict with these keys are relevant: real traffic repeats the
# same header names with different values, so this makes dict headers cheap in batches.
_KEYS_CACHE: dict[tuple[Any, ...], tuple[tuple[Any, str], ...]] = {}
_KEYS_CACHE_MAX = 4096


def relevant_headers(headers: Any) -> RawHeaders:
    """The response headers some rule looks at, as ``(lower name, raw value)`` pairs
    sorted by name (first occurrence of a name wins). Never raises."""
    try:
        if headers is None:
            return ()
        if type(headers) is dict:
            keys = tuple(headers)
            try:
                wanted = _KEYS_CACHE.get(keys)
            except TypeError:  # an unhashable key: no caching
                wanted, keys = _wanted_keys(keys), None
            if wanted is None:
                wanted = _wanted_keys(keys)
                if len(_KEYS_CACHE) < _KEYS_CACHE_MAX:
                    _KEYS_CACHE[keys] = wanted
            if not wanted:
                return ()
            pairs = []
            for key, name in wanted:  # hot loop in batches: inline the plain-str case
                value = headers[key]
                if type(value) is str and len(value) <= MAX_TEXT:
                    pairs.append((name, value.strip()[:MAX_HEADER_VALUE]))
                else:
                    pairs.append((name, _header_value(value)))
            return tuple(pairs)
        found: dict[str, str] = {}
        for name, value in _header_pairs(headers):
            lname = as_text(name).strip().lower()
            if lname in RELEVANT_HEADERS and lname not in found:
                found[lname] = _header_value(value)
        return tuple(sorted(found.items()))
    except Exception:  # odd headers count as none
        return ()


# --- status read from the text ----------------------------------------------------------

_REASON_PHRASES = (
    r"bad request|unauthori[sz]ed|payment required|forbidden|not found|method not allowed"
    r"|not acceptable|proxy authentication required|request time-?out|conflict|gone"
    r"|length required|precondition failed|(request entity|payload|content) too large"
    r"|(request-)?uri too long|unsupported media type|unprocessable (entity|content)"
    r"|too many requests|page expired|internal server error|not implemented|bad gateway"
    r"|service (temporarily )?unavailable|gateway time-?out|web server is down"
    r"|connection timed out|origin is unreachable|a timeout occurred|ssl handshake failed"
    r"|invalid ssl certificate|web server returned an unknown error"
)
_INFER_STATUS = (
    re.compile(rf"\b([45]\d\d)\W{{1,4}}(?:message=\W{{0,2}})?(?:{_REASON_PHRASES})\b", re.I),
    re.compile(
        r"(?:\bhttp(?:/\d(?:\.\d)?)?|\bstatus(?:[ _]?code)?|\bresponse code|\bhttp code"
        r"|\berror code|\bcode|\breturned(?: error)?|\berror|\bencountered|\bgot|\bresponse)"
        r"[\s:=(\[#]{1,4}([45]\d\d)\b",
        re.I,
    ),
    re.compile(r"^\s*([45]\d\d)\b"),
    re.compile(r"\b([45]\d\d) (?:client error|server error|errors?|responses?)\b", re.I),
)


_ANY_CODE = re.compile(r"(?<!\d)[45]\d\d(?!\d)")


def infer_status(*texts: str) -> int | None:
    """An HTTP 4xx/5xx code the error or body text states ("503 Service Unavailable",
    "status code 401", "returned HTTP 404", "Error 522"), or None."""
    texts = tuple(t for t in texts if t and _ANY_CODE.search(t))
    for pattern in _INFER_STATUS:
        for text in texts:
            if text:
                found = pattern.search(text)
                if found:
                    return int(found.group(1))
    return None


# --- text normalisation ----------------------------------------------------------------

_HTML_TAG = re.compile(
    r"<!doctype[^<>]*>|</?(?:html|head|body|title|h[1-6]|center|hr|p|pre|div|span|br|meta"
    r"|link|a|b|i|em|strong|small|code|ul|ol|li|table|tr|td|th|tbody|thead|footer|header"
    r"|section|main|nav|img|svg|path|button|form|input|label|noscript|address|font|iframe"
    r"|errorresponse|error|type|code|message|requestid|details)\b[^<>]*>"
)
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s\"'<>`()\[\]{}|\\^]*[^\s\"'<>`()\[\]{}|\\^:.,;]")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b")
_IPV6 = re.compile(
    r"\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?"
    r"|(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?![\w:])"
    r"|(?<![\w:])::[0-9a-f:]*[0-9a-f](?![\w:])"
)
_IPV6_HINT = re.compile(r"[0-9a-f]:[0-9a-f]{1,4}:")
_TLD_LIST = (
    "com net org io dev app co uk de fr nl es it eu us ca au in jp cn ru br ch se no dk fi"
    " pl be at ie nz info biz me ai cloud xyz site tech online store shop gov edu mil int"
    " local localhost internal lan home corp test example invalid svc cluster today tv cc"
)
_TLDS = frozenset(_TLD_LIST.split())
# A dotted token (with an optional port); it is a host name when its last label is a TLD.
_DOTTED = re.compile(r"\b[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_-]+)+\.?(?::\d{1,5})?")
_LOOKUP_HOST = re.compile(r"\b(lookup|resolve host:?|host:) ([a-z0-9_][a-z0-9_.-]*)")
_PATH = re.compile(r"(?<![\w.:/<>~-])/(?:[\w\-.~%@+]+/?)+")
# Candidates for ids; _hex_or_keep decides (hex needs a digit and a letter).
_HEXISH = re.compile(r"\b(?:0x[0-9a-f]+|[0-9a-f]{8,}|[a-z0-9]{20,})\b")


def _host_or_keep(found: re.Match[str]) -> str:
    token = found.group(0)
    name = token.rsplit(":", 1)[0] if ":" in token else token
    last = name.rstrip(".").rsplit(".", 1)[-1]
    return "<host>" if last in _TLDS else token


def _hex_or_keep(found: re.Match[str]) -> str:
    token = found.group(0)
    if token.startswith("0x"):
        return "<hex>"
    has_digit = any(c.isdigit() for c in token)
    if not has_digit or token.isdigit():
        return token  # a word, or a plain number (the number rule takes it)
    return "<hex>"


_NUMBER = re.compile(r"(?<![a-z_\d.])(?!0(?![\d.]))\d+(?:\.\d+)*")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1 << 15)
def normalize_text(text: str) -> str:
    """The normalised form of an error or body text (see the module docstring)."""
    if not text:
        return ""
    text = text.lower()
    if "<" in text:
        text = _SCRIPT_STYLE.sub(" ", text)
        text = _HTML_TAG.sub(" ", text)
    if "://" in text:
        text = _URL.sub("<url>", text)
    if "-" in text:
        text = _UUID.sub("<uuid>", text)
    text = _IPV4.sub("<ip>", text)
    if "::" in text or "[" in text or _IPV6_HINT.search(text):
        text = _IPV6.sub("<ip>", text)
    if "lookup" in text or "host" in text:
        text = _LOOKUP_HOST.sub(r"\1 <host>", text)
    if "." in text:
        text = _DOTTED.sub(_host_or_keep, text)
    if "/" in text:
        text = _PATH.sub("<path>", text)
    text = _HEXISH.sub(_hex_or_keep, text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()


def normalize_header_value(value: str) -> str:
    """A header value normalised like text, except that a zero stays ``0``."""
    try:
        if float(value) == 0:
            return "0"
    except ValueError:
        pass
    return normalize_text(value)


# --- delivery → key → signature -------------------------------------------------------


def raw_key(delivery: Any) -> RawKey:
    """What triage reads from a delivery dict (never raises; a non-dict reads as empty)."""
    if not isinstance(delivery, Mapping):
        return RawKey(False, None, "", "", ())
    try:
        get = delivery.get
        return RawKey(
            is_delivered(get("status")),
            parse_status(get("http_status")),
            as_text(get("error")),
            as_text(get("response_body")),
            relevant_headers(get("response_headers")),
        )
    except Exception:  # e.g. a Mapping whose get() raises
        return RawKey(False, None, "", "", ())


@lru_cache(maxsize=1 << 15)
def signature_of(key: RawKey) -> Signature:
    """The :class:`Signature` of a :class:`RawKey` (memoised)."""
    status, inferred = key.status, False
    if status is None and not key.delivered:
        status = infer_status(key.error, key.body)
        inferred = status is not None
    headers = tuple((name, normalize_header_value(value)) for name, value in key.headers)
    return Signature(
        key.delivered,
        status,
        inferred,
        headers,
        normalize_text(key.error),
        normalize_text(key.body),
    )


def failure_signature(delivery: Any) -> str:
    """The failure signature of a delivery dict as one string:
    ``status|headers|error|body`` (``delivered|`` in front for a delivered one), where
    status is the code, ``~code`` when read from the text, or ``-``."""
    return signature_of(raw_key(delivery)).render()
