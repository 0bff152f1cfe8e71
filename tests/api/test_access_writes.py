"""Every write route (and the batch triage, a read sent as POST) x {no token, viewer,
operator, admin, tenant-scoped} answers the status of the table in ``matrix.py`` (SQLite
and PostgreSQL); callers without a usable token get 401 everywhere."""

from __future__ import annotations

import pytest

from intel.api.auth import INVALID, MISSING
from tests.api.conftest import NO_TOKEN
from tests.api.matrix import CALLERS, ROUTES, check, fill, names, row_id, rows

WRITES = rows("POST") + rows("PUT")


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("route", "case", "path", "body", "expected"), WRITES,
                         ids=[row_id(r) for r in WRITES])
def test_write_route_x_caller(api, route, case, path, body, expected, who):
    check(api, route, path, body, expected, who)


@pytest.mark.parametrize("who", NO_TOKEN)
def test_without_a_usable_token_every_route_but_health_is_401(api, who):
    n = names(api)
    seen = {}
    for route, _case, path, body, _expected in ROUTES:
        method = route.split(" ", 1)[0]
        seen[route] = api.request(method, fill(path, n), who, fill(body, n))
    for route, response in seen.items():
        expected = 200 if route == "GET /health" else 401
        assert response.status_code == expected, (route, response.text)
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["error"]["code"] == "unauthenticated"
    # an unknown, a revoked and an expired token get the same answer: nothing told apart
    messages = {r.json()["error"]["message"] for k, r in seen.items() if k != "GET /health"}
    assert messages == {MISSING if who == "none" else INVALID}
    assert not api.launched


def test_a_malformed_header_or_scheme_is_401(api):
    for header in ("Basic YWxpY2U6cHc=", "Bearer", "Bearer  ", "bearer " + "y" * 5000,
                   api.secrets["admin"]):
        response = api.client.get("/audit", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_an_unauthenticated_body_that_is_not_json_is_still_401(api):
    response = api.client.post("/triage/deliveries/batch", content=b"{not json",
                               headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_a_scoped_viewer_gets_403_not_404_for_writes(api):
    """The role is checked first: a write a role may not do never reveals whether the
    item exists."""
    for path in ("/anomalies/inc-tenant-globex/acknowledge", "/anomalies/nope/acknowledge"):
        response = api.post(path, "acme-viewer", json={})
        assert response.status_code == 403
        assert "needs the operator role" in response.json()["error"]["message"]


