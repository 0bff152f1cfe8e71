"""Rule engine: matches :data:`intel.triage.rules.RULES` against failure signatures.

Two memo levels keep it fast:

* the rule decision (which rule, what text it matched, which safety cap) is cached per
  normalised :class:`~intel.triage.signature.Signature`, so "connection refused" to
  ten thousand different IPs is matched once;
* the finished :class:`TriageResult` is cached per raw key (status, error, body,
  relevant headers), because its reason quotes the evidence of that very delivery
  (e.g. "Retry-After: 120").

``classify_frame`` groups a DataFrame by distinct raw keys, classifies each distinct
once through the same path, and maps the answers back: it equals ``classify_delivery``
row by row by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from intel.triage.result import TRANSIENT, TriageResult
from intel.triage.rules import (
    INFERRED_STATUS_PENALTY,
    RULES,
    SAFETY_CAPS,
    Rule,
    SafetyCap,
    StatusSpec,
)
from intel.triage.signature import RawKey, Signature, raw_key, signature_of

_MAX_EVIDENCE = 90


def _status_set(specs: Iterable[StatusSpec]) -> frozenset[int]:
    codes: set[int] = set()
    for spec in specs:
        if isinstance(spec, tuple):
            codes.update(range(spec[0], spec[1] + 1))
        else:
            codes.add(int(spec))
    return frozenset(codes)


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(pattern, re.IGNORECASE | re.ASCII)


# --- literal prefilter --------------------------------------------------------------------
# Python's re tries every alternative at every position: a 30-branch pattern costs about a
# millisecond per few KB of text. Most branches contain a literal run every match must
# include ("connection refused", "x509"...); when none of a pattern's literals occurs in
# the text (a C substring search), the pattern cannot match and is not run. The literals
# are derived from the parsed pattern, so a new rule gets its prefilter for free, and a
# pattern whose branches cannot all be reduced to literals simply has none.

_MIN_LITERAL = 3


def _sequence_literals(items: Any) -> frozenset[str] | None:
    """Literals one of which every match of this parsed sequence contains, or None."""
    from re import _constants as c

    best, run, subsets = "", [], []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):  # zero width: literals stay adjacent
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
        found = None
        if op is c.SUBPATTERN:
            found = _sequence_literals(av[-1])
        elif op is c.BRANCH:
            found = _branch_literals(av[1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            found = _sequence_literals(av[2])
        if found:
            subsets.append(found)
    if len(run) > len(best):
        best = "".join(run)
    if len(best) >= _MIN_LITERAL:
        return frozenset([best.lower()])
    usable = [x for x in subsets if min(map(len, x)) >= _MIN_LITERAL]
    if usable:
        return max(usable, key=lambda x: (min(map(len, x)), -len(x)))
    return None


def _branch_literals(branches: Any) -> frozenset[str] | None:
    found: set[str] = set()
    for branch in branches:
        literals = _sequence_literals(branch)
        if literals is None:
            return None
        found |= literals
    return frozenset(found)


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Lower-case literals one of which any match of ``pattern`` contains, or None when
    the pattern cannot be reduced to such a list (then it always runs)."""
    try:
        from re import _parser

        parsed = _parser.parse(pattern, re.IGNORECASE)
        literals = _sequence_literals(list(parsed))
    except Exception:  # a private API: without it, no prefilter, same answers
        return None
    return None if literals is None else tuple(sorted(literals, key=len, reverse=True))


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex source ("a|b(c|d)|e" → a, b(c|d), e)."""
    parts, current, depth, in_class, i = [], [], 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            current.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]" or (current and current[-1] == "[")
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


class _Branch:
    __slots__ = ("literals", "pattern")

    def __init__(self, pattern: str) -> None:
        # ASCII case folding: the prefilter compares lower-case text, so "ſ" must not
        # match "s" (as Unicode case folding would)
        self.pattern = re.compile(pattern, re.IGNORECASE | re.ASCII)
        self.literals = required_literals(pattern)


class _Matcher:
    """A regex split into its top-level alternatives, each with a literal prefilter.

    ``search`` gives what ``re.search`` of the whole pattern gives (the leftmost match;
    at equal positions the earlier alternative), returning the matched text, but only
    runs the alternatives whose literals occur in the text."""

    __slots__ = ("branches",)

    def __init__(self, pattern: str) -> None:
        parts = split_alternatives(pattern)
        try:
            from re import _constants as c
            from re import _parser

            parsed = list(_parser.parse(pattern, re.IGNORECASE))
            ok = len(parts) == 1 or (
                len(parsed) == 1 and parsed[0][0] is c.BRANCH and len(parsed[0][1][1]) == len(parts)
            )
        except Exception:  # the private parser moved: keep the pattern whole
            ok = False
        self.branches = tuple(_Branch(part) for part in parts) if ok else (_Branch(pattern),)

    def search(self, *texts: str) -> str | None:
        for text in texts:
            best = None
            for branch in self.branches:
                literals = branch.literals
                if literals is not None and not any(lit in text for lit in literals):
                    continue
                found = branch.pattern.search(text)
                if found is not None and (best is None or found.start() < best.start()):
                    best = found
                    if best.start() == 0:
                        break
            if best is not None:
                return best.group(0) or text
        return None


def _matcher(pattern: str | None) -> _Matcher | None:
    return None if pattern is None else _Matcher(pattern)


@dataclass(frozen=True)
class _CompiledRule:
    rule: Rule
    statuses: frozenset[int]
    headers: tuple[tuple[frozenset[str], re.Pattern[str] | None], ...]
    error: _Matcher | None
    body: _Matcher | None
    text: _Matcher | None
    unless: _Matcher | None


@dataclass(frozen=True)
class _CompiledCap:
    cap: SafetyCap
    statuses: frozenset[int]
    text: _Matcher | None


def _compile_rule(rule: Rule) -> _CompiledRule:
    return _CompiledRule(
        rule=rule,
        statuses=_status_set(rule.status),
        headers=tuple(
            (frozenset(n.lower() for n in match.names), _compile(match.value))
            for match in rule.headers
        ),
        error=_matcher(rule.error),
        body=_matcher(rule.body),
        text=_matcher(rule.text),
        unless=_matcher(rule.unless),
    )


_COMPILED: tuple[_CompiledRule, ...] = tuple(_compile_rule(rule) for rule in RULES)
_CAPS: tuple[_CompiledCap, ...] = tuple(
    _CompiledCap(cap, _status_set(cap.status), _matcher(cap.text)) for cap in SAFETY_CAPS
)


@dataclass(frozen=True)
class Decision:
    """What the table concluded for one signature (before the reason is written)."""

    rule: Rule
    score: int
    match: str  # text the rule's regex matched ("" when none)
    header: str  # lower-case name of the header that matched ("" when none)
    cap: str  # name of the safety cap that lowered the score ("" when none)


def _matches(compiled: _CompiledRule, sig: Signature) -> tuple[str, str] | None:
    """(matched text, matched header name) when the rule applies, else None."""
    rule = compiled.rule
    if rule.outcome is not None and not (sig.delivered and rule.outcome == "delivered"):
        return None
    if compiled.statuses and sig.status not in compiled.statuses:
        return None
    if rule.status_known is not None and (sig.status is not None) != rule.status_known:
        return None
    header_name = ""
    if compiled.headers:
        values = dict(sig.headers)
        for names, pattern in compiled.headers:
            hit = next(
                (
                    name
                    for name in sorted(names)
                    if name in values and (pattern is None or pattern.search(values[name]))
                ),
                None,
            )
            if hit is None:
                return None
            header_name = header_name or hit
    match = ""
    if compiled.error is not None:
        found = compiled.error.search(sig.error)
        if found is None:
            return None
        match = match or found
    if compiled.body is not None:
        found = compiled.body.search(sig.body)
        if found is None:
            return None
        match = match or found
    if compiled.text is not None:
        found = compiled.text.search(sig.error, sig.body)
        if found is None:
            return None
        match = match or found
    if compiled.unless is not None and compiled.unless.search(sig.error, sig.body):
        return None
    return match, header_name


@lru_cache(maxsize=1 << 15)
def decide(sig: Signature) -> Decision:
    """Run the table on one signature: first matching rule, then the score adjustments
    (inferred-status penalty, safety caps)."""
    for compiled in _COMPILED:
        hit = _matches(compiled, sig)
        if hit is None:
            continue
        rule = compiled.rule
        score = rule.score
        if compiled.statuses and sig.status_inferred:
            score -= INFERRED_STATUS_PENALTY
        cap_name = ""
        if rule.category == TRANSIENT:
            for cap in _CAPS:
                if score <= cap.cap.max_score:
                    continue
                if cap.statuses and sig.status not in cap.statuses:
                    continue
                if cap.text is not None and cap.text.search(sig.error, sig.body) is None:
                    continue
                score, cap_name = cap.cap.max_score, cap.cap.name
        return Decision(rule, max(0, min(100, score)), hit[0], hit[1], cap_name)
    raise AssertionError("RULES must end with a catch-all rule")  # pragma: no cover


def _status_text(sig: Signature) -> str:
    if sig.status is None:
        return "no HTTP response"
    if sig.status_inferred:
        return f"HTTP {sig.status} (read from the text)"
    return f"HTTP {sig.status}"


def _header_text(key: RawKey, name: str) -> str:
    if not name:
        return ""
    value = dict(key.headers).get(name, "")
    pretty = "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
    pretty = pretty.replace("Ratelimit", "RateLimit")
    return f"{pretty}: {value}"


def _evidence(match: str) -> str:
    match = match.strip()
    return match if len(match) <= _MAX_EVIDENCE else match[: _MAX_EVIDENCE - 1] + "…"


@lru_cache(maxsize=1 << 15)
def classify_key(key: RawKey) -> TriageResult:
    """Classify a :class:`RawKey` (memoised); the shared path of both public forms."""
    sig = signature_of(key)
    decision = decide(sig)
    rule = decision.rule
    try:
        reason = rule.reason.format(
            status=_status_text(sig),
            match=_evidence(decision.match),
            header=_header_text(key, decision.header),
        )
    except (KeyError, IndexError, ValueError):  # the template names a field we do not fill
        reason = rule.reason
    if decision.cap:
        reason += f" (score capped at {decision.score} by safety rule `{decision.cap}`)"
    reason += f" — rule `{rule.name}`"
    return TriageResult(
        category=rule.category,
        score=int(decision.score),
        reason=reason,
        recommended_action=rule.action,
        rule=rule.name,
    )


def classify_delivery(delivery: Any) -> TriageResult:
    """Triage one delivery dict (import format, CONTRACTS §1). Never raises: missing,
    null or odd fields count as absent, and what no rule places is ``unknown``."""
    return classify_key(raw_key(delivery))


def clear_caches() -> None:
    """Forget memoised answers (for benchmarks measuring cold-cache latency)."""
    from intel.triage import signature

    classify_key.cache_clear()
    decide.cache_clear()
    signature.signature_of.cache_clear()
    signature.normalize_text.cache_clear()
    signature._KEYS_CACHE.clear()


# --- batch form --------------------------------------------------------------------------

#: Output columns of :func:`classify_frame`.
FRAME_COLUMNS = ("category", "score", "reason", "recommended_action", "rule")

#: Optional precomputed column: per row, ``relevant_headers(response_headers)`` (a tuple
#: of (lower name, value) pairs, ``()`` for none). When present it is used instead of
#: ``response_headers``, which saves a Python pass over a million header dicts.
PRECOMPUTED_HEADERS_COLUMN = "triage_headers"


def _factorize_mapped(series: Any, convert: Any, empty: Any) -> tuple[Any, list[Any]]:
    """(codes, converted uniques) of a column; code -1 (missing) maps to ``empty``."""
    import numpy as np
    import pandas as pd

    from intel.triage.signature import as_text

    try:
        if isinstance(series, pd.Series):
            codes, uniques = series.factorize(use_na_sentinel=True)
        else:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
        uniques = list(uniques)
    except TypeError:  # unhashable values (lists, dicts): compare them as text
        values = series.to_numpy(dtype=object) if isinstance(series, pd.Series) else series
        codes, uniques = pd.factorize(
            np.array([as_text(v) for v in values], dtype=object), use_na_sentinel=True
        )
        uniques = list(uniques)
    converted = [convert(u) for u in uniques]
    converted.append(empty)  # index -1 picks the last element: the missing value
    return np.asarray(codes, dtype=np.int64), converted


def _text_column(series: Any) -> tuple[Any, list[str]]:
    import numpy as np
    import pandas as pd

    from intel.triage.signature import as_text

    if not isinstance(series.dtype, pd.StringDtype):
        values = series.to_numpy(dtype=object)
        kinds = set(map(type, values))
        if not kinds <= {str, type(None), float}:
            # ints and bools hash equal to floats (1 == 1.0 == True) but read differently
            values = np.array([as_text(v) for v in values], dtype=object)
        return _factorize_mapped(values, as_text, "")
    return _factorize_mapped(series, as_text, "")


def _headers_column(series: Any) -> tuple[Any, list[Any]]:
    import numpy as np

    from intel.triage.signature import relevant_headers

    values = series.to_numpy(dtype=object)
    codes = np.zeros(len(values), dtype=np.int64)
    index: dict[Any, int] = {(): 0}
    uniques: list[Any] = [()]
    present = np.flatnonzero(~series.isna().to_numpy())
    get = index.get
    found = []
    for headers in values[present].tolist():
        key = relevant_headers(headers)
        code = get(key)
        if code is None:
            code = index[key] = len(uniques)
            uniques.append(key)
        found.append(code)
    codes[present] = found
    return codes, uniques


def _precomputed_headers(series: Any) -> tuple[Any, list[Any]]:
    def convert(value: Any) -> Any:
        if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            return tuple(sorted((str(k).lower(), str(v)) for k, v in value))
        return ()

    return _factorize_mapped(series, convert, ())


def classify_frame(df: Any) -> Any:
    """Triage every row of a DataFrame whose columns are import-format field names.

    Reads ``status``, ``http_status``, ``error``, ``response_body`` and
    ``response_headers`` (dicts or None) — or, instead of the latter, the precomputed
    :data:`PRECOMPUTED_HEADERS_COLUMN`. Missing columns count as empty. Returns a
    DataFrame with columns category, score, reason, recommended_action, rule, aligned
    to ``df.index``, equal to ``classify_delivery`` row by row.

    Works per distinct raw (status, http_status, error, body, headers) tuple: each is
    classified once and the answers are mapped back to the rows.
    """
    import numpy as np
    import pandas as pd

    from intel.triage.signature import is_delivered, parse_status

    n = len(df)
    if n == 0:
        return pd.DataFrame(
            {
                "category": pd.Series([], dtype=object),
                "score": pd.Series([], dtype=np.int64),
                "reason": pd.Series([], dtype=object),
                "recommended_action": pd.Series([], dtype=object),
                "rule": pd.Series([], dtype=object),
            },
            index=df.index,
        )

    def column(name: str) -> Any:
        if name in df.columns:
            return df[name]
        return pd.Series([None] * n, index=df.index, dtype=object)

    parts = [
        _factorize_mapped(column("status"), is_delivered, False),
        _factorize_mapped(column("http_status"), parse_status, None),
        _text_column(column("error")),
        _text_column(column("response_body")),
        (
            _precomputed_headers(df[PRECOMPUTED_HEADERS_COLUMN])
            if PRECOMPUTED_HEADERS_COLUMN in df.columns
            else _headers_column(column("response_headers"))
        ),
    ]
    # Combine the per-column codes into one group code per row, pairwise (no overflow).
    group = parts[0][0] + 1
    for codes, uniques in parts[1:]:
        group, _ = pd.factorize(group * (len(uniques) + 1) + (codes + 1))
        group = np.asarray(group, dtype=np.int64)
    n_groups = int(group.max()) + 1
    first = np.empty(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)

    columns = [[uniques[c] for c in codes[first].tolist()] for codes, uniques in parts]
    results = [classify_key(RawKey(*values)) for values in zip(*columns, strict=True)]

    def spread(values: list[Any]) -> Any:
        # distinct answers → one string array taken by group code (no per-row objects)
        return pd.array(values, dtype="str").take(group)

    return pd.DataFrame(
        {
            "category": spread([r.category for r in results]),
            "score": np.asarray([r.score for r in results], dtype=np.int64)[group],
            "reason": spread([r.reason for r in results]),
            "recommended_action": spread([r.recommended_action for r in results]),
            "rule": spread([r.rule for r in results]),
        },
        index=df.index,
    )
