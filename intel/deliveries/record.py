"""One delivery record in the import format (CONTRACTS §1): checking and normalising it.

``validate_record(data)`` takes one record as read from a file (a dict) and returns the
row ``intel.deliveries.write.upsert_deliveries`` writes: every contract field present,
timestamps aware UTC, defaults applied (``attempts`` 1, ``last_attempt_at`` =
``created_at``), unknown fields gathered in ``extra``. A record that breaks the table
raises :class:`InvalidRecord` listing every problem, each naming its field::

    missing required field 'tenant'
    created_at: not an RFC 3339 timestamp: 'yesterday'
    status: unknown status 'ok' (expected delivered, failed or pending)
    attempts: must be an integer >= 1, got 0

Typing follows the source. JSON Lines values are typed already, so ``"503"`` for
``http_status`` is a wrong type. CSV cells (and text values in a Parquet column of a
non-text field) are text: :func:`from_text_cells` turns them into typed values first
(empty cell = null, integers and numbers parsed, object fields parsed as JSON text).

Decisions beyond the contract's table, each for a reason:

* ``id``/``tenant``/``event_type`` are at most 200 characters and ``endpoint`` 2048 (the
  store's column sizes: a longer value would fail the whole import in the database, with
  no line number); ``endpoint`` must be an ``http(s)://host...`` URL (replays send to it).
* ``http_status`` is a code in 100..599: "no response" is null, never 0.
* Integers given as integral floats (``503.0``, how pandas writes a column with gaps) are
  accepted; ``2.5`` attempts are not.
* ``duration_ms`` is a finite number >= 0. JSON's ``NaN``/``Infinity`` are refused
  anywhere (the stores' JSON cannot hold them).
* The NUL character cannot be stored by PostgreSQL, nor an unpaired surrogate (a JSON
  ``"\ud800"`` escape) by either store: in ``response_body`` and ``error`` (an excerpt,
  shown to operators) they are replaced by U+FFFD; anywhere else the record is refused,
  since changing an id or a payload silently would be worse.
* Size limits (``limits.*``, ``intel.settings.limits``): ``response_body``, ``error``
  and ``response_headers`` over their limit are cut, the rest replaced by a visible
  ``…[truncated N bytes]`` marker (``intel.deliveries.caps``; the caller can count the
  cuts). A ``payload`` over ``limits.max_payload_bytes`` refuses the record: a payload is
  replayed byte-exact, so cutting it would replay something else.
* ``payload`` is an object or a string; in a text cell, text starting with ``{`` is JSON
  (and must parse), anything else is the string payload.
* Unknown fields are kept in ``extra`` and never make a record invalid: values are stored
  as JSON (datetimes from Parquet become RFC 3339 text, bytes text, NaN/Infinity null,
  NUL U+FFFD, any other type its text).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from intel.deliveries.caps import UNSTORABLE, cap_row, payload_bytes, storable_text
from intel.settings.limits import LimitSettings
from intel.store.schema import DELIVERY_STATUSES
from intel.timeutil import ensure_utc, parse_timestamp, to_rfc3339

#: The fields of CONTRACTS §1, in table order.
FIELDS: tuple[str, ...] = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
    "duration_ms", "payload",
)
REQUIRED: tuple[str, ...] = ("id", "tenant", "endpoint", "status", "created_at")
#: Fields whose value is an object (or, for payload, an object or a string).
OBJECT_FIELDS: frozenset[str] = frozenset({"response_headers", "payload"})
INTEGER_FIELDS: frozenset[str] = frozenset({"http_status", "attempts"})
NUMBER_FIELDS: frozenset[str] = frozenset({"duration_ms"})
TIME_FIELDS: frozenset[str] = frozenset({"created_at", "last_attempt_at"})
MAX_LENGTH: dict[str, int] = {"id": 200, "tenant": 200, "endpoint": 2048, "event_type": 200}

_FIELD_SET = frozenset(FIELDS)
# RFC 3339 date-time; the offset may be left out (then it is UTC, CONTRACTS §1).
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})?$"
)
_INTEGER_TEXT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_UNSTORABLE = UNSTORABLE
# JSON escapes that produce them: text without any needs no walk (see validate_record).
UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])")
_DEFAULT_LIMITS = LimitSettings()
_STATUS_LIST = "delivered, failed or pending"


class InvalidRecord(ValueError):
    """A record that breaks CONTRACTS §1; ``problems`` lists each reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every record: ``json.loads`` with an argument builds a new one per call,
