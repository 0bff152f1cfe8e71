"""`python -m intel labels import|export`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from intel.cli import main
from intel.labels.store import count_labels
from intel.store.db import make_engine
from intel.store.schema import audit_log, deliveries
from tests.labels.labels_data import DEV_SET

STARTER = Path(__file__).resolve().parents[2] / "data" / "triage_labels_starter.jsonl"


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        n_deliveries = conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar()
        n_labels = count_labels(conn)
    engine.dispose()
    return n_deliveries, n_labels


def test_a_label_file_never_adds_deliveries(db_url, capsys):
    """Without --add-deliveries the dev set labels nothing: its deliveries are unknown."""
    assert main(["labels", "import", str(DEV_SET), "--labeler", "starter-set",
                 "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "line 1: delivery" in err and "is not in the store" in err
    assert _counts(db_url) == (0, 0)


def test_import_dev_set_then_export_and_reimport(db_url, tmp_path, capsys):
    assert main(["labels", "import", str(DEV_SET), "--labeler", "starter-set",
                 "--add-deliveries", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "143 new" in out and "143 delivery(ies) added" in out
    assert _counts(db_url) == (143, 143)

    exported = tmp_path / "labels.csv"
    assert main(["labels", "export", str(exported), "--db", db_url]) == 0
    lines = exported.read_text().splitlines()
    assert lines[0] == "delivery_id,category,note,labeler,labeled_at" and len(lines) == 144

    assert main(["labels", "import", str(exported), "--labeler", "bob", "--db", db_url]) == 0
    assert "143 unchanged" in capsys.readouterr().out
    engine = make_engine(db_url)
    with engine.connect() as conn:
        imports = conn.execute(
            sa.select(audit_log.c.actor).where(audit_log.c.action == "label.import")
            .order_by(audit_log.c.id)
        ).scalars().all()
    engine.dispose()
    assert imports == ["starter-set", "bob"]


def test_the_shipped_starter_set_imports(sqlite_url, capsys):
    if not STARTER.exists():
        pytest.fail(f"{STARTER} is missing: the demo imports it")
    assert main(["labels", "import", str(STARTER), "--labeler", "starter-set",
                 "--add-deliveries", "--db", sqlite_url]) == 0
    n_deliveries, n_labels = _counts(sqlite_url)
    assert n_labels == n_deliveries > 0


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("delivery_id,category\nrw_x,unknown\nrw_y,maybe\n", ".csv",
         "line 3 (delivery 'rw_y'): unknown category 'maybe'"),
        ("delivery_id,category\nghost,unknown\n", ".csv",
         "line 2: delivery 'ghost' is not in the store"),
        ('{"id": "x", "label": "unknown"}\n', ".jsonl",
         "line 1: delivery 'x' is not in the store"),
        ('{"id": "x", "tenant": "t", "label": "unknown"}\n', ".jsonl",
         "line 1: missing required field 'endpoint'"),
        ("whatever", ".txt", "expected .csv or .jsonl"),
    ],
)
def test_bad_files_exit_2_naming_the_line(sqlite_url, tmp_path, capsys, content, suffix,
                                          message):
    path = tmp_path / f"labels{suffix}"
    path.write_text(content)
    assert main(["labels", "import", str(path), "--labeler", "bob", "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert _counts(sqlite_url) == (0, 0)


def test_labeler_is_required(sqlite_url, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["labels", "import", str(DEV_SET), "--db", sqlite_url])
    assert exited.value.code == 2
    assert "--labeler" in capsys.readouterr().err


def test_export_to_stdout(sqlite_url, capsys):
    assert main(["labels", "export", "-", "--db", sqlite_url]) == 0
    assert capsys.readouterr().out == "delivery_id,category,note,labeler,labeled_at\n"
