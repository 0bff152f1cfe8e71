"""FastAPI application: `python -m intel api` serves it with uvicorn (on 127.0.0.1 unless
told otherwise).

Authentication, roles and tenant scope: ``intel.api.auth``. The one error shape:
``intel.api.errors``. Every text in a response is capped and has URL credentials masked:
``intel.api.serialize``. Offline documentation: ``intel.api.docs``.
"""

from __future__ import annotations

import inspect
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intel import __version__
from intel.api import auth, deps, docs, errors
from intel.api.models import Health
from intel.api.routes_accuracy import router as accuracy_router
from intel.api.routes_anomalies import router as anomalies_router
from intel.api.routes_audit import router as audit_router
from intel.api.routes_deliveries import router as deliveries_router
from intel.api.routes_insights import router as insights_router
from intel.api.routes_replay import router as replay_router

#: Request bodies over this are refused (413) before they are read whole.
MAX_BODY_BYTES = 1024 * 1024
#: Paths that need no token: health and the documentation.
PUBLIC_PATHS = ("/health", "/openapi.json", *docs.DOCS_PATHS)

DESCRIPTION = f"""\
Triage, replay advice and replay, anomalies, insights and the audit trail of webhook
deliveries. Times are RFC 3339 UTC; `since` also takes a look-back such as `24h`.

## Authentication
Every route but `GET /health` needs `Authorization: Bearer <token>`, a token made with
`python -m intel tokens create --name NAME --role viewer|operator|admin [--tenant T ...]`
(shown once; stored only as a hash; `tokens revoke NAME` ends it).

* No token, or an unknown, revoked or expired one: **401** with `WWW-Authenticate: Bearer`.
* A role that may not do it: **403**. A viewer reads; an operator also replays and
  acknowledges; an admin also switches the triage model (the table below says which
  action each route is).
* A token limited to tenants sees only their data. Anything of another tenant is as if it
  did not exist: **404** for a single item (a delivery, its triage, a replay job, an
  incident to acknowledge), absent from lists, totals, insights rows, the advisor's
  breakdowns and the audit trail. Platform-wide figures (bursts, incidents of endpoints
  several tenants share, platform totals) are only for tokens without a tenant limit.
* The actor recorded for a write (a replay job, a cancellation, an acknowledgement, the
  model switch) is the token's name. An `operator` field in a body is still accepted for
  compatibility but is **ignored**.

{{permissions}}

## Errors
Every error has one shape:

```json
{{{{"error": {{{{"status": 400, "code": "bad_parameter",
           "message": "page: must be ≤ 10000", "where": "query.page"}}}}}}}}
```

`where` names the part of the request at fault (`query.NAME`, `path.NAME`, `body.FIELD`,
`header.Authorization`) or is null; a validation with several problems lists them in
`problems`. Codes:

{{codes}}

Every text in a response (response bodies, errors, payload strings, header values) is
cut at `limits.api_text_chars` characters with a `…[truncated N characters]` marker, and
credentials in URLs are shown as `https://***@host/`. Request bodies over
{MAX_BODY_BYTES // 1024} KiB are refused (413).
"""


def _permissions_table(app: FastAPI) -> str:
    rows = ["| route | action | least role |", "|---|---|---|"]
    from intel.auth import minimum_role

    for (method, path), action in sorted(auth.route_permissions(app).items(),
                                         key=lambda kv: (kv[0][1], kv[0][0])):
        role = minimum_role(action).value if action else "none (public)"
        rows.append(f"| `{method} {path}` | {action or '-'} | {role} |")
    return "## Who may do what\n\n" + "\n".join(rows)


def _codes_table() -> str:
    rows = ["| status | code | when |", "|---|---|---|"]
    for status, (code, meaning) in errors.CODES.items():
        rows.append(f"| {status} | `{code}` | {meaning} |")
    return "\n".join(rows)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a 413 in the error shape, whether
    the client declares the length or streams it (a streamed body is buffered up to the
    limit, then handed on)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.error_response(
            413, "too_large", f"body: larger than {self.limit} bytes", where="body")
        await response(scope, receive, send)


def _openapi_cleanup(app: FastAPI) -> None:
    """FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters; our
    validation errors have the one error shape (400 for parameters, 422 for a body of the
    wrong shape), so the generated schema says that instead."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        error_ref = {"$ref": "#/components/schemas/ErrorBody"}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                answer = operation["responses"].get("422")
                if answer is None:
                    continue
                content = answer.get("content", {}).get("application/json", {})
                if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    if "requestBody" in operation:
                        answer["description"] = f"`invalid_body`: {errors.CODES[422][1]}"
                        content["schema"] = error_ref
                    else:
                        del operation["responses"]["422"]
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(docs.ASSETS_URL + "/")


async def _unauthenticated_first(request: Request) -> JSONResponse | None:
    """FastAPI parses a JSON body before any dependency runs: a request without a valid
    token whose body is not JSON still gets its 401, not a 400 that answers it."""
    if _is_public(request.url.path):
        return None
    engine = request.app.dependency_overrides.get(deps.engine, deps.engine)()
    if inspect.isawaitable(engine):
        engine = await engine
    try:
        await run_in_threadpool(
            lambda: auth.identify(engine, auth.bearer_secret(request), deps.now())
        )
    except errors.ApiError as exc:
        return errors.error_response(exc.status, exc.code, exc.message, where=exc.where,
                                     headers=exc.headers)
    return None


@asynccontextmanager
async def _lifespan(app: FastAPI):
    import os

    import anyio.to_thread

    n = int(os.environ.get("INTEL_API_THREADS", "40"))
    anyio.to_thread.current_default_thread_limiter().total_tokens = n
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="AetherLink Ops Intelligence API",
        version=__version__,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app, before_validation_error=_unauthenticated_first)
    app.add_middleware(BodyLimit)

    @app.get("/health", tags=["meta"], response_model=Health, responses=errors.responses(503))
    def health(engine: Engine = Depends(deps.engine)) -> dict:
        """Liveness: the status and version only (no token needed; nothing else said)."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            raise errors.ApiError(503, "the store cannot be reached") from None
        return {"status": "ok", "version": __version__}

    app.include_router(deliveries_router)
    app.include_router(accuracy_router)
    app.include_router(replay_router)
    app.include_router(insights_router)
    app.include_router(anomalies_router)
    app.include_router(audit_router)
    docs.install(app)
    app.description = DESCRIPTION.format(permissions=_permissions_table(app),
                                         codes=_codes_table())
    _openapi_cleanup(app)
    return app
