"""The figures a bench script records for ``scripts/bench``, and their verdicts.

A script calls ``figure(...)`` for every figure that has a target, beside the human output
it prints anyway. When ``BENCH_REPORT`` names a file, each call appends one JSON line to
it (each script runs as its own process; one short line per ``write`` on a file opened
for appending is not interleaved); without it, ``figure`` only returns the record.

``target`` is a comparison with a number in the figure's unit ("< 300", ">= 95",
"== 0"), so the verdict can be worked out from ``measured``; a script whose verdict rests
on more than one number passes ``passed`` itself. No target: an informative figure,
neither PASS nor FAIL. ``reference`` is what the figure is quoted beside: a plain
operation or a smaller size measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "BENCH_REPORT"
PASS, FAIL, INFO = "PASS", "FAIL", "info"

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt,
        ">": operator.gt}


@dataclass(frozen=True)
class Figure:
    script: str
    name: str
    measured: float | int | None
    target: str | None
    unit: str
    passed: bool | None
    reference: str | None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return INFO
        return PASS if self.passed else FAIL


def judge(measured: float | int | None, target: str | None) -> bool | None:
    """``measured`` against ``target`` ("< 300"...); None when there is no target."""
    if target is None:
        return None
    text = target.strip()
    for symbol in sorted(_OPS, key=len, reverse=True):
        if text.startswith(symbol):
            try:
                bound = float(text[len(symbol):].replace(",", ""))
            except ValueError:
                break
            return measured is not None and bool(_OPS[symbol](measured, bound))
    raise ValueError(f"target {target!r}: expected a comparison such as '< 300' or '>= 95'")


def figure(name: str, measured: float | int | None, target: str | None, unit: str,
           passed: bool | None = None, reference: str | None = None) -> Figure:
    """Record one figure (and append it to ``$BENCH_REPORT`` when that is set)."""
    judged = judge(measured, target)  # also refuses a target that is no comparison
    if passed is None:
        passed = judged
    elif target is None:
        raise ValueError(f"{name}: a verdict needs a target")
    record = Figure(script=Path(sys.argv[0]).name, name=name,
                    measured=None if measured is None else _number(measured),
                    target=target, unit=unit, passed=bool(passed) if passed is not None
                    else None, reference=reference)
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(record)) + "\n")
    return record


def _number(value) -> float | int:
    # numpy scalars and the like become plain JSON numbers
    try:
        return operator.index(value)
    except TypeError:
        return float(value)


def read(path: Path) -> list[Figure]:
    """The figures recorded in ``path`` (missing file: none)."""
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Figure(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a figure record ({exc})") from None
    return out


def parse_args(parser: argparse.ArgumentParser, quick: dict, argv: list[str] | None = None):
    """``parser``'s arguments plus ``--quick``: the sizes in ``quick`` become the defaults
    (flags given explicitly still win), so ``scripts/bench`` fits in about 15 minutes."""
    sizes = ", ".join(f"--{k.replace('_', '-')} {_show(v)}" for k, v in quick.items())
    parser.add_argument("--quick", action="store_true",
                        help=f"the smaller sizes scripts/bench runs: {sizes}")
    known, _ = parser.parse_known_args(argv)
    if known.quick:
        parser.set_defaults(**quick)
    return parser.parse_args(argv)


def _show(value) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
