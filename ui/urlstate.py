"""A page's state in its URL: the one place that reads and writes ``st.query_params``.

A page declares its parameters once, as a :class:`UrlSpec`: which keys are its own, how
the link's values become the page's state (leniently: a bad value is dropped and named
in the problems the page shows) and how the state becomes canonical parameters. Most
pages build it from :class:`Param` rows; a page whose state is already a value object
with its own parsing (the history's ``HistoryView``) wraps those functions.

:func:`read` gives the state and its problems and, by default, makes the URL canonical;
:func:`write` puts a state into the URL. Both touch only the page's own keys and change
nothing when the URL already says it: every write of ``st.query_params`` reaches the
browser, and a page that rewrote an unchanged URL on every run would keep the browser
and the script chasing each other.

Everything but :func:`read`, :func:`write` and the widget markers is pure (dicts in,
dicts out), so the rules are tested without a running page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from intel.timeutil import parse_timestamp, to_rfc3339
from intel.timewindows import CUSTOM
from intel.urlparams import one, page_number  # noqa: F401  (pages use U.page_number)

S = TypeVar("S")


def choice(options: Mapping[str, Any] | tuple[str, ...]) -> Callable[[str], str]:
    """A parser accepting exactly the keys of ``options``."""
    keys = tuple(options)

    def parse(raw: str) -> str:
        if raw in keys:
            return raw
        raise ValueError(f"expected one of {', '.join(keys)}, got {raw!r}")

    return parse


def _text(raw: str) -> str:
    return raw


@dataclass(frozen=True)
class Param:
    """One URL parameter of a page.

    ``parse`` turns the link's text into the value (a ValueError is the problem, shown as
    ``<name>: <message>``; the value is then ``default``); ``show`` turns a value back
    into text. A value equal to ``default`` is left out of the URL unless ``keep`` (the
    page's canonical link names it). ``implied`` gives the value of an absent parameter
    from the link's others (``since`` without ``window`` means a custom window);
    ``needs`` says, from the values read before it, whether the parameter applies at all
    (``since`` only with a custom window): when not, it is neither read nor written.
    """

    name: str
    parse: Callable[[str], Any] = _text
    show: Callable[[Any], str] = str
    default: Any = None
    keep: bool = False
    implied: Callable[[Mapping[str, Any]], Any] | None = None
    needs: Callable[[Mapping[str, Any]], bool] | None = None


def _custom_window(state: Mapping[str, Any]) -> bool:
    return state.get("window") == CUSTOM


#: ``since`` and ``until`` (RFC 3339), which apply only with ``window=custom``: they go
#: after the spec's ``window`` parameter.
CUSTOM_BOUNDS = (
    Param("since", parse=parse_timestamp, show=to_rfc3339, needs=_custom_window),
    Param("until", parse=parse_timestamp, show=to_rfc3339, needs=_custom_window),
)


def parse_params(params: tuple[Param, ...],
                 raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The state the link ``raw`` describes, and its problems (one line per bad value)."""
    state: dict[str, Any] = {}
    problems: list[str] = []
    for p in params:
        if p.needs is not None and not p.needs(state):
            state[p.name] = None
            continue
        text = one(raw, p.name)
        if text is None:
            state[p.name] = p.implied(raw) if p.implied is not None else p.default
            continue
        try:
            state[p.name] = p.parse(text)
        except ValueError as exc:
            problems.append(f"{p.name}: {exc}")
            state[p.name] = p.default
    return state, problems


def params_of(params: tuple[Param, ...], state: Mapping[str, Any]) -> dict[str, str]:
    """The canonical parameters of ``state``: defaults and empty values left out."""
    out: dict[str, str] = {}
    for p in params:
        if p.needs is not None and not p.needs(state):
            continue
        value = state.get(p.name)
        if value is None or value == "" or (value == p.default and not p.keep):
            continue
        out[p.name] = p.show(value)
    return out


@dataclass(frozen=True)
class UrlSpec(Generic[S]):
    """A page's URL parameters: its own ``keys`` (others in the URL are left alone),
    ``parse`` (lenient: the state and the problems) and ``to_params`` (canonical)."""

    keys: tuple[str, ...]
    parse: Callable[[Mapping[str, Any]], tuple[S, list[str]]]
    to_params: Callable[[S], dict[str, str]]

    @staticmethod
    def of(*params: Param) -> UrlSpec[dict[str, Any]]:
        """A spec whose state is a dict of ``params``' values, in their order."""
        names = tuple(p.name for p in params)
        if len(set(names)) != len(names):
            raise ValueError(f"url spec: a parameter twice in {names!r}")
        return UrlSpec(
            keys=names,
            parse=lambda raw: parse_params(params, raw),
            to_params=lambda state: params_of(params, state),
        )


def own(spec: UrlSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """The page's own parameters among ``params`` (blank ones are absent)."""
    out = {}
    for key in spec.keys:
        value = one(params, key)
        if value is not None:
            out[key] = value
    return out


def changes(spec: UrlSpec, current: Mapping[str, Any],
            wanted: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """What turns the URL ``current`` into ``wanted`` for the page's own keys: (keys to
    remove, keys to set). Both empty when the URL already says it."""
    remove = [k for k in spec.keys if k in current and k not in wanted]
    put = {k: v for k, v in wanted.items() if current.get(k) != v}
    unknown = set(put) - set(spec.keys)
    if unknown:
        raise ValueError(f"url spec: not the page's parameter(s): {', '.join(sorted(unknown))}")
    return remove, put


# --- the running page ---------------------------------------------------------------------


def write(spec: UrlSpec[S], state: S) -> bool:
    """Put ``state`` in the URL (the page's own keys only); False when it already was."""
    remove, put = changes(spec, st.query_params.to_dict(), spec.to_params(state))
    for key in remove:
        del st.query_params[key]
    for key, value in put.items():
        st.query_params[key] = value
    return bool(remove or put)


def read(spec: UrlSpec[S], *, canonical: bool = True) -> tuple[S, list[str]]:
    """The state in the URL and the problems of its bad values; with ``canonical`` the
    URL is rewritten to the state's canonical parameters (bad values dropped) when it
    differs."""
    state, problems = spec.parse(st.query_params.to_dict())
    if canonical:
        write(spec, state)
    return state, problems


def changed_outside(marker: str, params: Mapping[str, str]) -> bool:
    """Whether the URL's ``params`` differ from the ones the page's widgets last wrote
    (remembered under the session key ``marker``): a deep link or the browser's back
    button, so the widgets should be set from the URL."""
    return st.session_state.get(marker) != dict(params)


def mark_synced(marker: str, params: Mapping[str, str]) -> None:
    """Remember ``params`` as what the page's widgets show."""
    st.session_state[marker] = dict(params)
