"""The delivery store: schema, engines and migrations."""

from intel.store.db import dispose_engines, get_engine, make_engine, upgrade

__all__ = ["dispose_engines", "get_engine", "make_engine", "upgrade"]