# which cost as much as the decoding itself.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads_json(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` (not JSON, and not storable)."""
    if type(text) is str and not text.startswith("\ufeff"):
        return _DECODER.decode(text)
    # bytes, or a byte order mark: json.loads' own handling and messages
    return json.loads(text, parse_constant=_reject_constant)


def _as_integer(value: Any) -> int | None:
    """An int from an int or an integral float; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _unstorable(text: str) -> str | None:
    """What in ``text`` no store holds ("a NUL character (\\u0000)", "an unpaired
    surrogate (\\ud800)"), or None."""
    if text.isascii():  # the common case, and cheap: only NUL is possible
        return "a NUL character (\\u0000)" if "\x00" in text else None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000)"
    return f"an unpaired surrogate (\\u{ord(found.group()):04x})"


_replace_unstorable = storable_text


def _has_nul(value: Any) -> str | None:
    """What unstorable character ``value`` holds anywhere (keys too), or None."""
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _has_nul(k) or _has_nul(v)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for v in value:
            found = _has_nul(v)
            if found:
                return found
    return None


def jsonable(value: Any) -> Any:
    """``value`` as a JSON value: datetimes as RFC 3339, bytes as text, Decimal as number,
    tuples as lists. Raises ``ValueError`` for anything else."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return to_rfc3339(ensure_utc(value.to_pydatetime(warn=False)))
    if isinstance(value, datetime):
        return to_rfc3339(ensure_utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return jsonable(float(value))
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # a numpy scalar
        return jsonable(value.item())
    raise ValueError(f"a {type(value).__name__} is not a JSON value")


def storable(value: Any) -> Any:
    """An unknown field's value in a form both stores hold, never an error: like
    :func:`jsonable`, but NaN/Infinity become null, NUL characters U+FFFD, and values of
    other types their text."""
    if isinstance(value, str):
        return _replace_unstorable(value) if _UNSTORABLE.search(value) else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {_storable_key(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    try:
        value = jsonable(value)
    except ValueError:
        if hasattr(value, "item"):  # a numpy scalar (e.g. a NaN float)
            return storable(value.item())
        return storable(str(value))
    return storable(value) if isinstance(value, str | float) else value


def _storable_key(key: Any) -> str:
    return storable(str(key))


# --- text cells (CSV, text in a Parquet column of a typed field) -------------------------


def _cell_integer(field: str, text: str, problems: list[str]) -> Any:
    stripped = text.strip()
    if _INTEGER_TEXT.match(stripped):
        return int(float(stripped)) if "." in stripped else int(stripped)
    problems.append(f"{field}: must be an integer, got {_show(text)}")
    return _INVALID


def _cell_number(field: str, text: str, problems: list[str]) -> Any:
    try:
        number = float(text.strip())
    except ValueError:
        problems.append(f"{field}: must be a number, got {_show(text)}")
        return _INVALID
    if not math.isfinite(number):
        problems.append(f"{field}: must be a finite number, got {_show(text)}")
        return _INVALID
    return number


def _cell_object(field: str, text: str, problems: list[str]) -> Any:
    stripped = text.strip()
    if field == "payload" and not stripped.startswith("{"):
        return text  # a string payload
    try:
        return loads_json(stripped)
    except ValueError as exc:
        problems.append(f"{field}: bad JSON in object field: {exc}")
        return _INVALID


class _Invalid:
    """Marks a cell already reported as a problem."""


_INVALID = _Invalid()


def from_text_cells(cells: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Typed values from text cells: empty = null, integers/numbers parsed, object
    fields parsed as JSON text. Non-text values pass through unchanged. Returns the
    values and the problems found (cells with a problem are left out)."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for field, value in cells.items():
        if isinstance(value, str):
            if value == "" or (field in _FIELD_SET and not value.strip()):
                value = None
            elif field in INTEGER_FIELDS:
                value = _cell_integer(field, value, problems)
            elif field in NUMBER_FIELDS:
                value = _cell_number(field, value, problems)
            elif field in OBJECT_FIELDS:
                value = _cell_object(field, value, problems)
        if value is not _INVALID:
            out[field] = value
    return out, problems


# --- the record -------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _is_http_url(value: str) -> bool:
    """``http(s)://`` with a host (memoised: a file repeats its endpoints)."""
    try:
        parts = urlsplit(value.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _is_mapping(value: Any) -> bool:
    # a dict first: the ABC check costs more than the rest of a field's checks
    return isinstance(value, (dict, Mapping))


def _text_field(rec: Mapping, field: str, problems: list[str], *, required: bool) -> str | None:
    value = rec.get(field)
    if (  # the common case in one test: short ASCII text without NUL, not blank
        type(value) is str and value.isascii() and len(value) <= MAX_LENGTH[field]
        and "\x00" not in value and value and not value.isspace()
    ):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"missing required field '{field}'")
        return None
    if not isinstance(value, str):
        problems.append(f"{field}: must be a string, got {_type_name(value)} {_show(value)}")
        return None
    limit = MAX_LENGTH.get(field)
    if limit is not None and len(value) > limit:
        problems.append(f"{field}: longer than {limit} characters ({len(value)})")
        return None
    bad = _unstorable(value)
    if bad:
        problems.append(f"{field}: contains {bad}")
        return None
    return value


