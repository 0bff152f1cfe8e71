"""The route x caller table of the access-control tests (CONTRACTS §6).

Each row: the route, what case it tries, the path and body (``{acme}``, ``{globex}``: a
failed delivery of that tenant no replay job holds; ``{acme_job}``, ``{globex_job}``,
``{mixed_job}``: the world's replay jobs), and the status each caller gets: no token,
viewer, operator, admin, and ``acme`` (an operator token limited to tenant acme).
"""

from __future__ import annotations

from tests.scope.world import ids_of

CALLERS = ("none", "viewer", "operator", "admin", "acme")


def E(viewer: int, operator: int, admin: int, acme: int, none: int = 401) -> dict[str, int]:
    return {"none": none, "viewer": viewer, "operator": operator, "admin": admin,
            "acme": acme}


READ = E(200, 200, 200, 200)
SPOOF = {"operator": "alice (spoofed)"}

#: (route, case, path, body, expected status per caller). Paths name the world's items:
#: {acme}/{globex} a failed delivery of that tenant no job holds, {acme_job}/{globex_job}
#: /{mixed_job} the world's replay jobs.
ROUTES = [
    ("GET /health", "public", "/health", None, E(200, 200, 200, 200, none=200)),
    ("GET /deliveries", "list", "/deliveries?window=24h", None, READ),
    ("GET /deliveries/{delivery_id}", "own tenant", "/deliveries/{acme}", None, READ),
    ("GET /deliveries/{delivery_id}", "other tenant", "/deliveries/{globex}", None,
     E(200, 200, 200, 404)),
    ("GET /deliveries/{delivery_id}", "missing", "/deliveries/nope", None,
     E(404, 404, 404, 404)),
    ("GET /triage/deliveries/{delivery_id}", "own tenant", "/triage/deliveries/{acme}", None,
     READ),
    ("GET /triage/deliveries/{delivery_id}", "other tenant", "/triage/deliveries/{globex}",
     None, E(200, 200, 200, 404)),
    ("POST /triage/deliveries/batch", "read", "/triage/deliveries/batch",
     {"ids": ["{acme}", "{globex}"]}, READ),
    ("GET /triage/accuracy", "read", "/triage/accuracy", None, READ),
    ("PUT /triage/model", "switch off", "/triage/model", {"enabled": False},
     E(403, 403, 200, 403)),
    ("PUT /triage/model", "switch on, no trained model", "/triage/model", {"enabled": True},
     E(403, 403, 409, 403)),
    ("GET /replay/recommendations", "read", "/replay/recommendations", None, READ),
    ("POST /replay/jobs", "own tenant", "/replay/jobs", {"ids": ["{acme}"], **SPOOF},
     E(403, 202, 202, 202)),
    ("POST /replay/jobs", "other tenant", "/replay/jobs", {"ids": ["{globex}"]},
     E(403, 202, 202, 400)),
    ("POST /replay/jobs", "recommended, nothing to replay", "/replay/jobs",
     {"recommended": True}, E(403, 409, 409, 409)),
    ("GET /replay/jobs/{job_id}", "own tenant", "/replay/jobs/{acme_job}?items=true", None,
     READ),
    ("GET /replay/jobs/{job_id}", "other tenant", "/replay/jobs/{globex_job}", None,
     E(200, 200, 200, 404)),
    ("GET /replay/jobs/{job_id}", "several tenants", "/replay/jobs/{mixed_job}", None,
     E(200, 200, 200, 404)),
    ("POST /replay/jobs/{job_id}/cancel", "own tenant", "/replay/jobs/{acme_job}/cancel",
     SPOOF, E(403, 200, 200, 200)),
    ("POST /replay/jobs/{job_id}/cancel", "other tenant", "/replay/jobs/{globex_job}/cancel",
     {}, E(403, 200, 200, 404)),
    ("POST /replay/jobs/{job_id}/cancel", "missing", "/replay/jobs/nope/cancel", None,
     E(403, 404, 404, 404)),
    ("GET /insights/endpoints", "read", "/insights/endpoints", None, READ),
    ("GET /insights/tenants", "read", "/insights/tenants", None, READ),
    ("GET /insights/operators", "read", "/insights/operators", None, READ),
    ("GET /insights/system-health", "read", "/insights/system-health", None, READ),
    ("GET /insights/recommendations", "read", "/insights/recommendations", None, READ),
    ("GET /insights/adoption", "read", "/insights/adoption", None, READ),
    ("GET /anomalies/active", "read", "/anomalies/active", None, READ),
    ("GET /anomalies/history", "read", "/anomalies/history?since=1d", None, READ),
    ("POST /anomalies/{incident_id}/acknowledge", "own tenant",
     "/anomalies/inc-tenant-acme/acknowledge", {"note": "known", **SPOOF},
     E(403, 200, 200, 200)),
    ("POST /anomalies/{incident_id}/acknowledge", "other tenant",
     "/anomalies/inc-tenant-globex/acknowledge", None, E(403, 200, 200, 404)),
    ("POST /anomalies/{incident_id}/acknowledge", "platform-wide",
     "/anomalies/inc-burst/acknowledge", None, E(403, 200, 200, 404)),
    ("POST /anomalies/{incident_id}/acknowledge", "missing",
     "/anomalies/nope/acknowledge", None, E(403, 404, 404, 404)),
    ("GET /audit", "read", "/audit", None, READ),
]

#: The permission each route needs (None: public); the app's dependencies must say so.
PERMISSIONS = {
    ("GET", "/health"): None,
    ("GET", "/deliveries"): "read",
    ("GET", "/deliveries/{delivery_id}"): "read",
    ("GET", "/triage/deliveries/{delivery_id}"): "read",
    ("POST", "/triage/deliveries/batch"): "read",
    ("GET", "/triage/accuracy"): "read",
    ("PUT", "/triage/model"): "model.switch",
    ("GET", "/replay/recommendations"): "read",
    ("POST", "/replay/jobs"): "replay",
    ("GET", "/replay/jobs/{job_id}"): "read",
    ("POST", "/replay/jobs/{job_id}/cancel"): "replay",
    ("GET", "/insights/endpoints"): "read",
    ("GET", "/insights/tenants"): "read",
    ("GET", "/insights/operators"): "read",
    ("GET", "/insights/system-health"): "read",
    ("GET", "/insights/recommendations"): "read",
    ("GET", "/insights/adoption"): "read",
    ("GET", "/anomalies/active"): "read",
    ("GET", "/anomalies/history"): "read",
    ("POST", "/anomalies/{incident_id}/acknowledge"): "acknowledge",
    ("GET", "/audit"): "read",
}


def names(api) -> dict[str, str]:
    return {
        "acme": ids_of("acme")[5], "globex": ids_of("globex")[5],
        "acme_job": api.world.jobs["acme"], "globex_job": api.world.jobs["globex"],
        "mixed_job": api.world.jobs["mixed"],
    }


def fill(value, names):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def check(api, route: str, path: str, body, expected: dict[str, int], who: str) -> int:
    """Send the row's request as ``who``; check the status and, for an error, its shape.
    Returns the status."""
    n = names(api)
    method = route.split(" ", 1)[0]
    response = api.request(method, fill(path, n), who, fill(body, n))
    assert response.status_code == expected[who], (who, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code and error["message"]
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return response.status_code


def rows(method: str) -> list:
    return [r for r in ROUTES if r[0].startswith(method + " ")]


def row_id(row) -> str:
    return f"{row[0]} ({row[1]})"
