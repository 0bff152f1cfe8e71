"""The documentation works offline, and the OpenAPI schema says how to authenticate."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from intel.api import create_app
from intel.api.errors import ErrorBody


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


#: Everything a page loads: src/href/spec-url attributes and Swagger UI's `url: '...'`.
URL = re.compile(r"""(?:\b(?:src|href|spec-url)=["']|\burl:\s*')([^"']+)""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_no_external_host_and_their_assets_are_served(client, page):
    response = client.get(page)  # no token: the documentation is not data
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    refs = URL.findall(html)
    assets = [r for r in refs if r.startswith("/docs-assets/")]
    assert assets, refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
    for ref in assets:
        asset = client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 1000, ref
    if page == "/docs":
        assert "/openapi.json" in html
        script = client.get("/docs-assets/swagger-ui-bundle.js")
        assert "javascript" in script.headers["content-type"]
        assert b"SwaggerUIBundle" in script.content


def test_the_schema_declares_bearer_auth_on_every_route_but_health(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "alk_…",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if path == "/health":
                assert "security" not in operation
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            for status in ("401", "403", "500"):
                assert responses[status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            ok = [s for s in responses if s.startswith("2")]
            assert ok and "$ref" in str(responses[ok[0]]["content"]), (method, path)
    assert "HTTPValidationError" not in str(schema)
    assert "ErrorBody" in schema["components"]["schemas"]


def test_the_description_documents_errors_and_permissions(client):
    description = client.get("/openapi.json").json()["info"]["description"]
    for fragment in ("Authorization: Bearer", "**401**", "**403**", "**404**",
                     '"code": "bad_parameter"', "| `POST /replay/jobs` | replay | operator |",
                     "| `POST /anomalies/{incident_id}/acknowledge` | acknowledge | operator |",
                     "| `GET /deliveries` | read | viewer |",
                     "| `PUT /triage/model` | model.switch | admin |", "ignored"):
        assert fragment in description, fragment


def test_the_error_model_is_the_shape_we_send():
    assert set(ErrorBody.model_json_schema()["$defs"]["ErrorDetail"]["properties"]) == {
        "status", "code", "message", "where", "problems", "reference"}
