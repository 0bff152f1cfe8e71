"""p95 in SQL: PostgreSQL's percentile_cont and the window-function form used on SQLite
agree with each other and with numpy's linear percentile."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import Float, cast

from intel.explore.percentile import (
    percentile_cont_select,
    percentile_select,
    percentile_window_select,
)
from intel.store.schema import deliveries
from tests.insights.world import NOW, delivery, write

SIZES = {"g1": 1, "g2": 2, "g3": 3, "g21": 21, "g40": 40, "g101": 101}


@pytest.fixture
def timed(engine):
    rng = np.random.default_rng(7)
    records, values = [], {}
    for group, n in SIZES.items():
        durations = [round(float(x), 3) for x in rng.gamma(2.0, 150.0, n)]
        values[group] = durations
        records += [
            delivery("https://p.example/hook", group, "delivered",
                     NOW - timedelta(minutes=i + 1), duration_ms=d)
            for i, d in enumerate(durations)
        ]
    records.append(delivery("https://p.example/hook", "g3", "failed", NOW - timedelta(hours=1),
                            duration_ms=None))  # no duration: ignored
    write(engine, records)
    return engine, values


def _run(engine, build, p):
    dims = [deliveries.c.tenant.label("tenant")]
    stmt = build(dims, cast(deliveries.c.duration_ms, Float), [], p)
    with engine.connect() as conn:
        return {t: (float(v), int(n)) for t, v, n in conn.execute(stmt)}


@pytest.mark.parametrize("p", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_window_form_matches_numpy(timed, p):
    engine, values = timed
    got = _run(engine, percentile_window_select, p)
    for group, durations in values.items():
        assert got[group][1] == len(durations)
        assert got[group][0] == pytest.approx(np.percentile(durations, p * 100), abs=1e-6)


@pytest.mark.parametrize("p", [0.5, 0.95, 0.99])
def test_dialect_choice_matches_numpy(timed, p):
    engine, values = timed
    got = _run(engine, lambda *a: percentile_select(engine.dialect.name, *a), p)
    for group, durations in values.items():
        assert got[group][0] == pytest.approx(np.percentile(durations, p * 100), abs=1e-6)


@pytest.mark.parametrize("p", [0.5, 0.95, 0.99])
def test_postgres_native_and_window_forms_agree(pg_engine, p):
    rng = np.random.default_rng(11)
    records = [
        delivery("https://p.example/hook", f"t{i % 7}", "delivered",
                 NOW - timedelta(seconds=i + 1), duration_ms=round(float(x), 2))
        for i, x in enumerate(rng.lognormal(5, 1, 700))
    ]
    write(pg_engine, records)
    native = _run(pg_engine, percentile_cont_select, p)
    window = _run(pg_engine, percentile_window_select, p)
    assert native.keys() == window.keys() and len(native) == 7
    for group in native:
        assert window[group][0] == pytest.approx(native[group][0], abs=1e-6)
        assert window[group][1] == native[group][1]


def test_percentile_out_of_range():
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        percentile_select("sqlite", [], deliveries.c.duration_ms, [], 1.5)
