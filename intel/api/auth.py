"""Bearer-token authentication and role checks for the API (CONTRACTS §6).

Every route but ``GET /health`` (and the documentation: ``/docs``, ``/redoc``,
``/openapi.json`` and their static assets) depends on :func:`require` with the action it
does, from the roles table (``intel.auth.roles.PERMISSIONS``):

* no ``Authorization: Bearer …`` header, or a token that is unknown, revoked or expired:
  ``401`` with ``WWW-Authenticate: Bearer`` (the three are not told apart);
* a role that may not do the action: ``403`` naming the role needed;
* the route then acts as the token's identity: its name is the actor of every write, its
  tenants the scope of every read (``Identity.scope``).

The request's query and path parameters are checked here too, once the caller is known:
a value that cannot be text in a store (a NUL character) or is absurdly long is a 400
naming it, before any query sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from intel.api import deps
from intel.api.errors import ApiError, bad_parameter
from intel.auth import Identity, PermissionDenied, minimum_role
from intel.auth.tokens import authenticate, touch_last_used
from intel.deliveries.caps import UNSTORABLE

log = logging.getLogger(__name__)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="alk_…",
    description="An API token from `python -m intel tokens create --name NAME --role "
                "viewer|operator|admin [--tenant T …]`, sent as `Authorization: Bearer alk_…`.",
)

#: Query and path values longer than this are refused (a 400 naming them).
MAX_PARAM_CHARS = 2048
#: How often a token's ``last_used_at`` is written (at most once per token per period, per
#: process: a write per request would serialise requests on SQLite).
TOUCH_EVERY = timedelta(minutes=1)

_touch_lock = threading.Lock()
_touched: dict[str, datetime] = {}


def unauthenticated(message: str, *, invalid: bool) -> ApiError:
    challenge = 'Bearer realm="aetherlink"'
    if invalid:
        challenge += ', error="invalid_token"'
    return ApiError(401, message, where="header.Authorization",
                    headers={"WWW-Authenticate": challenge})


MISSING = ("no bearer token: send `Authorization: Bearer <token>` (create one with "
           "`python -m intel tokens create`)")
INVALID = "the bearer token is unknown, revoked or expired"


def identify(engine: Engine, secret: str | None, now: datetime) -> Identity:
    """The identity of a bearer secret, or the 401 to answer."""
    if not secret:
        raise unauthenticated(MISSING, invalid=False)
    who = authenticate(engine, secret, now)
    if who is None:
        raise unauthenticated(INVALID, invalid=True)
    _touch(engine, who.name, now)
    return who


def _touch(engine: Engine, name: str, now: datetime) -> None:
    key = f"{engine.url!r}|{name}"
    with _touch_lock:
        last = _touched.get(key)
        if last is not None and abs(now - last) < TOUCH_EVERY:
            return
        _touched[key] = now
    try:
        touch_last_used(engine, name, now)
    except SQLAlchemyError as exc:  # best effort: a busy store must not fail the request
        log.debug("could not record the last use of token %s: %s", name, exc)


def forget_touches() -> None:
    """Forget when tokens were last recorded as used (the next use writes again)."""
    with _touch_lock:
        _touched.clear()


def check_params(request: Request) -> None:
    """400 for a query or path value that is not storable text or is absurdly long."""
    items = [(f"path.{k}", v) for k, v in request.path_params.items()]
    items += [(f"query.{k}", v) for k, v in request.query_params.multi_items()]
    for where, value in items:
        if not isinstance(value, str):
            continue
        if len(value) > MAX_PARAM_CHARS:
            raise bad_parameter(where, f"longer than {MAX_PARAM_CHARS} characters")
        if UNSTORABLE.search(value):
            raise bad_parameter(where, "not text: contains a NUL character or an unpaired "
                                       "surrogate")


def current_identity(  # sync: FastAPI runs it in its threadpool (it queries the store)
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    engine: Engine = Depends(deps.engine),
) -> Identity:
    """The caller, from its bearer token (401 otherwise); checks its parameters' text."""
    secret = credentials.credentials if credentials is not None else None
    who = identify(engine, secret, deps.now())
    request.state.identity = who
    check_params(request)
    return who


def require(action: str) -> Callable[..., Identity]:
    """A dependency: the caller, when its role may do ``action`` (403 otherwise)."""
    minimum_role(action)  # an unknown action fails at import, not at request time

    async def dependency(who: Identity = Depends(current_identity)) -> Identity:
        if not who.can(action):
            raise ApiError(403, str(PermissionDenied(who, action)))
        return who

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    dependency.action = action  # type: ignore[attr-defined]  # read by the route table
    return dependency


def bearer_secret(request: Request) -> str | None:
    """The bearer secret of a request's ``Authorization`` header, or None."""
    header = request.headers.get("authorization") or ""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def _api_routes(routes):
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router (FastAPI)
        if inner is not None:
            yield from _api_routes(inner.routes)
        else:
            yield route


def route_permissions(app) -> dict[tuple[str, str], str | None]:
    """``(method, path) -> action`` of every API route (None: public), from the
    dependencies themselves: the README's table and the tests read this."""
    table: dict[tuple[str, str], str | None] = {}
    for route in _api_routes(app.routes):
        methods = getattr(route, "methods", None)
        dependant = getattr(route, "dependant", None)
        if not methods or dependant is None or not getattr(route, "include_in_schema", True):
            continue
        action = None
        stack = list(dependant.dependencies)
        while stack:
            dep = stack.pop()
            found = getattr(dep.call, "action", None)
            if found:
                action = found
                break
            stack.extend(dep.dependencies)
        for method in methods:
            if method != "HEAD":
                table[(method, route.path)] = action
    return table
