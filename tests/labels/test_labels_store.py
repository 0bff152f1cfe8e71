"""Labels store round trip (SQLite and PostgreSQL), each change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intel.audit import AuditFilter, list_events
from intel.labels.store import (
    LabelError,
    LabelExists,
    LabelNotFound,
    count_labels,
    create_label,
    delete_label,
    get_label,
    iter_labels,
    list_labels,
    save_label,
    update_label,
)
from tests.labels.labels_data import T0


def test_create_update_delete_round_trip(stored_failures):
    engine = stored_failures
    with engine.begin() as conn:
        made = create_label(conn, delivery_id="d001", category="transient-endpoint-down",
                            labeler="alice", now=T0, note="  pod restart  ")
    assert made.note == "pod restart"
    with engine.connect() as conn:
        got = get_label(conn, "d001")
    assert got == made
    assert got.labeled_at == T0 and got.labeled_at.tzinfo is not None

    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:
        changed = update_label(conn, delivery_id="d001", actor="bob", now=later,
                               category="unknown")
    assert (changed.category, changed.note, changed.labeler) == ("unknown", "pod restart", "bob")
    assert changed.labeled_at == T0 and changed.updated_at == later
    with engine.begin() as conn:
        update_label(conn, delivery_id="d001", actor="bob", now=later, note=None)
        assert get_label(conn, "d001").note is None
        delete_label(conn, delivery_id="d001", actor="carol", now=later)
        assert get_label(conn, "d001") is None

    events, total = list_events(engine, AuditFilter(action_prefix="label"))
    assert total == 4
    assert [e["action"] for e in reversed(events)] == [
        "label.create", "label.update", "label.update", "label.delete"
    ]
    update = next(e for e in events if e["summary"].startswith("relabelled"))
    assert update["details"]["before"]["category"] == "transient-endpoint-down"
    assert update["details"]["after"] == {"category": "unknown", "note": "pod restart",
                                          "labeler": "bob", "origin": "operator"}
    assert {e["target_id"] for e in events} == {"d001"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"category": "retry-me"}, LabelError, "unknown category"),
        ({"labeler": "  "}, LabelError, "labeler"),
        ({"delivery_id": "nope"}, LabelError, "not in the store"),
        ({"note": "x" * 2001}, LabelError, "longer than"),
    ],
)
def test_create_refuses_bad_labels(stored_failures, kwargs, error, message):
    args = {"delivery_id": "d002", "category": "permanent-4xx", "labeler": "alice", "now": T0}
    args.update(kwargs)
    with pytest.raises(error, match=message), stored_failures.begin() as conn:
        create_label(conn, **args)
    with stored_failures.connect() as conn:
        assert count_labels(conn) == 0
    assert list_events(stored_failures, AuditFilter(action_prefix="label"))[1] == 0


def test_a_second_label_is_refused_and_missing_ones_are_reported(stored_failures):
    with stored_failures.begin() as conn:
        create_label(conn, delivery_id="d003", category="rate-limited", labeler="alice", now=T0)
    with pytest.raises(LabelExists, match="already labelled rate-limited by alice"), \
            stored_failures.begin() as conn:
        create_label(conn, delivery_id="d003", category="unknown", labeler="bob", now=T0)
    with pytest.raises(LabelNotFound), stored_failures.begin() as conn:
        update_label(conn, delivery_id="d004", actor="bob", now=T0, category="unknown")
    with pytest.raises(LabelNotFound), stored_failures.begin() as conn:
        delete_label(conn, delivery_id="d004", actor="bob", now=T0)


def test_save_label_creates_updates_or_leaves_alone(stored_failures):
    with stored_failures.begin() as conn:
        assert save_label(conn, delivery_id="d005", category="unknown", labeler="imp",
                          now=T0, labeled_at=T0 - timedelta(days=1)) == "created"
        assert save_label(conn, delivery_id="d005", category="unknown", labeler="imp",
                          now=T0, labeled_at=T0 - timedelta(days=1)) == "unchanged"
        assert save_label(conn, delivery_id="d005", category="permanent-4xx", labeler="imp",
                          now=T0, labeled_at=T0 - timedelta(days=1)) == "updated"
        label = get_label(conn, "d005")
    assert label.category == "permanent-4xx" and label.labeled_at == T0 - timedelta(days=1)


def test_list_labels_newest_first_per_labeler(stored_failures):
    with stored_failures.begin() as conn:
        for i in range(6):
            create_label(conn, delivery_id=f"d{i:03d}", category="unknown",
                         labeler="alice" if i % 2 else "bob", now=T0 + timedelta(minutes=i))
    with stored_failures.connect() as conn:
        mine = list_labels(conn, labeler="alice", limit=2)
        assert [label.delivery_id for label in mine] == ["d005", "d003"]
        assert count_labels(conn, labeler="bob") == 3
        assert [label.delivery_id for label in iter_labels(conn, batch=4)] == [
            f"d{i:03d}" for i in range(6)
        ]


def test_deleting_a_delivery_deletes_its_label(stored_failures):
    from intel.store.schema import deliveries

    with stored_failures.begin() as conn:
        create_label(conn, delivery_id="d006", category="unknown", labeler="alice", now=T0)
        conn.execute(deliveries.delete().where(deliveries.c.id == "d006"))
    with stored_failures.connect() as conn:
        assert get_label(conn, "d006") is None
