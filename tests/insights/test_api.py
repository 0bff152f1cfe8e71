"""The /insights/* bodies: parameters checked and named, JSON-ready, the same whether
the page loads them together or the API one by one (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from intel.insights import api
from intel.settings.insights import InsightsSettings
from tests.insights.world import NOW, A


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "1y"}, "period: unknown period '1y'"),
        ({"period": "24h", "limit": 0}, r"limit: expected an integer 1\.\.100"),
        ({"period": "24h", "limit": "ten"}, "limit: expected an integer"),
        ({"period": "24h", "limit": 101}, "limit"),
        ({"period": "24h", "limit": True}, "limit"),
    ],
)
def test_bad_parameters_name_themselves(engine, kwargs, message):
    with pytest.raises(ValueError, match=message):
        api.endpoints_body(engine, now=NOW, **kwargs)


def test_bodies_are_json_and_match_the_page_load(world):
    page = api.load_insights(world, now=NOW, period="24h")
    for name, body in api.SECTIONS.items():
        alone = body(world, now=NOW, period="24h")
        assert alone == page[name]
        assert json.loads(json.dumps(alone)) == alone
        assert alone["period"] == "24h" and alone["as_of"] == "2026-11-05T16:30:00Z"
        assert alone["since"] == "2026-11-04T16:30:00Z"


def test_limit_and_settings_reach_the_aggregates(world):
    body = api.endpoints_body(world, now=NOW, period="24h", limit="1")
    assert [r["endpoint"] for r in body["endpoints"]] == [A]
    loose = InsightsSettings(top_limit=2, trend_threshold=5.0)
    body = api.endpoints_body(world, now=NOW, period="24h", settings=loose)
    assert len(body["endpoints"]) == 2
    assert body["endpoints"][0]["trend"] == "→"  # 6 vs 2 is +200 %: under a 500 % threshold


def test_default_period_is_24h(world):
    assert api.tenants_body(world, now=NOW)["period"] == "24h"
