"""Failure families: the coarse shape of a failure, counted alongside the totals.

An outage, a rate-limit storm or a rotated secret makes failures of *one* shape (all
connection refused, all 429, all 401), while a target's ordinary failures are a mix. So
besides "how many failures", the detector asks "how many failures of this one shape,
given how often this target fails that way" — three 401s in a row from an endpoint whose
rare failures are mostly timeouts are far stronger evidence than three failures of any
kind. The family is derived from the HTTP status, or from the transport error text when
no response came back; code 0 is "not a failure" (a delivered delivery).
"""

from __future__ import annotations

from sqlalchemy import case, func, literal

FAMILIES: tuple[str, ...] = (
    "ok",  # 0: delivered, not a failure
    "http_auth",  # 401, 403
    "http_gone",  # 404, 410
    "http_429",
    "http_4xx",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_5xx",
    "http_other",
    "refused",
    "timeout",
    "reset",
    "dns",
    "tls",
    "error",  # other transport error text
    "unknown",  # failed with neither a status nor an error
)
FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
N_FAMILIES = len(FAMILIES)

_STATUS = {401: "http_auth", 403: "http_auth", 404: "http_gone", 410: "http_gone",
           429: "http_429", 500: "http_500", 502: "http_502", 503: "http_503", 504: "http_504"}
# (family, substrings of the lower-cased error text), first match wins
_ERRORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("refused", ("refused",)),
    ("timeout", ("timeout", "timed out", "deadline exceeded")),
    ("reset", ("reset", "broken pipe", "eof")),
    ("dns", ("no such host", "getaddrinfo", "name or service", "enotfound", "eai_again",
             "nodename", "resolve", "nxdomain", "unknownhost")),
    ("tls", ("certificate", "x509", "tls", "ssl")),
)


def family_of(status: str | None, http_status: object, error: object) -> int:
    """The family code of one delivery (0 when it did not fail)."""
    if status != "failed":
        return 0
    code = None
    if http_status not in (None, ""):
        try:
            code = int(float(http_status))
        except (TypeError, ValueError):
            code = None
    if code is not None:
        if code in _STATUS:
            return FAMILY_INDEX[_STATUS[code]]
        if 400 <= code < 500:
            return FAMILY_INDEX["http_4xx"]
        if 500 <= code < 600:
            return FAMILY_INDEX["http_5xx"]
        return FAMILY_INDEX["http_other"]
    if error in (None, ""):
        return FAMILY_INDEX["unknown"]
    text = str(error).lower()
    for name, needles in _ERRORS:
        if any(n in text for n in needles):
            return FAMILY_INDEX[name]
    return FAMILY_INDEX["error"]


def family_expr(table):
    """The same classification as a SQL expression (integer code) on ``deliveries``."""
    http = table.c.http_status
    err = func.lower(table.c.error)
    whens = [(table.c.status != "failed", literal(0))]
    for code, name in _STATUS.items():
        whens.append((http == code, literal(FAMILY_INDEX[name])))
    whens += [
        (http.between(400, 499), literal(FAMILY_INDEX["http_4xx"])),
        (http.between(500, 599), literal(FAMILY_INDEX["http_5xx"])),
        (http.isnot(None), literal(FAMILY_INDEX["http_other"])),
        (table.c.error.is_(None) | (table.c.error == ""), literal(FAMILY_INDEX["unknown"])),
    ]
    for name, needles in _ERRORS:
        cond = None
        for needle in needles:
            clause = err.like(f"%{needle}%")
            cond = clause if cond is None else (cond | clause)
        whens.append((cond, literal(FAMILY_INDEX[name])))
    return case(*whens, else_=literal(FAMILY_INDEX["error"]))
