"""Each label records its origin (starter | operator | imported file), and the accuracy
report says when the rules' figure is in-sample (labels they were written against)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from intel.deliveries.write import upsert_deliveries
from intel.labels.accuracy import accuracy_report
from intel.labels.files import import_labels, parse_labels_csv, read_label_file
from intel.labels.store import (
    OPERATOR,
    STARTER,
    LabelError,
    create_label,
    get_label,
    list_labels,
    origin_of_import,
    save_label,
    update_label,
)
from intel.store.db import make_engine, upgrade
from intel.store.types import UTCDateTime
from tests.labels.labels_data import DEV_SET, T0, failure

TR, PE = "transient-endpoint-down", "permanent-4xx"


@pytest.mark.parametrize(
    ("source", "labeler", "origin"),
    [
        ("triage_labels_starter.jsonl", "alice", STARTER),  # the starter file, by name
        ("data/triage_labels_starter.jsonl", None, STARTER),
        ("demo", "starter-set", STARTER),  # the demo seed's import of it
        ("labels.csv", "alice", "labels.csv"),
        ("/tmp/exports/week-45.csv", "bob", "week-45.csv"),  # the name, not the path
        ("C:\\exports\\w.jsonl", "bob", "w.jsonl"),
        ("", "bob", "file"),
    ],
)
def test_origin_of_an_import(source, labeler, origin):
    assert origin_of_import(source, labeler) == origin


def test_labels_record_their_origin(stored_failures):
    engine = stored_failures
    with engine.begin() as conn:
        create_label(conn, delivery_id="d000", category=TR, labeler="alice", now=T0)
        records = parse_labels_csv("delivery_id,category\nd001,permanent-4xx\nd002,unknown\n",
                                   source="week-45.csv", default_labeler="bob")
        summary = import_labels(conn, records, actor="bob", now=T0, source="week-45.csv")
        assert "origin week-45.csv" in summary.describe()
        starter = parse_labels_csv("delivery_id,category\nd003,transient-endpoint-down\n",
                                   default_labeler="starter-set")
        import_labels(conn, starter, actor="starter-set", now=T0, source="demo")
        save_label(conn, delivery_id="d004", category=TR, labeler="carol", now=T0,
                   origin="imported.jsonl")
    with engine.connect() as conn:
        origins = {lb.delivery_id: lb.origin for lb in list_labels(conn)}
    assert origins == {"d000": OPERATOR, "d001": "week-45.csv", "d002": "week-45.csv",
                       "d003": STARTER, "d004": "imported.jsonl"}
    # an operator's edit makes the label theirs; an unchanged re-import keeps the origin
    with engine.begin() as conn:
        update_label(conn, delivery_id="d003", actor="alice", now=T0 + timedelta(hours=1),
                     category=PE)
        assert save_label(conn, delivery_id="d001", category=PE, labeler="bob", now=T0,
                          origin="other.csv") == "unchanged"
        assert get_label(conn, "d003").origin == OPERATOR
        assert get_label(conn, "d001").origin == "week-45.csv"
        with pytest.raises(LabelError, match="origin"):
            create_label(conn, delivery_id="d005", category=TR, labeler="a", now=T0,
                         origin=" ")


def test_the_starter_set_is_starter(sqlite_engine):
    from intel.labels.files import add_missing_deliveries

    records = read_label_file(DEV_SET, default_labeler="starter-set")
    with sqlite_engine.begin() as conn:
        add_missing_deliveries(conn, records, actor="starter-set", now=T0)
        import_labels(conn, records, actor="starter-set", now=T0)
        assert {lb.origin for lb in list_labels(conn)} == {STARTER}
        assert all(lb.in_sample for lb in list_labels(conn))


# (origins of four labels, all right but the last): the note the report gives.
NOTES = [
    ([STARTER] * 4, "In-sample: all 4 labels are the starter set"),
    ([STARTER, STARTER, OPERATOR, "x.csv"],
     "Partly in-sample: 2 of 4 labels are the starter set the rules were written against. "
     "On the other 2 (operators, imported files), new to the rules: strict accuracy 50.0 %"),
    ([OPERATOR] * 4, "None of these 4 labels is from the starter set"),
]


@pytest.mark.parametrize(("origins", "note"), NOTES)
def test_the_report_says_when_the_rules_figure_is_in_sample(stored_failures, origins, note):
    engine = stored_failures
    with engine.begin() as conn:
        for i, origin in enumerate(origins):
            # d000..d003 are 503s: the rules say transient; the last label disagrees
            category = TR if i < 3 else PE
            create_label(conn, delivery_id=f"d{i:03d}", category=category, labeler="a",
                         now=T0, origin=origin)
    with engine.connect() as conn:
        result = accuracy_report(conn)
    assert note in result.sample_note()
    assert result.in_sample == origins.count(STARTER)
    rows = {r["origin"]: r for r in result.by_origin()}
    assert sum(r["n"] for r in rows.values()) == 4
    assert next(iter(rows)) == origins[0]  # the starter set first when there is one
    for origin, row in rows.items():
        right = [i < 3 for i, o in enumerate(origins) if o == origin]
        assert row["in_sample"] is (origin == STARTER)
        assert row["strict_accuracy"] == sum(right) / len(right)
    body = result.to_dict()
    assert body["in_sample_labels"] == result.in_sample
    assert body["sample_note"] == result.sample_note()


def test_migration_0007_backfills_the_origin(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0008")  # the schema before 0007
    old_labels = sa.table(  # the labels table as 0008 left it: no origin column
        "labels", sa.column("delivery_id"), sa.column("category"), sa.column("labeler"),
        sa.column("labeled_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
    with engine.begin() as conn:
        upsert_deliveries(conn, [failure(0), failure(1)], now=T0)
        conn.execute(old_labels.insert(), [
            {"delivery_id": d, "category": TR, "labeler": who, "labeled_at": T0,
             "updated_at": T0}
            for d, who in (("d000", "starter-set"), ("d001", "alice"))])
    upgrade(engine)
    with engine.connect() as conn:
        assert {lb.delivery_id: lb.origin for lb in list_labels(conn)} == {
            "d000": STARTER, "d001": OPERATOR}
    engine.dispose()
