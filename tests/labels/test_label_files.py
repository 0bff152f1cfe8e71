"""Label files: CSV export/import round trip, bad CSV, the dev-set JSON Lines format."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.labels.files import (
    LabelFileError,
    add_missing_deliveries,
    import_labels,
    labels_to_csv,
    parse_labels_csv,
    parse_labels_jsonl,
    read_label_file,
)
from intel.labels.store import create_label, get_label, iter_labels
from intel.store.schema import deliveries
from tests.labels.labels_data import DEV_SET, T0

HEADER = "delivery_id,category,note,labeler,labeled_at\n"


def test_csv_round_trip(stored_failures):
    with stored_failures.begin() as conn:
        create_label(conn, delivery_id="d001", category="permanent-4xx", labeler="alice",
                     now=T0, note='says "bad sig", then, a comma\nand a newline')
        create_label(conn, delivery_id="d002", category="rate-limited", labeler="bob",
                     now=T0 + timedelta(minutes=5))
    with stored_failures.connect() as conn:
        exported = labels_to_csv(iter_labels(conn))
        before = list(iter_labels(conn))
    assert exported.startswith(HEADER)

    with stored_failures.begin() as conn:  # wipe, then import the export
        conn.execute(sa.text("DELETE FROM labels"))
    records = parse_labels_csv(exported, default_labeler="importer")
    with stored_failures.begin() as conn:
        summary = import_labels(conn, records, actor="importer", now=T0 + timedelta(days=1))
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    with stored_failures.connect() as conn:
        after = list(iter_labels(conn))
    key = lambda lb: (lb.delivery_id, lb.category, lb.note, lb.labeler, lb.labeled_at)  # noqa: E731
    assert [key(lb) for lb in after] == [key(lb) for lb in before]

    with stored_failures.begin() as conn:  # the same file again changes nothing
        again = import_labels(conn, records, actor="importer", now=T0 + timedelta(days=2))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    events, _ = list_events(stored_failures, AuditFilter(action_prefix="label.import"))
    assert len(events) == 2 and events[0]["actor"] == "importer"
    # each imported label is audited as the importer's action; the file's labeler stays
    creates, _ = list_events(stored_failures, AuditFilter(action_prefix="label.create",
                                                          actor="importer"))
    assert sorted(e["details"]["labeler"] for e in creates) == ["alice", "bob"]


def test_import_that_changes_a_label_keeps_the_files_labeler(stored_failures):
    with stored_failures.begin() as conn:
        create_label(conn, delivery_id="d004", category="unknown", labeler="alice", now=T0)
    records = parse_labels_csv(HEADER + "d004,permanent-4xx,,carol,\n")
    with stored_failures.begin() as conn:
        summary = import_labels(conn, records, actor="bob", now=T0 + timedelta(hours=1))
        label = get_label(conn, "d004")
    assert summary.updated == 1
    assert (label.category, label.labeler) == ("permanent-4xx", "carol")
    events, _ = list_events(stored_failures, AuditFilter(action_prefix="label.update"))
    assert events[0]["actor"] == "bob"
    assert events[0]["details"]["before"]["labeler"] == "alice"
    assert events[0]["details"]["after"]["labeler"] == "carol"


def test_csv_defaults_labeler_and_time(stored_failures):
    records = parse_labels_csv("delivery_id,category\nd003,unknown\n", default_labeler="carol")
    with stored_failures.begin() as conn:
        import_labels(conn, records, actor="carol", now=T0)
        label = get_label(conn, "d003")
    assert (label.labeler, label.labeled_at, label.note) == ("carol", T0, None)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", ["line 1: empty file"]),
        ("id,label\nd1,unknown\n", ["line 1: header lacks delivery_id, category"]),
        (HEADER + "d001,transient,,alice,\n", ["line 2 (delivery 'd001'): unknown category"]),
        (HEADER + "d001,unknown,,alice,yesterday\n",
         ["line 2 (delivery 'd001'): labeled_at: not an RFC 3339 timestamp"]),
        (HEADER + "d001,unknown,,,\n", ["line 2 (delivery 'd001'): a labeler"]),
        (HEADER + ",unknown,,alice,\n", ["line 2: delivery_id is empty"]),
        (HEADER + "d001,unknown,,alice\n", ["line 2: 4 field(s), the header has 5"]),
        (HEADER + "d001,unknown,,alice,\n\nd002,oops,,alice,\nd001,unknown,,alice,\n",
         ["line 4 (delivery 'd002'): unknown category",
          "line 5: delivery 'd001' again (first on line 2)"]),
    ],
    ids=["empty", "header", "category", "time", "labeler", "no-id", "short-row", "several"],
)
def test_bad_csv_names_the_line(text, problems):
    with pytest.raises(LabelFileError) as caught:
        parse_labels_csv(text, source="labels.csv")
    assert len(caught.value.problems) == len(problems)
    for got, want in zip(caught.value.problems, problems, strict=True):
        assert got.startswith(want)
    assert str(caught.value).startswith("labels.csv:")
    assert "nothing imported" in str(caught.value)


def test_csv_label_for_a_missing_delivery_writes_nothing(stored_failures):
    records = parse_labels_csv(HEADER + "d001,unknown,,alice,\nghost,unknown,,alice,\n")
    with pytest.raises(LabelFileError, match=r"line 3: delivery 'ghost' is not in the store"), \
            stored_failures.begin() as conn:
        import_labels(conn, records, actor="alice", now=T0)
    with stored_failures.connect() as conn:
        assert get_label(conn, "d001") is None


def test_jsonl_labels_never_add_deliveries(stored_failures):
    """A label file is not an import: a label for an unknown id names its line, nothing is
    written, and the delivery (with its endpoint) is not created."""
    lines = [
        json.dumps({"id": "d001", "label": "permanent-4xx"}),
        json.dumps({"id": "new1", "tenant": "t", "endpoint": "http://127.0.0.1:6379/",
                    "status": "failed", "created_at": "2026-11-01T00:00:00Z",
                    "payload": {"x": 1}, "label": "transient-endpoint-down"}),
    ]
    records = parse_labels_jsonl(lines, default_labeler="mallory")
    with pytest.raises(LabelFileError, match=r"line 2: delivery 'new1' is not in the store"), \
            stored_failures.begin() as conn:
        import_labels(conn, records, actor="mallory", now=T0)
    with stored_failures.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.id).where(deliveries.c.id == "new1")
                            ).first() is None
        assert get_label(conn, "d001") is None


def test_labels_outside_the_importers_scope_are_unknown(stored_failures):
    from intel.auth import TenantScope

    records = parse_labels_csv(HEADER + "d001,unknown,,alice,\n")
    with pytest.raises(LabelFileError, match=r"line 2: delivery 'd001' is not in the store"), \
            stored_failures.begin() as conn:
        import_labels(conn, records, actor="alice", now=T0, scope=TenantScope.of(["other"]))
    with stored_failures.begin() as conn:
        summary = import_labels(conn, records, actor="alice", now=T0,
                                scope=TenantScope.of(["acme"]))
    assert summary.created == 1


def test_add_missing_deliveries_then_label_keeps_existing_ones(stored_failures):
    lines = [
        json.dumps({"id": "d001", "tenant": "other", "endpoint": "https://x.example",
                    "status": "failed", "http_status": 401, "created_at": "2026-11-01T00:00:00Z",
                    "label": "permanent-4xx"}),
        json.dumps({"id": "new1", "tenant": "t", "endpoint": "https://y.example",
                    "status": "failed", "error": "connection refused",
                    "created_at": "2026-11-01T00:00:00", "label": "transient-endpoint-down",
                    "acceptable": ["transient-endpoint-down"], "unsafe": False, "note": "n"}),
    ]
    records = parse_labels_jsonl(lines, default_labeler="starter-set")
    with stored_failures.begin() as conn:
        n_added = add_missing_deliveries(conn, records, actor="starter-set", now=T0)
        summary = import_labels(conn, records, actor="starter-set", now=T0)
        rows = conn.execute(sa.select(deliveries).where(deliveries.c.id.in_(["d001", "new1"])))
        kept, added = sorted(rows.mappings(), key=lambda r: r["id"])
        label = get_label(conn, "new1")
    assert n_added == 1 and summary.created == 2
    assert kept["tenant"] == "acme" and kept["http_status"] == 503  # left as it was
    assert added["last_attempt_at"] == added["created_at"]
    assert added["extra"] == {"acceptable": ["transient-endpoint-down"], "unsafe": False}
    assert (label.category, label.note, label.labeler) == (
        "transient-endpoint-down", "n", "starter-set")


GOOD = {"id": "a", "tenant": "t", "endpoint": "https://e.example/h", "status": "failed",
        "created_at": "2026-11-01T00:00:00Z", "label": "unknown"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 1: not JSON"),
        ("[1]", "line 1: expected a JSON object"),
        ({"label": None}, "line 1 (delivery 'a'): unknown category None"),
        ({"status": "lost"}, "line 1: status: unknown status 'lost'"),
        ({"created_at": "soon"}, "line 1: created_at: not an RFC 3339 timestamp"),
        ({"id": None}, "line 1: missing required field 'id'"),
        ({"endpoint": "e"}, "line 1: endpoint: not an http(s) URL"),
        ('{"id": "x\\ud800", "label": "unknown"}', "line 1: id: not a delivery id"),
        ('{"delivery_id": 7, "label": "unknown"}', "line 1: missing required field 'id'"),
    ],
)
def test_bad_jsonl_names_the_line(line, problem):
    if isinstance(line, dict):
        line = json.dumps({**GOOD, **line})
    with pytest.raises(LabelFileError) as caught:
        parse_labels_jsonl([line], default_labeler="x")
    assert caught.value.problems[0].startswith(problem)


def test_read_label_file_by_extension(tmp_path):
    bad = tmp_path / "labels.txt"
    bad.write_text("x")
    with pytest.raises(LabelFileError, match=r"expected \.csv or \.jsonl"):
        read_label_file(bad)
    with pytest.raises(LabelFileError, match="cannot read"):
        read_label_file(tmp_path / "missing.csv")


def test_the_dev_set_imports(engine):
    records = read_label_file(DEV_SET, default_labeler="starter-set")
    with engine.begin() as conn:
        added = add_missing_deliveries(conn, records, actor="starter-set", now=T0)
        summary = import_labels(conn, records, actor="starter-set", now=T0)
    assert summary.created == added == len(records) == 143
    assert set(summary.by_category) <= {
        "transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown"}
