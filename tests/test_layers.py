"""The import layers of docs/ARCHITECTURE.md, read from the source (ast), so an arrow that
runs back up fails here rather than in a review.

Every import counts, a function's deferred one too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def intel_except(*allowed: str) -> tuple[str, ...]:
    """Every package and module of intel/ but these: a new one is forbidden by default."""
    names = sorted({p.stem for p in (ROOT / "intel").iterdir()
                    if (p.is_dir() and (p / "__init__.py").exists())
                    or (p.suffix == ".py" and not p.stem.startswith("__"))})
    return tuple(f"intel.{n}" for n in names if f"intel.{n}" not in allowed)


LAYER_CASES = [
    # (package, what it must not import, why)
    ("intel.detect",
     ("intel.incidents", "intel.worker", "intel.backtest", "intel.api", "intel.cli"),
     "the detector is pure decisions: the lifecycle, the loop, the backtest and the "
     "surfaces are built on it"),
    ("intel.incidents", ("intel.worker", "intel.backtest", "intel.api", "intel.cli"),
     "the incident lifecycle and store serve the worker, the backtest and the surfaces"),
    ("intel.store", intel_except("intel.store", "intel.settings", "intel.timeutil"),
     "the store is the bottom: tables, engines and SQL functions, with its settings only"),
    ("intel.settings", intel_except("intel.settings", "intel.timeutil"),
     "settings are read by everything, so they import none of it"),
    ("intel.timeutil", intel_except("intel.timeutil"), "time helpers are the very bottom"),
    ("intel", ("streamlit",), "intel/ is all logic; only the pages render"),
    ("views", ("sqlalchemy",), "pages only render: they call intel for data"),
    ("ui", ("sqlalchemy",), "the page helpers only render: they call intel for data"),
]

def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_files(package: str, root: Path = ROOT) -> list[Path]:
    base = root.joinpath(*package.split("."))
    if base.with_suffix(".py").is_file():
        return [base.with_suffix(".py")]
    return sorted(p for p in base.rglob("*.py") if ".venv" not in p.parts)


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the file: ``from a import b`` gives both
    ``a`` and ``a.b`` (``b`` may be a module), relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = here[: len(here) - node.level + 1]
                module = ".".join(stem + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names
                      if alias.name != "*"]
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(package: str, forbidden: tuple[str, ...], root: Path = ROOT
               ) -> list[tuple[str, int, str]]:
    """``(file, line, forbidden package)`` for every import of ``forbidden`` in ``package``."""
    out = []
    for path in _package_files(package, root):
        rel = path.relative_to(root).as_posix()
        for line, module in imports_of(path, root):
            for banned in forbidden:
                if _within(module, banned) and not _within(module, package):
                    out.append((rel, line, banned))
    return sorted(set(out))


@pytest.mark.parametrize(("package", "forbidden", "why"), LAYER_CASES,
                         ids=[c[0] for c in LAYER_CASES])
def test_layer(package, forbidden, why):
    assert _package_files(package), f"{package}: no such package"
    found = violations(package, forbidden)
    assert not found, f"{package} must not import {', '.join(forbidden)} ({why}):\n" + "\n".join(
        f"  {rel}:{line} imports {banned}" for rel, line, banned in found)


IMPORT_CASES = [
    # (file, source, expected modules)
    ("intel/detect/x.py", "import numpy as np", {"numpy"}),
    ("intel/detect/x.py", "from intel.store import schema",
     {"intel.store", "intel.store.schema"}),
    ("intel/detect/x.py", "from intel import backtest", {"intel", "intel.backtest"}),
    ("intel/detect/x.py", "def f():\n    from intel.incidents.lifecycle import advance",
     {"intel.incidents.lifecycle", "intel.incidents.lifecycle.advance"}),
    ("intel/detect/x.py", "from .rules import RULES",
     {"intel.detect.rules", "intel.detect.rules.RULES"}),
    ("intel/detect/__init__.py", "from .rules import RULES",
     {"intel.detect.rules", "intel.detect.rules.RULES"}),
    ("intel/detect/x.py", "from .. import backtest", {"intel", "intel.backtest"}),
]


@pytest.mark.parametrize(("rel", "source", "expected"), IMPORT_CASES)
def test_imports_are_read_as_python_resolves_them(tmp_path, rel, source, expected):
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n", encoding="utf-8")
    assert {module for _line, module in imports_of(path, tmp_path)} == expected


def test_a_violation_names_file_and_line(tmp_path):
    path = tmp_path / "intel" / "detect" / "bad.py"
    path.parent.mkdir(parents=True)
    path.write_text("import numpy\n\nfrom intel.incidents.lifecycle import advance\n",
                    encoding="utf-8")
    assert violations("intel.detect", ("intel.incidents",), tmp_path) == [
        ("intel/detect/bad.py", 3, "intel.incidents")]
