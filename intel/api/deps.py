"""Shared request dependencies: the store engine, the clock, parameter parsing."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException
from sqlalchemy import Engine

from intel.settings import database_url
from intel.store.db import get_engine
from intel.timeutil import parse_since, utcnow


def engine() -> Engine:
    return get_engine(database_url())


def now() -> datetime:
    return utcnow()


def since_param(value: str | None, now: datetime, name: str = "since") -> datetime | None:
    """``since`` as RFC 3339 or a look-back like ``24h``; a bad value is a 400 naming it."""
    if value is None or value == "":
        return None
    try:
        return parse_since(value, now)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=f"{name}: {exc}") from None
