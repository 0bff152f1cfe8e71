"""The checked-in ``docs/openapi.json`` is the schema the app serves now, the CLI writes it,
and ``docs/api.md`` shows every route of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from intel.api import create_app
from intel.cli import main
from intel.cli.api_cmd import openapi_text

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "openapi.json"
GUIDE = ROOT / "docs" / "api.md"
REGENERATE = "python -m intel api --export-openapi docs/openapi.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    return create_app().openapi()


def test_the_checked_in_schema_is_the_one_the_app_generates():
    assert CHECKED_IN.read_text(encoding="utf-8") == openapi_text(), (
        f"docs/openapi.json is out of date with the API's routes: run `{REGENERATE}` "
        "and commit the file"
    )


def test_the_cli_option_writes_the_schema_and_exits(tmp_path, schema, capsys):
    target = tmp_path / "schema.json"
    assert main(["api", "--export-openapi", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text) == json.loads(json.dumps(schema))
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True,
                              ensure_ascii=False) + "\n"
    assert str(target) in capsys.readouterr().err


def test_the_schema_text_is_stable_and_sorted(schema):
    text = openapi_text()
    assert text == openapi_text()
    assert list(json.loads(text)["paths"]) == sorted(schema["paths"])


#: A route's section heading in the guide: ### `GET /deliveries/{delivery_id}`
HEADING = re.compile(r"^#{2,4} .*?`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", re.MULTILINE)


def test_the_guide_has_a_section_and_a_curl_example_for_every_route(schema):
    guide = GUIDE.read_text(encoding="utf-8")
    documented = set(HEADING.findall(guide))
    routes = {(method.upper(), path) for path, item in schema["paths"].items()
              for method in item}
    assert routes - documented == set(), "routes without a section in docs/api.md"
    assert documented - routes == set(), "docs/api.md documents routes the API lacks"
    sections = HEADING.split(guide)
    # split() yields [before, method, path, body, method, path, body, ...]
    for method, path, body in zip(sections[1::3], sections[2::3], sections[3::3], strict=True):
        assert "curl " in body, (method, path)
        if path != "/health":
            assert "Authorization: Bearer $TOKEN" in body, (method, path)
