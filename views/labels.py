"""Labels: operator leads label failed deliveries, the truth triage is measured against.

Everything is within the signed-in identity's tenants. Labelling, editing and uploading
label files are for roles that may label (operator, admin); a viewer reads and exports.
Labels are written under the signed-in name.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from intel.labels.files import (
    LabelFileError,
    import_labels,
    labels_to_csv,
    parse_labels_csv,
    parse_labels_jsonl,
)
from intel.labels.queue import build_queue, load_delivery, predict
from intel.labels.store import (
    LabelError,
    LabelExists,
    count_labels,
    create_label,
    delete_label,
    get_label,
    iter_labels,
    list_labels,
    update_label,
)
from intel.timeutil import to_rfc3339
from intel.triage import CATEGORIES
from ui.labels import CATEGORY_ICON, category_badge, show_delivery
from ui.safe import md
from ui.session import allowed, engine, now, require_identity, settings

SHORTCUTS = ("1", "2", "3", "4")

identity = require_identity()
scope = identity.scope
may_label = identity.can("label")
st.title("🏷️ Labels")
st.caption(
    "Label failed deliveries with the category a careful operator would give them. "
    "Labels are the truth the Accuracy page measures triage against."
)

db = engine()
cfg = settings().triage
state = st.session_state
flash = state.pop("labels_flash", None)
if flash:
    st.success(flash, icon="🏷️")


def _new_queue(seed: int) -> None:
    with db.connect() as conn:
        items = build_queue(
            conn,
            size=cfg.label_queue_size,
            seed=seed,
            pool_size=cfg.label_pool_size,
            low_confidence_below=cfg.label_low_confidence_below,
            low_confidence_share=cfg.label_low_confidence_share,
            scope=scope,
        )
    state["labels_seed"] = seed
    state["labels_queue"] = [
        {"id": i.delivery_id, "why": i.why, "stratum": i.stratum} for i in items
    ]
    state["labels_pos"] = 0


def _labellable(delivery_id: str) -> bool:
    """Re-checked at the action: the role may label, and the delivery is still there for
    this identity."""
    if not allowed(identity, "label"):
        return False
    with db.connect() as conn:
        if load_delivery(conn, delivery_id, scope=scope) is None:
            st.error("This delivery is not in the store.", icon="🔍")
            return False
    return True


if may_label and "labels_queue" not in state:
    _new_queue(int(state.get("labels_seed", 0)))

queue_tab, mine_tab, files_tab = st.tabs(["Queue", "My recent labels", "Import / export"])

# --- the queue ---------------------------------------------------------------------------


def render_queue() -> None:
    """The labelling queue (for a role that may label)."""
    queue = state["labels_queue"]
    item = delivery = None
    with db.connect() as conn:
        # Skip what someone labelled (or deleted) since the queue was sampled.
        while state["labels_pos"] < len(queue):
            candidate = queue[state["labels_pos"]]
            if get_label(conn, candidate["id"]) is None:
                delivery = load_delivery(conn, candidate["id"], scope=scope)
                if delivery is not None:
                    item = candidate
                    break
            state["labels_pos"] += 1
        pos = state["labels_pos"]

    top = st.columns([3, 1])
    top[0].caption(
        f"Queue of {len(queue)} (seed {state['labels_seed']}): stratified by predicted "
        "category, plus low-confidence predictions; never already-labelled deliveries."
    )
    if top[1].button("New sample", key="labels_resample", help="Draw a fresh queue"):
        _new_queue(int(state.get("labels_seed", 0)) + 1)
        st.rerun()

    if item is None or delivery is None:  # the queue is done
        st.info("Nothing left to label in this queue. Draw a new sample for more.", icon="✅")
        return
    st.progress(pos / max(1, len(queue)),
                text=f"{pos + 1} of {len(queue)} · {md(item['why'])}")
    result = predict(delivery)
    left, right = st.columns([3, 2])
    with left:
        show_delivery(delivery)
    with right:
        st.subheader("The rules say")
        category_badge(result.category)
        st.text(f"{result.category} · score {result.score} (confidence 0-100)")
        st.caption("Reason")
        st.text(result.reason)
        st.caption("Recommended action")
        st.text(result.recommended_action)
        st.divider()
        st.subheader("Your label")
        note = st.text_input("Note (optional)", key=f"labels_note_{item['id']}",
                             max_chars=2000)
        chosen = None
        for category, shortcut in zip(CATEGORIES, SHORTCUTS, strict=True):
            if st.button(
                f"{CATEGORY_ICON[category]} {category}",
                key=f"labels_pick_{category}",
                width="stretch",
                shortcut=shortcut,
                help=f"Label it {category} (key {shortcut})",
            ):
                chosen = category
        if st.button("Skip", key="labels_skip", width="stretch", shortcut="S",
                     help="Not sure: leave it unlabelled (key S)"):
            state["labels_pos"] = pos + 1
            st.rerun()
        if chosen and _labellable(item["id"]):
            try:
                with db.begin() as conn:
                    create_label(conn, delivery_id=item["id"], category=chosen,
                                 labeler=identity.name, now=now(), note=note or None)
            except LabelExists as exc:
                state["labels_flash"] = f"Not saved: {md(exc)}"
            except LabelError as exc:
                st.error(md(exc))
                st.stop()
            else:
                state["labels_flash"] = f"Labelled {md(item['id'])} as {chosen}."
            state["labels_pos"] = pos + 1
            st.rerun()


with queue_tab:
    if may_label:
        render_queue()
    else:
        st.info(f"Your role ({identity.role.value}) may read and export labels, not label "
                "deliveries.", icon="🔒")

# --- my recent labels --------------------------------------------------------------------
with mine_tab:
    me = identity.name
    if me:
        with db.connect() as conn:
            mine = list_labels(conn, labeler=me, limit=50, scope=scope)
            total_mine = count_labels(conn, labeler=me, scope=scope)
        st.caption(f"Your {len(mine)} most recent of {total_mine} label(s)."
                   + (" Select one to edit." if may_label else ""))
        if mine:
            rows = [
                {
                    "delivery": lb.delivery_id,
                    "category": lb.category,
                    "note": lb.note or "",
                    "labelled at": to_rfc3339(lb.labeled_at),
                    "changed at": to_rfc3339(lb.updated_at),
                    "origin": lb.origin,
                }
                for lb in mine
            ]
            event = st.dataframe(rows, hide_index=True, on_select="rerun",
                                 selection_mode="single-row", key="labels_mine")
            picked = event.selection.rows if event else []
            if may_label and picked and picked[0] < len(mine):
                label = mine[picked[0]]  # positional: map back to the id in this run
                with st.form(f"labels_edit_{label.delivery_id}"):
                    st.text(f"Edit the label of {label.delivery_id}")
                    new_category = st.selectbox("Category", CATEGORIES,
                                                index=CATEGORIES.index(label.category)
                                                if label.category in CATEGORIES else 0)
                    new_note = st.text_area("Note", value=label.note or "", max_chars=2000)
                    save_col, delete_col = st.columns(2)
                    save = save_col.form_submit_button("Save", type="primary")
                    remove = delete_col.form_submit_button("Delete label")
                if (save or remove) and _labellable(label.delivery_id):
                    try:
                        with db.begin() as conn:
                            if remove:
                                delete_label(conn, delivery_id=label.delivery_id, actor=me,
                                             now=now())
                                state["labels_flash"] = (
                                    f"Deleted the label of {md(label.delivery_id)}."
                                )
                            else:
                                update_label(conn, delivery_id=label.delivery_id, actor=me,
                                             now=now(), category=new_category,
                                             note=new_note or None)
                                state["labels_flash"] = (
                                    f"Saved the label of {md(label.delivery_id)}."
                                )
                    except LabelError as exc:
                        st.error(md(exc))
                    else:
                        st.rerun()

# --- import / export ---------------------------------------------------------------------
with files_tab:
    with db.connect() as conn:
        total = count_labels(conn, scope=scope)
    st.subheader("Export")
    st.caption(f"{total} label(s) as CSV: delivery_id, category, note, labeler, labeled_at. "
               "A cell a spreadsheet would run as a formula starts with an apostrophe.")

    def _export() -> str:
        with db.connect() as conn:
            return labels_to_csv(iter_labels(conn, scope=scope))

    st.download_button("Download labels.csv", data=_export, file_name="labels.csv",
                       mime="text/csv", key="labels_export", disabled=total == 0)

    st.subheader("Import")
    if not may_label:
        st.caption(f"Your role ({identity.role.value}) may not import labels.")
    else:
        st.caption(
            "CSV in the export format, or JSON Lines in the dev-set format (deliveries with "
            "a `label` field). Every delivery must already be in the store: a label file "
            "never adds deliveries. Labels are recorded under your name, with the file's "
            "name as their origin (the starter set's file: origin 'starter', the labels "
            "the rules were written against). All or nothing: a file with a bad row "
            "imports nothing."
        )
        upload = st.file_uploader("Label file", type=["csv", "jsonl"], key="labels_upload")
        if upload is not None and st.button("Import", key="labels_import", type="primary") \
                and allowed(identity, "label"):
            text = upload.getvalue().decode("utf-8", errors="replace")
            try:
                if upload.name.lower().endswith(".csv"):
                    records = parse_labels_csv(text, source=upload.name,
                                               default_labeler=identity.name)
                else:
                    records = parse_labels_jsonl(text.splitlines(), source=upload.name,
                                                 default_labeler=identity.name)
                # The file's labeler column is not who is acting: the signed-in name is.
                # And a label file never creates deliveries (JSONL records carry one).
                records = [replace(r, labeler=identity.name, delivery=None) for r in records]
                with db.begin() as conn:
                    summary = import_labels(conn, records, actor=identity.name, now=now(),
                                            source=upload.name, scope=scope)
            except (LabelFileError, LabelError) as exc:
                st.error("Nothing imported: the file has problems.", icon="🛑")
                st.code(str(exc), language=None)
            else:
                st.success(summary.describe())  # counts only
