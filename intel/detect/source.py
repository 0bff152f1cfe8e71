"""Where the counts come from: one aggregate SQL query, or a delivery file (CONTRACTS §1).

Both produce ``BucketRows``: finished deliveries per (bucket, tenant, endpoint, failure
family; family 0 is "delivered"), where bucket ``b`` covers epoch seconds
``[offset + b*size, offset + (b+1)*size)`` and a delivery counts at its ``last_attempt_at``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, func, select

from intel.detect.counts import BucketRows
from intel.detect.families import N_FAMILIES, family_expr, family_of
from intel.store.schema import deliveries
from intel.store.sqlfuncs import epoch_bucket, sql_int
from intel.timeutil import parse_timestamp

FINISHED = ("failed", "delivered")


def bucket_query(lo: datetime, hi: datetime, bucket_s: int, offset: int = 0):
    """The one aggregate query: deliveries per (bucket, tenant, endpoint, failure family)
    in ``[lo, hi)`` (family 0: delivered).

    It filters on ``last_attempt_at`` only, so it is a range scan of
    ``ix_deliveries_last_attempt_at``.
    """
    d = deliveries
    bucket = epoch_bucket(d.c.last_attempt_at, sql_int(bucket_s), sql_int(offset))
    family = family_expr(d)
    return (
        select(bucket.label("bucket"), d.c.tenant, d.c.endpoint, family.label("family"),
               func.count())
        .where(d.c.last_attempt_at >= lo, d.c.last_attempt_at < hi, d.c.status.in_(FINISHED))
        .group_by(bucket, d.c.tenant, d.c.endpoint, family)
    )


def rows_from_db(
    conn: Connection, lo: datetime, hi: datetime, bucket_s: int, offset: int = 0
) -> BucketRows:
    return BucketRows.from_indexed(conn.execute(bucket_query(lo, hi, bucket_s, offset)))


class InputError(ValueError):
    """A delivery file that cannot be read; the message names the file, line and field."""


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: line {number}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}: line {number}: not a JSON object")
                yield number, record
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            for number, record in enumerate(csv.DictReader(fh), start=2):
                yield number, record
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        wanted = [c for c in ("id", "tenant", "endpoint", "status", "http_status", "error",
                              "created_at", "last_attempt_at") if c in table.schema_arrow.names]
        number = 0
        for batch in table.iter_batches(columns=wanted, batch_size=65536):
            for record in batch.to_pylist():
                number += 1
                yield number, record
    else:
        raise InputError(f"{path}: unknown format '{suffix}' (expected .jsonl, .csv or .parquet)")


def rows_from_file(path: str | Path, bucket_s: int, offset: int = 0) -> tuple[BucketRows, int]:
    """Read the fields the detector needs from a delivery file into bucket counts.

    A repeated ``id`` replaces the earlier record (as importing it would). Returns the rows
    and the number of deliveries read.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    latest: dict[str, tuple[str, str, int, float]] = {}
    anonymous = 0
    for number, rec in _records(path):
        where = f"{path}: {'row' if path.suffix.lower() == '.csv' else 'line'} {number}"
        for name in ("tenant", "endpoint", "status", "created_at"):
            if rec.get(name) in (None, ""):
                raise InputError(f"{where}: missing required field '{name}'")
        status = str(rec["status"])
        if status not in ("delivered", "failed", "pending"):
            raise InputError(f"{where}: status: unknown value {status!r}")
        when = rec.get("last_attempt_at") or rec["created_at"]
        try:
            epoch = parse_timestamp(when).timestamp()
        except ValueError as exc:
            field = "last_attempt_at" if rec.get("last_attempt_at") else "created_at"
            raise InputError(f"{where}: {field}: {exc}") from None
        key = rec.get("id")
        if key in (None, ""):
            key = f"\0{anonymous}"
            anonymous += 1
        family = -1 if status == "pending" else family_of(
            status, rec.get("http_status"), rec.get("error")
        )
        latest[str(key)] = (str(rec["tenant"]), str(rec["endpoint"]), family, epoch)
    return aggregate_records(latest.values(), bucket_s, offset), len(latest)


def aggregate_records(records, bucket_s: int, offset: int = 0) -> BucketRows:
    """``(tenant, endpoint, family, epoch)`` records -> bucket counts (numpy, no database).

    ``family`` is ``intel.detect.families.family_of`` (0 delivered); -1 (pending) is skipped.
    """
    tenants: dict[str, int] = {}
    endpoints: dict[str, int] = {}
    t_idx, e_idx, fams, epochs = [], [], [], []
    for tenant, endpoint, family, epoch in records:
        if family < 0:
            continue
        t_idx.append(tenants.setdefault(tenant, len(tenants)))
        e_idx.append(endpoints.setdefault(endpoint, len(endpoints)))
        fams.append(family)
        epochs.append(epoch)
    if not epochs:
        return BucketRows.empty()
    bucket = np.floor((np.asarray(epochs) - offset) / bucket_s).astype(np.int64)
    t = np.asarray(t_idx, dtype=np.int64)
    e = np.asarray(e_idx, dtype=np.int64)
    f = np.asarray(fams, dtype=np.int64)
    nt, ne = len(tenants), len(endpoints)
    b0 = int(bucket.min())
    code = (((bucket - b0) * ne + e) * nt + t) * N_FAMILIES + f
    uniq, counts = np.unique(code, return_counts=True)
    rest, f_out = np.divmod(uniq, N_FAMILIES)
    rest, t_out = np.divmod(rest, nt)
    b_out, e_out = np.divmod(rest, ne)
    return BucketRows(
        bucket=b_out + b0, tenant=t_out, endpoint=e_out, family=f_out, count=counts,
        tenants=list(tenants), endpoints=list(endpoints),
    )
