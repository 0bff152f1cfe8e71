"""Every read route x {no token, viewer, operator, admin, tenant-scoped} answers the
status of the table in ``matrix.py`` (SQLite and PostgreSQL); the permission each route
needs is the app's own.

Reads change nothing, so one world serves every caller of a row (the write routes get a
fresh world per caller).
"""

from __future__ import annotations

import pytest

from intel.api import create_app
from intel.api.auth import route_permissions
from tests.api.matrix import CALLERS, PERMISSIONS, ROUTES, check, row_id, rows


def test_the_permission_table_is_the_apps():
    assert route_permissions(create_app()) == PERMISSIONS


def test_the_matrix_covers_every_route():
    covered = {tuple(route.split(" ", 1)) for route, *_ in ROUTES}
    assert covered == set(PERMISSIONS)


@pytest.mark.parametrize(("route", "case", "path", "body", "expected"), rows("GET"),
                         ids=[row_id(r) for r in rows("GET")])
def test_read_route_x_caller(api, route, case, path, body, expected):
    for who in CALLERS:
        check(api, route, path, body, expected, who)
