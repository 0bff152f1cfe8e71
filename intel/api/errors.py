"""One JSON shape for every error the API answers, and the handlers that produce it.

Every error, whatever raised it (our code, FastAPI's parameter validation, Starlette's
routing, an unexpected exception), is answered as::

    {"error": {"status": 400, "code": "bad_parameter",
               "message": "page: must be ≤ 10000", "where": "query.page"}}

``status`` repeats the HTTP status; ``code`` is a stable machine-readable word (see
:data:`CODES`); ``message`` is for people and names what was wrong; ``where`` names the
part of the request at fault (``query.page``, ``path.delivery_id``, ``body.ids[0]``,
``header.Authorization``) or is null. A validation error with several problems lists
them all in ``problems`` (each ``{"where", "message"}``); the first is repeated in
``message``/``where``. An unexpected error (500) says nothing about its cause: it carries
a ``reference`` that is also in the server log beside the traceback.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from intel.deliveries.caps import cut_chars, storable_text

log = logging.getLogger(__name__)

#: status -> (code, what it means), for the app description and the OpenAPI responses.
CODES: dict[int, tuple[str, str]] = {
    400: ("bad_parameter", "a query, path or body parameter is invalid (`where` names it); "
                           "`bad_json` when the body is not JSON"),
    401: ("unauthenticated", "no bearer token, or an unknown, revoked or expired one"),
    403: ("forbidden", "the token's role may not do this"),
    404: ("not_found", "no such item, or one of a tenant outside the token's tenants"),
    405: ("method_not_allowed", "the path exists but not with this method"),
    409: ("conflict", "the item's state does not allow it (already acknowledged, already "
                      "finished, nothing to replay)"),
    413: ("too_large", "the request body is over the limit"),
    422: ("invalid_body", "the JSON body does not have the shape the route takes "
                         "(`where` names the field)"),
    500: ("internal", "an unexpected error; `reference` finds it in the server log"),
    503: ("unavailable", "the store cannot be reached"),
}


class Problem(BaseModel):
    where: str | None = Field(None, description="the part of the request at fault")
    message: str


class ErrorDetail(BaseModel):
    status: int = Field(..., description="the HTTP status, repeated")
    code: str = Field(..., description="a stable word: " + ", ".join(
        sorted({c for c, _ in CODES.values()} | {"bad_json"})))
    message: str = Field(..., description="what was wrong, naming the parameter")
    where: str | None = Field(
        None, description="`query.NAME`, `path.NAME`, `body.FIELD`, `header.NAME` or null"
    )
    problems: list[Problem] | None = Field(
        None, description="every problem, when a validation found several"
    )
    reference: str | None = Field(None, description="500 only: the id in the server log")


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error answered in the one shape (raise it from routes and dependencies)."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 where: str | None = None, headers: dict[str, str] | None = None,
                 problems: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, ("error", ""))[0]
        self.where = where
        self.headers = headers
        self.problems = problems


def bad_parameter(where: str, message: str) -> ApiError:
    """A 400 naming the parameter: ``where`` is ``query.NAME``, ``body.FIELD`` ..."""
    name = where.split(".", 1)[-1]
    text = message if message.startswith(f"{name}:") else f"{name}: {message}"
    return ApiError(400, text, where=where)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


MAX_PROBLEMS = 20
MAX_MESSAGE_CHARS = 1000


def _safe(text: str | None) -> str | None:
    """A message echoes request input: keep it encodable (no NUL, no lone surrogate) and
    short."""
    if text is None:
        return None
    return cut_chars(storable_text(str(text)), MAX_MESSAGE_CHARS)


def error_body(status: int, code: str, message: str, *, where: str | None = None,
               problems: list[dict] | None = None, reference: str | None = None) -> dict:
    detail: dict[str, Any] = {"status": status, "code": code, "message": _safe(message),
                              "where": _safe(where)}
    if problems:
        detail["problems"] = [{"where": _safe(p.get("where")), "message": _safe(p["message"])}
                              for p in problems[:MAX_PROBLEMS]]
    if reference:
        detail["reference"] = reference
    return {"error": detail}


def error_response(status: int, code: str, message: str, *, where: str | None = None,
                   headers: dict[str, str] | None = None, problems: list[dict] | None = None,
                   reference: str | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(status, code, message, where=where, problems=problems, reference=reference),
        status_code=status, headers=headers,
    )


# --- validation errors -------------------------------------------------------------------

_LOC_KINDS = {"query", "path", "header", "cookie", "body"}


def _where(loc: tuple | list) -> str | None:
    """``("query", "page")`` -> ``query.page``; ``("body", "ids", 0)`` -> ``body.ids[0]``."""
    parts = list(loc or ())
    if not parts:
        return None
    if parts[0] in _LOC_KINDS:
        text, rest = str(parts[0]), parts[1:]
    else:
        text, rest = "body", parts
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


_PYDANTIC_PHRASES = (
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"must be ≤ \1"),
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"must be ≥ \1"),
    (re.compile(r"^Input should be less than (.+)$"), r"must be < \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"must be > \1"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Field required$"), "is required"),
)


def _phrase(message: str) -> str:
    for pattern, replacement in _PYDANTIC_PHRASES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message[:1].lower() + message[1:] if message else message


def _name(where: str | None) -> str:
    if not where:
        return "request"
    return where.split(".", 1)[-1] if "." in where else where


#: Validation errors about a value (out of range, too long, not text) rather than the
#: body's shape: a 400 naming the field even in a body.
VALUE_ERRORS = frozenset({
    "bad_text", "string_unicode", "too_long", "too_short", "string_too_long", "string_too_short",
    "less_than", "less_than_equal", "greater_than", "greater_than_equal",
})


UNICODE_MESSAGE = "not text: contains an unpaired surrogate (such as JSON's \\ud800)"


def validation_problems(exc: RequestValidationError) -> tuple[int, str, list[dict]]:
    """(status, code, problems) of a validation error: parameters (query, path, header)
    and bad text anywhere are 400 ``bad_parameter``; a body that is not JSON is 400
    ``bad_json``; a JSON body of the wrong shape is 422 ``invalid_body``."""
    problems: list[dict] = []
    status, code = 422, "invalid_body"
    for err in exc.errors():
        loc = tuple(err.get("loc") or ())
        kind = err.get("type", "")
        if kind == "json_invalid":
            ctx = err.get("ctx") or {}
            problems.append({"where": "body",
                             "message": f"body: not valid JSON ({ctx.get('error', 'decode error')}"
                                        f" at position {loc[1] if len(loc) > 1 else '?'})"})
            status, code = 400, "bad_json"
            continue
        where = _where(loc)
        text = UNICODE_MESSAGE if kind == "string_unicode" else _phrase(err.get("msg", ""))
        message = f"{_name(where)}: {text}"
        problems.append({"where": where, "message": message})
        parameter = bool(loc) and loc[0] in ("query", "path", "header", "cookie")
        if (parameter or kind in VALUE_ERRORS) and code != "bad_json":
            status, code = 400, "bad_parameter"
    return status, code, problems


# --- handlers ------------------------------------------------------------------------------


def install(app: FastAPI, *, before_validation_error=None) -> None:
    """Register the handlers: every error leaves in the one shape.

    ``before_validation_error(request)``: called first for a validation error; a response
    it returns is sent instead (the app uses it to answer 401 to an unauthenticated
    request whose body did not parse, which FastAPI reads before any dependency runs)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, where=exc.where,
                              headers=exc.headers, problems=exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if before_validation_error is not None:
            early = await before_validation_error(request)
            if early is not None:
                return early
        status, code, problems = validation_problems(exc)
        first = problems[0] if problems else {"where": None, "message": "invalid request"}
        return error_response(status, code, first["message"], where=first["where"],
                              problems=problems if len(problems) > 1 else None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        code = CODES.get(status, ("error", ""))[0]
        if status == 404 and exc.detail == "Not Found":
            message = f"no route {request.url.path!r}"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.url.path!r}"
        elif status == 400 and "parsing the body" in str(exc.detail):
            code, message = "bad_json", "body: not valid JSON (or not UTF-8)"
        else:
            message = str(exc.detail)
        return error_response(status, code, message, headers=getattr(exc, "headers", None),
                              where="body" if code == "bad_json" else None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.error("unexpected error %s on %s %s", reference, request.method,
                  request.url.path, exc_info=exc)
        return error_response(500, "internal",
                              f"internal error (reference {reference}); see the server log",
                              reference=reference)


def responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries in the error shape for ``statuses`` (500 always)."""
    out: dict[int | str, dict] = {}
    for status in sorted({*statuses, 500}):
        code, meaning = CODES[status]
        out[status] = {"model": ErrorBody, "description": f"`{code}`: {meaning}"}
    return out
