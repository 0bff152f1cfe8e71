"""One accuracy: the same label set gives identical figures through the Accuracy page,
the Insights gauge (page and ``/insights/system-health`` body), ``python -m intel triage
evaluate`` and the ``GET /triage/accuracy`` body (issue 11).

The label set is the starter set (143 real-world failures): the CLI reads the file, the
others read the labels imported from it into the store.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.cli import main
from intel.insights import accuracy as gauge
from intel.insights.api import system_health_body
from intel.labels.accuracy import accuracy_body
from intel.labels.files import add_missing_deliveries, import_labels, read_label_file
from intel.settings import get_settings
from intel.store.db import make_engine
from tests.conftest import DEV_SET, NOW
from tests.views.apptest import VIEWS, as_identity, write_config

# What the starter set reads (issue 11: the page said 100 %, the gauge 96 %, the CLI
# "transient recall 100 %" beside 6 transient labels predicted permanent).
N, STRICT, ACCEPTED = 143, 137, 143
T, P = "transient-endpoint-down", "permanent-4xx"
FIGURES = ("n", "correct", "accuracy", "strict_accuracy", "accepted_correct",
           "accepted_accuracy", "per_category", "confusion", "accepted_alternatives",
           "safe_to_retry_false_positive_count", "calibration", "gate_threshold",
           "gate_basis", "gate_passed")


def _store_starter_set(engine) -> None:
    records = read_label_file(DEV_SET, default_labeler="starter-set")
    with engine.begin() as conn:
        add_missing_deliveries(conn, records, actor="starter-set", now=NOW - timedelta(hours=2))
        import_labels(conn, records, actor="starter-set", now=NOW - timedelta(hours=1))


@pytest.fixture
def cli_body(capsys) -> dict:
    code = main(["triage", "evaluate", "--labels", str(DEV_SET), "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_the_cli_and_the_api_body_agree_on_every_figure(engine, cli_body):
    _store_starter_set(engine)
    api = accuracy_body(engine, now=NOW)
    cli = cli_body["rules"]
    for key in FIGURES:
        assert api[key] == cli[key], key
    assert sorted(m["id"] for m in api["mistakes"]) == sorted(m["id"] for m in cli["mistakes"])
    assert (api["n"], api["correct"], api["accepted_correct"]) == (N, STRICT, ACCEPTED)
    # the 6 transient labels predicted permanent are in the matrix AND in recall/precision
    assert api["confusion"][T][P] == 6
    assert api["per_category"][T]["recall"] == pytest.approx(69 / 75)
    assert api["per_category"][P]["precision"] == pytest.approx(50 / 56)
    # both say the rules' figure is in-sample
    assert api["in_sample_labels"] == N and "In-sample" in api["sample_note"]
    assert cli_body["in_sample"] is True and "In-sample" in cli_body["sample_note"]
    assert json.loads(json.dumps(api, default=str)) is not None


def test_the_gauge_agrees_with_the_api_body(engine):
    _store_starter_set(engine)
    api = accuracy_body(engine, now=NOW)
    for body in (gauge.triage_accuracy(engine, NOW),
                 system_health_body(engine, now=NOW, period="24h")["triage_accuracy"]):
        assert (body["labelled"], body["correct"], body["accepted_correct"]) == (
            api["n"], api["correct"], api["accepted_correct"])
        assert body["accuracy"] == body["strict_accuracy"] == api["accuracy"]
        assert body["accepted_accuracy"] == api["accepted_accuracy"]
        assert body["target"] == api["gate_threshold"] and body["basis"] == "strict"
        by_label = {b["label"]: b for b in body["by_label"]}
        for category, stats in api["per_category"].items():
            if stats["support"]:
                assert by_label[category]["accuracy"] == stats["recall"]
                assert by_label[category]["accepted_accuracy"] == stats["accepted_recall"]


@pytest.fixture
def pages(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INTEL_CONFIG", str(write_config(
        tmp_path, f"triage:\n  model_path: {tmp_path / 'model.joblib'}\n")))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    _store_starter_set(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()


def _page(name: str) -> AppTest:
    at = as_identity(AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=60),
                     "alice", "viewer", now=NOW)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_pages_show_the_same_figures(pages, cli_body):
    cli = cli_body["rules"]
    strict, accepted = f"{cli['accuracy']:.1%}", f"{cli['accepted_accuracy']:.1%}"
    assert (strict, accepted) == ("95.8%", "100.0%")

    accuracy = _page("accuracy")
    metrics = {m.label: m.value for m in accuracy.metric}
    assert metrics["Labelled deliveries"] == str(cli["n"])
    assert metrics["Strict accuracy"] == strict
    assert metrics["Accepted accuracy"] == accepted
    assert metrics["Safe-to-retry false positives"] == str(
        cli["safe_to_retry_false_positive_count"])
    per_cat = next(df.value for df in accuracy.dataframe if "precision" in df.value.columns)
    for row in per_cat.to_dict("records"):
        expected = cli["per_category"][row["category"]]
        assert (row["labelled"], row["predicted"], row["right"]) == (
            expected["support"], expected["predicted"], expected["correct"])
        assert row["recall"] == expected["recall"]
        assert row["precision"] == expected["precision"]
    assert any("In-sample" in w.value for w in accuracy.warning)
    assert any("judged on strict accuracy" in s.value for s in accuracy.success)

    insights = _page("insights")
    header = next(m.value for m in insights.markdown if "Triage accuracy" in m.value)
    assert f"{cli['n']:,} labelled deliveries" in header and "strict" in header
    charts = insights.get("arrow_vega_lite_chart") or insights.get("vega_lite_chart")
    gauge_label = f"{cli['accuracy'] * 100:.1f} %"  # the figure drawn in the gauge
    assert any(gauge_label in str(c.proto) for c in charts)
    assert any(f"{cli['accepted_accuracy'] * 100:.1f} %" in c.value for c in insights.caption)
    by_label = next(df.value for df in insights.dataframe if "accepted_accuracy" in df.value)
    assert dict(zip(by_label["label"], by_label["accuracy"], strict=True)) == {
        c: v["recall"] for c, v in cli["per_category"].items() if v["support"]}