def _free_text(rec: Mapping, field: str, problems: list[str]) -> str | None:
    value = rec.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{field}: must be a string or null, got {_type_name(value)}")
        return None
    if value.isascii() and "\x00" not in value:
        return value
    return _replace_unstorable(value) if _UNSTORABLE.search(value) else value


def _timestamp(rec: Mapping, field: str, problems: list[str], *, required: bool):
    value = rec.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"missing required field '{field}'")
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp (Parquet ns timestamps)
        return ensure_utc(value.to_pydatetime(warn=False))
    if isinstance(value, datetime):  # Parquet timestamp columns
        return ensure_utc(value)
    if not isinstance(value, str):
        problems.append(f"{field}: must be an RFC 3339 timestamp string, got {_type_name(value)}")
        return None
    if not _RFC3339.match(value.strip()):
        problems.append(f"{field}: not an RFC 3339 timestamp: {_show(value)}")
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        problems.append(f"{field}: not a valid date and time: {_show(value)}")
        return None


def validate_record(
    rec: Mapping[str, Any],
    *,
    plain_json: bool = False,
    limits: LimitSettings | None = None,
    cuts: Counter | None = None,
    size_hint: int | None = None,
) -> dict[str, Any]:
    """The row to write for one import record, or :class:`InvalidRecord` with every
    problem. ``rec`` holds typed values (see :func:`from_text_cells` for text cells).

    ``plain_json``: ``rec`` came from :func:`loads_json` of a text holding no
    :data:`UNSTORABLE_ESCAPE`, so its nested values are JSON already, finite and free of
    unstorable characters; the (costly) walks through payload, headers and unknown
    fields are skipped.

    ``limits``: the size limits (default: the defaults of ``limits.*``); body, error and
    headers over theirs are cut and counted per field in ``cuts``. ``size_hint``: the
    record's size in the file (bytes), when known: a record smaller than a limit cannot
    exceed it, so nothing is measured.
    """
    limits = limits or _DEFAULT_LIMITS
    if not _is_mapping(rec):
        raise InvalidRecord([f"a record must be an object, got {_type_name(rec)}"])
    problems: list[str] = []
    row: dict[str, Any] = {
        "id": _text_field(rec, "id", problems, required=True),
        "tenant": _text_field(rec, "tenant", problems, required=True),
        "endpoint": _text_field(rec, "endpoint", problems, required=True),
        "event_type": _text_field(rec, "event_type", problems, required=False),
    }
    endpoint = row["endpoint"]
    if endpoint is not None and not _is_http_url(endpoint):
        problems.append(f"endpoint: not an http(s) URL: {_show(endpoint)}")

    status = rec.get("status")
    if status is None or (isinstance(status, str) and not status.strip()):
        problems.append("missing required field 'status'")
    elif not isinstance(status, str):
        problems.append(f"status: must be a string, got {_type_name(status)} {_show(status)}")
    elif status not in DELIVERY_STATUSES:
        problems.append(f"status: unknown status {_show(status)} (expected {_STATUS_LIST})")
    row["status"] = status

    http_status = rec.get("http_status")
    if http_status is not None:
        code = _as_integer(http_status)
        if code is None:
            problems.append(
                f"http_status: must be an integer or null, got {_type_name(http_status)} "
                f"{_show(http_status)}"
            )
        elif not 100 <= code <= 599:
            problems.append(f"http_status: must be an HTTP status code (100-599), got {code}")
        http_status = code
    row["http_status"] = http_status

    row["error"] = _free_text(rec, "error", problems)
    row["response_body"] = _free_text(rec, "response_body", problems)

    headers = rec.get("response_headers")
    if headers is not None:
        if not _is_mapping(headers):
            problems.append(
                f"response_headers: must be an object or null, got {_type_name(headers)}"
            )
            headers = None
        elif not plain_json:
            headers = _json_field("response_headers", headers, problems)
    row["response_headers"] = headers

    attempts = rec.get("attempts")
    if attempts is None:
        attempts = 1
    else:
        count = _as_integer(attempts)
        if count is None or count < 1:
            problems.append(f"attempts: must be an integer >= 1, got {_show(attempts)}")
        attempts = count
    row["attempts"] = attempts

    created = _timestamp(rec, "created_at", problems, required=True)
    last = _timestamp(rec, "last_attempt_at", problems, required=False)
    row["created_at"] = created
    row["last_attempt_at"] = last if last is not None else created

    duration = rec.get("duration_ms")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int | float | Decimal):
            problems.append(
                f"duration_ms: must be a number, got {_type_name(duration)} {_show(duration)}"
            )
            duration = None
        else:
            duration = float(duration)
            if not math.isfinite(duration) or duration < 0:
                problems.append(f"duration_ms: must be a finite number >= 0, got {duration}")
    row["duration_ms"] = duration

    payload = rec.get("payload")
    if payload is not None:
        if _is_mapping(payload):
            if not plain_json:
                payload = _json_field("payload", payload, problems)
        elif isinstance(payload, str):
            bad = _unstorable(payload)
            if bad:
                problems.append(f"payload: contains {bad}")
        else:
            problems.append(f"payload: must be an object or a string, got {_type_name(payload)}")
        # A payload is replayed byte-exact: one over the limit is refused, never cut.
        # (Re-encoding can lengthen numbers, so measure unless the record is far smaller.)
        if size_hint is None or size_hint * 2 > limits.max_payload_bytes:
            size = payload_bytes(payload)
            if size > limits.max_payload_bytes:
                problems.append(
                    f"payload: {size:,} bytes, larger than limits.max_payload_bytes "
                    f"({limits.max_payload_bytes:,}); a payload is replayed byte-exact, so "
                    "it is never cut"
                )
    row["payload"] = payload

    extra = {}
    if not rec.keys() <= _FIELD_SET:  # most records have no unknown field: no walk
        for key, value in rec.items():
            if key in _FIELD_SET:
                continue
            # Unknown fields are kept, never an error (CONTRACTS §1): in a form the store
            # holds.
            extra[key if plain_json else _storable_key(key)] = (
                value if plain_json else storable(value)
            )
    row["extra"] = extra or None

    if problems:
        raise InvalidRecord(problems)
    smallest = min(limits.max_body_bytes, limits.max_error_bytes, limits.max_headers_bytes)
    if size_hint is None or size_hint > smallest:
        cap_row(row, limits, cuts)
    return row


def _json_field(field: str, value: Mapping, problems: list[str]) -> Any:
    try:
        value = jsonable(value)
    except ValueError as exc:
        problems.append(f"{field}: {exc}")
        return None
    bad = _has_nul(value)
    if bad:
        problems.append(f"{field}: contains {bad}")
    return value
