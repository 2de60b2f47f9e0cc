"""The annotation service: ops on a layer, all or nothing, versions, cascades, status, next document."""

from __future__ import annotations

from typing import Any

import pytest
from factories import make_document
from factories import make_team
from factories import make_user
from sqlalchemy import func
from sqlalchemy import select

from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidAnnotation
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Change
from workbench.models import Relation
from workbench.models import Span
from workbench.services import annotation
from workbench.services import documents as document_service

#            0         1         2         3         4         5
#            012345678901234567890123456789012345678901234567890123
TEXT = "Mira Olsen of Tallow Mills said the plant will close in May."
#  Mira Olsen 0-10 PERSON, Tallow Mills 14-26 ORG, said 27-31 CUE, "the plant will close in May" 32-59 CLAIM


@pytest.fixture
def world(db) -> dict[str, Any]:
    """Two annotators and a curator in one project with three documents."""
    ann, bob, cur, project = make_team(db)
    docs = [make_document(db, project, TEXT, external_id="d1")]
    docs.append(make_document(db, project, "Second story text here.", external_id="d2"))
    docs.append(make_document(db, project, "Third story text here.", external_id="d3"))
    layer = annotation.open_annotator_layer(db, ann, docs[0])
    db.commit()
    return {"ann": ann, "bob": bob, "cur": cur, "project": project, "docs": docs, "layer": layer}


def span_op(uid: str, label: str, start: int, end: int, **extra: Any) -> dict[str, Any]:
    """Return a span.create op."""
    return {"op": "span.create", "id": uid, "label": label, "start": start, "end": end, **extra}


BASE_OPS = [
    span_op("p", "PERSON", 0, 10, text="Mira Olsen"),
    span_op("o", "ORG", 14, 26, text="Tallow Mills"),
    span_op("cue", "CUE", 27, 31),
    span_op("c", "CLAIM", 32, 59, attrs={"factuality": "hedged"}),
    {"op": "relation.create", "id": "r1", "type": "member_of", "head": "p", "tail": "o"},
    {"op": "attribution.create", "id": "a1", "source": "p", "cue": "cue", "content": ["c"], "attrs": {"quote": "indirect"}},
]


def apply(db, world, ops, base=None, batch="b1", user=None):
    """Apply ``ops`` to the world's layer and commit."""
    layer_id = world["layer"].id
    if base is None:
        base = db.scalar(select(AnnotationSet.version).where(AnnotationSet.id == layer_id))
    result = annotation.apply_ops(db, user or world["ann"], layer_id, base, batch, ops)
    db.commit()
    return result


def data(db, world) -> dict[str, Any]:
    """Return the world's layer as the API shows it, read fresh."""
    db.expire_all()
    layer = db.get(AnnotationSet, world["layer"].id)
    return annotation.layer_data(db, layer, TEXT)


def test_open_layer_creates_once(db, world):
    again = annotation.open_annotator_layer(db, world["ann"], world["docs"][0])
    db.commit()
    assert again.id == world["layer"].id
    assert again.status == "new" and again.version == 0 and again.owner_key == f"annotator:{world['ann'].id}"
    count = db.scalar(select(func.count(AnnotationSet.id)).where(AnnotationSet.document_id == world["docs"][0].id))
    assert count == 1


def test_creates_of_every_kind_and_the_result(db, world):
    result = apply(db, world, BASE_OPS)
    assert result == {"version": 1, "counts": {"spans": 4, "relations": 1, "attributions": 1}, "batch_id": "b1"}
    layer = data(db, world)
    assert layer["status"] == "in_progress" and layer["version"] == 1
    assert [(s["id"], s["label"], s["text"]) for s in layer["spans"]] == [
        ("p", "PERSON", "Mira Olsen"),
        ("o", "ORG", "Tallow Mills"),
        ("cue", "CUE", "said"),
        ("c", "CLAIM", "the plant will close in May"),
    ]
    assert layer["spans"][3]["attrs"] == {"factuality": "hedged"}
    assert layer["relations"] == [{"id": "r1", "type": "member_of", "head": "p", "tail": "o", "attrs": {}}]
    assert layer["attributions"] == [
        {"id": "a1", "source": "p", "cue": "cue", "content": ["c"], "attrs": {"quote": "indirect"}}
    ]


def test_each_batch_writes_one_change_row(db, world):
    apply(db, world, BASE_OPS)
    apply(db, world, [{"op": "relation.delete", "id": "r1"}], batch="b2")
    changes = db.scalars(select(Change).where(Change.set_id == world["layer"].id).order_by(Change.id)).all()
    assert [(c.action, c.version, c.user_id) for c in changes] == [("ops", 1, world["ann"].id), ("ops", 2, world["ann"].id)]
    assert changes[0].payload["ops"] == BASE_OPS
    assert changes[1].payload == {"batch_id": "b2", "ops": [{"op": "relation.delete", "id": "r1"}]}


def test_updates_of_every_kind(db, world):
    apply(db, world, BASE_OPS + [span_op("g", "GPE", 37, 42), span_op("x", "CLAIM", 36, 59)])
    apply(
        db,
        world,
        [
            {"op": "span.update", "id": "c", "attrs": {"factuality": "denied"}},
            {"op": "span.update", "id": "g", "label": "ORG", "start": 36, "end": 41},
            {"op": "relation.update", "id": "r1", "attrs": {"note": "checked"}},
            {"op": "relation.create", "id": "r2", "type": "about", "head": "c", "tail": "g"},
            {"op": "relation.update", "id": "r2", "type": "about", "attrs": {"k": "v"}},
            {"op": "attribution.update", "id": "a1", "source": None, "content": ["c", "x"], "attrs": {"quote": "mixed"}},
        ],
        batch="b2",
    )
    layer = data(db, world)
    spans = {s["id"]: s for s in layer["spans"]}
    assert spans["c"]["attrs"] == {"factuality": "denied"}
    assert (spans["g"]["label"], spans["g"]["start"], spans["g"]["end"], spans["g"]["text"]) == ("ORG", 36, 41, "plant")
    rels = {r["id"]: r for r in layer["relations"]}
    assert rels["r1"]["attrs"] == {"note": "checked"}
    assert rels["r2"] == {"id": "r2", "type": "about", "head": "c", "tail": "g", "attrs": {"k": "v"}}
    assert layer["attributions"] == [
        {"id": "a1", "source": None, "cue": "cue", "content": ["c", "x"], "attrs": {"quote": "mixed"}}
    ]


def test_deletes_of_every_kind(db, world):
    apply(db, world, BASE_OPS + [span_op("extra", "DATE", 56, 59)])
    apply(
        db,
        world,
        [
            {"op": "relation.delete", "id": "r1"},
            {"op": "attribution.delete", "id": "a1"},
            {"op": "span.delete", "id": "extra"},
        ],
        batch="b2",
    )
    layer = data(db, world)
    assert [s["id"] for s in layer["spans"]] == ["p", "o", "cue", "c"]
    assert layer["relations"] == [] and layer["attributions"] == []
    assert db.scalar(select(func.count(AttributionContent.id))) == 0


def test_span_delete_cascades_to_relations_and_attributions(db, world):
    apply(
        db,
        world,
        BASE_OPS
        + [
            span_op("c2", "CLAIM", 51, 59),
            span_op("p2", "PERSON", 14, 20),
            {"op": "attribution.create", "id": "a2", "source": "p2", "cue": None, "content": ["c2"]},
            {"op": "attribution.create", "id": "a3", "source": None, "cue": "cue", "content": ["c", "c2"]},
        ],
    )
    # Deleting the source of a1 nulls it (a cue is left); deleting p2 leaves a2 with neither -> gone;
    # deleting c2 removes a piece of a3's content; deleting o removes r1.
    apply(
        db,
        world,
        [
            {"op": "span.delete", "id": "p"},
            {"op": "span.delete", "id": "p2"},
            {"op": "span.delete", "id": "c2"},
            {"op": "span.delete", "id": "o"},
        ],
        batch="b2",
    )
    layer = data(db, world)
    assert [s["id"] for s in layer["spans"]] == ["cue", "c"]
    assert layer["relations"] == []
    assert layer["attributions"] == [
        {"id": "a1", "source": None, "cue": "cue", "content": ["c"], "attrs": {"quote": "indirect"}},
        {"id": "a3", "source": None, "cue": "cue", "content": ["c"], "attrs": {}},
    ]
    assert db.scalar(select(func.count(Relation.id))) == 0
    assert db.scalar(select(func.count(Attribution.id))) == 2


def test_deleting_the_only_content_deletes_the_attribution(db, world):
    apply(db, world, BASE_OPS)
    result = apply(db, world, [{"op": "span.delete", "id": "c"}], batch="b2")
    assert result["counts"] == {"spans": 3, "relations": 1, "attributions": 0}


def test_ops_may_use_spans_made_earlier_in_the_batch_and_delete_them(db, world):
    result = apply(
        db,
        world,
        [
            span_op("a", "PERSON", 0, 4),
            span_op("b", "ORG", 14, 20),
            {"op": "relation.create", "id": "r", "type": "member_of", "head": "a", "tail": "b"},
            {"op": "span.delete", "id": "a"},
            span_op("a2", "PERSON", 0, 10),
        ],
    )
    assert result["counts"] == {"spans": 2, "relations": 0, "attributions": 0}


def test_stale_version_is_a_conflict_and_applies_nothing(db, world):
    apply(db, world, BASE_OPS)
    with pytest.raises(Conflict) as info:
        annotation.apply_ops(db, world["ann"], world["layer"].id, 0, "b2", [span_op("late", "DATE", 56, 59)])
    db.commit()
    assert info.value.extra == {"current_version": 1}
    layer = data(db, world)
    assert layer["version"] == 1 and "late" not in [s["id"] for s in layer["spans"]]


def test_same_batch_twice_is_applied_once(db, world):
    first = apply(db, world, BASE_OPS, base=0, batch="same")
    again = apply(db, world, BASE_OPS, base=0, batch="same")
    assert again == first
    assert data(db, world)["version"] == 1
    assert db.scalar(select(func.count(Span.id))) == 4
    assert db.scalar(select(func.count(Change.id)).where(Change.action == "ops")) == 1


def test_submitted_layer_can_still_be_edited(db, world):
    apply(db, world, BASE_OPS)
    annotation.set_status(db, world["ann"], world["layer"].id, "submitted")
    db.commit()
    result = apply(db, world, [{"op": "relation.delete", "id": "r1"}], batch="b2")
    layer = data(db, world)
    assert result["version"] == 2 and layer["status"] == "submitted"


BAD_BATCHES = [
    ([span_op("s", "PERSON", 50, 70)], 0, "span.create", "span 50-70 lies outside the text (length 60)"),
    ([span_op("s", "PERSON", 0, 4, text="Mara")], 0, "span.create", "covers 'Mira', not 'Mara'"),
    ([span_op("s", "VILLAIN", 0, 4)], 0, "span.create", "label 'VILLAIN' is not in the project's schema"),
    ([span_op("s", "PERSON", 4, 4)], 0, "span.create", "empty or reversed"),
    ([span_op("s", "CLAIM", 0, 4, attrs={"factuality": "maybe"})], 0, "span.create", "'factuality' has value 'maybe'"),
    ([{"op": "span.create", "label": "PERSON", "start": 0, "end": 4}], 0, "span.create", "id must be a string"),
    (BASE_OPS + [span_op("p", "PERSON", 0, 4)], 6, "span.create", "id 'p' is already used"),
    (BASE_OPS + [span_op("r1", "PERSON", 0, 4)], 6, "span.create", "id 'r1' is already used"),
    (BASE_OPS + [{"op": "relation.create", "id": "r9", "type": "member_of", "head": "p", "tail": "nope"}], 6,
     "relation.create", "tail 'nope' is not a span of this layer"),
    (BASE_OPS + [{"op": "relation.create", "id": "r9", "type": "member_of", "head": "o", "tail": "p"}], 6,
     "relation.create", "a member_of relation cannot go from ORG to PERSON"),
    (BASE_OPS + [{"op": "relation.create", "id": "r9", "type": "likes", "head": "p", "tail": "o"}], 6,
     "relation.create", "relation type 'likes' is not in the project's schema"),
    (BASE_OPS + [{"op": "attribution.create", "id": "a9", "source": "p", "cue": "cue", "content": []}], 6,
     "attribution.create", "needs at least one content span"),
    (BASE_OPS + [{"op": "attribution.create", "id": "a9", "source": None, "cue": None, "content": ["c"]}], 6,
     "attribution.create", "needs a source or a cue"),
    (BASE_OPS + [{"op": "attribution.create", "id": "a9", "source": "ghost", "cue": None, "content": ["c"]}], 6,
     "attribution.create", "source 'ghost' is not a span of this layer"),
    (BASE_OPS + [{"op": "span.update", "id": "o", "label": "DATE"}], 6, "span.update", "cannot go from PERSON to DATE"),
    ([{"op": "span.update", "id": "ghost", "label": "ORG"}], 0, "span.update", "span 'ghost' is not a span"),
    ([{"op": "span.delete", "id": "ghost"}], 0, "span.delete", "span 'ghost' is not a span"),
    ([{"op": "relation.update", "id": "ghost"}], 0, "relation.update", "relation 'ghost' is not in this layer"),
    ([{"op": "relation.delete", "id": "ghost"}], 0, "relation.delete", "relation 'ghost' is not in this layer"),
    ([{"op": "attribution.delete", "id": "ghost"}], 0, "attribution.delete", "attribution 'ghost' is not in"),
    (BASE_OPS + [{"op": "span.explode", "id": "p"}], 6, "span.explode", "unknown op 'span.explode'"),
]


@pytest.mark.parametrize("ops, index, name, reason", BAD_BATCHES)
def test_a_bad_op_names_its_index_and_nothing_is_applied(db, world, ops, index, name, reason):
    with pytest.raises(InvalidAnnotation) as info:
        annotation.apply_ops(db, world["ann"], world["layer"].id, 0, "bad", ops)
    db.commit()  # the service itself must have left nothing behind
    assert info.value.message.startswith(f"op {index} ({name}): ")
    assert reason in info.value.message
    assert info.value.details == [{"index": index, "op": name, "reason": info.value.message.split(": ", 1)[1]}]
    layer = data(db, world)
    assert layer["version"] == 0 and layer["status"] == "new"
    assert layer["spans"] == [] and layer["relations"] == [] and layer["attributions"] == []
    assert db.scalar(select(func.count(Change.id))) == 0


def test_a_bad_op_after_good_batches_leaves_the_earlier_state(db, world):
    apply(db, world, BASE_OPS)
    with pytest.raises(InvalidAnnotation):
        annotation.apply_ops(
            db, world["ann"], world["layer"].id, 1, "b2",
            [{"op": "span.delete", "id": "p"}, {"op": "relation.create", "id": "r2", "type": "member_of", "head": "p", "tail": "o"}],
        )
    db.commit()  # nothing of the failed batch may be stored
    layer = data(db, world)
    assert layer["version"] == 1 and len(layer["spans"]) == 4 and len(layer["attributions"]) == 1
    assert layer["attributions"][0]["source"] == "p"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"base_version": "1", "batch_id": "b", "ops": [span_op("s", "PERSON", 0, 4)]}, "base_version"),
        ({"base_version": 0, "batch_id": "", "ops": [span_op("s", "PERSON", 0, 4)]}, "batch_id"),
        ({"base_version": 0, "batch_id": "b", "ops": []}, "ops must be a non-empty list"),
        ({"base_version": 0, "batch_id": "b", "ops": "span.create"}, "ops must be a non-empty list"),
    ],
)
def test_malformed_batches_are_refused(db, world, body, message):
    with pytest.raises(InvalidInput) as info:
        annotation.apply_ops(db, world["ann"], world["layer"].id, body["base_version"], body["batch_id"], body["ops"])
    assert message in info.value.message


TRICKY_TEXTS = [
    ("Family 👩‍👩‍👧 met Ilya 𝕏 at noon.", "Ilya 𝕏"),
    ("Министр Анна Петрова заявила.", "Анна Петрова"),
    ("Cafe\u0301 owner Rene\u0301 Dubois spoke.", "Rene\u0301 Dubois"),
    ("First line.\r\nSecond line names Omar Haddad.\r\n", "Omar Haddad"),
    ("🇫🇷 flag then 𝕏𝕐 Zed Ko", "Zed Ko"),
]


@pytest.mark.parametrize("text, name", TRICKY_TEXTS)
def test_offsets_are_code_points(db, world, text, name):
    doc = make_document(db, world["project"], text, external_id="tricky")
    layer = annotation.open_annotator_layer(db, world["ann"], doc)
    db.commit()
    start = text.index(name)
    end = start + len(name)
    annotation.apply_ops(db, world["ann"], layer.id, 0, "u1", [span_op("n", "PERSON", start, end, text=name)])
    db.commit()
    db.expire_all()
    shown = annotation.layer_data(db, db.get(AnnotationSet, layer.id), text)["spans"][0]
    assert (shown["start"], shown["end"], shown["text"]) == (start, end, name)
    assert text[shown["start"] : shown["end"]] == name
    # The UTF-16 length differs wherever an astral character precedes the name.
    with pytest.raises(InvalidAnnotation):
        annotation.apply_ops(db, world["ann"], layer.id, 1, "u2", [span_op("m", "PERSON", start + 1, end + 1, text=name)])
    db.rollback()


def test_span_may_not_split_a_crlf(db, world):
    text = "One.\r\nTwo."
    doc = make_document(db, world["project"], text, external_id="crlf")
    layer = annotation.open_annotator_layer(db, world["ann"], doc)
    db.commit()
    with pytest.raises(InvalidAnnotation, match="CRLF"):
        annotation.apply_ops(db, world["ann"], layer.id, 0, "b", [span_op("s", "PERSON", 5, 9)])


def test_replace_layer(db, world):
    apply(db, world, BASE_OPS)
    result = annotation.replace_layer(
        db,
        world["ann"],
        world["layer"].id,
        1,
        [
            {"id": "T1", "label": "PERSON", "start": 0, "end": 10, "text": "Mira Olsen"},
            {"id": "T2", "label": "CLAIM", "start": 32, "end": 59, "attrs": {"factuality": "asserted"}},
        ],
        [],
        [{"id": "A1", "source": "T1", "cue": None, "content": ["T2"], "attrs": {}}],
    )
    db.commit()
    assert result == {"version": 2, "counts": {"spans": 2, "relations": 0, "attributions": 1}, "batch_id": None}
    layer = data(db, world)
    assert [s["id"] for s in layer["spans"]] == ["T1", "T2"]
    assert layer["attributions"] == [{"id": "A1", "source": "T1", "cue": None, "content": ["T2"], "attrs": {}}]
    change = db.scalars(select(Change).order_by(Change.id.desc())).first()
    assert change.action == "replace" and change.version == 2


def test_replace_layer_is_all_or_nothing(db, world):
    apply(db, world, BASE_OPS)
    with pytest.raises(InvalidAnnotation) as info:
        annotation.replace_layer(
            db, world["ann"], world["layer"].id, 1,
            [{"id": "T1", "label": "PERSON", "start": 0, "end": 10}],
            [{"id": "R1", "type": "member_of", "head": "T1", "tail": "T9"}],
            [],
        )
    db.commit()
    assert info.value.message == "relations[0] (R1): tail 'T9' is not a span of this layer"
    layer = data(db, world)
    assert layer["version"] == 1 and len(layer["spans"]) == 4
    with pytest.raises(Conflict):
        annotation.replace_layer(db, world["ann"], world["layer"].id, 0, [], [], [])


def test_status_submit_and_skip(db, world):
    layer_id = world["layer"].id
    annotation.set_status(db, world["ann"], layer_id, "submitted")
    db.commit()
    with pytest.raises(InvalidInput, match="a skip needs a note"):
        annotation.set_status(db, world["ann"], layer_id, "skipped", "  ")
    with pytest.raises(InvalidInput, match="status must be one of"):
        annotation.set_status(db, world["ann"], layer_id, "adjudicated")
    annotation.set_status(db, world["ann"], layer_id, "skipped", "not news")
    db.commit()
    db.expire_all()
    layer = db.get(AnnotationSet, layer_id)
    assert (layer.status, layer.status_note) == ("skipped", "not news")
    actions = db.scalars(select(Change.payload).where(Change.action == "status").order_by(Change.id)).all()
    assert [(p["to"], p["note"]) for p in actions] == [("submitted", ""), ("skipped", "not news")]


def test_next_document_passes_over_submitted_and_skipped(db, world):
    ann, docs, project = world["ann"], world["docs"], world["project"]
    assert annotation.next_document_id(db, ann, project.id) == docs[0].id  # layer exists, status new
    apply(db, world, BASE_OPS)
    assert annotation.next_document_id(db, ann, project.id) == docs[0].id  # in progress
    annotation.set_status(db, ann, world["layer"].id, "submitted")
    db.commit()
    assert annotation.next_document_id(db, ann, project.id) == docs[1].id  # no layer yet
    second = annotation.open_annotator_layer(db, ann, docs[1])
    annotation.set_status(db, ann, second.id, "skipped", "duplicate")
    db.commit()
    assert annotation.next_document_id(db, ann, project.id) == docs[2].id
    third = annotation.open_annotator_layer(db, ann, docs[2])
    annotation.set_status(db, ann, third.id, "submitted")
    db.commit()
    assert annotation.next_document_id(db, ann, project.id) is None
    # Bob's queue is his own.
    assert annotation.next_document_id(db, world["bob"], project.id) == docs[0].id


def test_neighbours(db, world):
    docs = world["docs"]
    assert document_service.neighbours(db, docs[0]) == (None, docs[1].id)
    assert document_service.neighbours(db, docs[1]) == (docs[0].id, docs[2].id)
    assert document_service.neighbours(db, docs[2]) == (docs[1].id, None)


def test_blind_annotation(db, world):
    apply(db, world, BASE_OPS)
    layer_id = world["layer"].id
    with pytest.raises(NotFound):
        annotation.layer_access(db, world["bob"], layer_id)
    with pytest.raises(NotFound):
        annotation.apply_ops(db, world["bob"], layer_id, 1, "x", [span_op("s", "PERSON", 0, 4)])
    access = annotation.layer_access(db, world["cur"], layer_id)
    assert access.layer.id == layer_id and not access.is_owner
    with pytest.raises(Forbidden):
        annotation.apply_ops(db, world["cur"], layer_id, 1, "x", [span_op("s", "PERSON", 0, 4)])
    outsider = make_user(db, "outsider")
    with pytest.raises(NotFound):
        annotation.layer_access(db, outsider, layer_id)
    with pytest.raises(NotFound):
        annotation.layer_access(db, world["ann"], 999_999)


def test_two_saves_from_the_same_version_cannot_both_win(app, db, world):
    """The second save waits for the first one's row lock, then finds the version moved on."""
    import threading

    from workbench.transactions import begin_write

    layer_id = world["layer"].id
    annotation.apply_ops(db, world["ann"], layer_id, 0, "first", [span_op("p", "PERSON", 0, 10)])  # not committed yet
    outcome: dict[str, Any] = {}

    def second_save() -> None:
        """Save from version 0 in another session; record the outcome."""
        other = app.extensions["workbench.sessionmaker"]()
        try:
            begin_write(other)  # as every write request does
            user = other.get(type(world["ann"]), world["ann"].id)
            annotation.apply_ops(other, user, layer_id, 0, "second", [span_op("o", "ORG", 14, 26)])
            other.commit()
            outcome["result"] = "saved"
        except Conflict as exc:
            other.rollback()
            outcome["result"] = exc.extra
        finally:
            other.close()

    thread = threading.Thread(target=second_save)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second save should wait for the first one's lock"
    db.commit()
    thread.join(30)
    assert outcome["result"] == {"current_version": 1}
    db.expire_all()
    assert db.scalars(select(Span.uid)).all() == ["p"]
    assert db.scalar(select(AnnotationSet.version).where(AnnotationSet.id == layer_id)) == 1


def test_cascades_within_one_batch(db, world):
    """Deletes reach rows made or changed earlier in the same batch, stored or not."""
    apply(db, world, BASE_OPS)
    result = apply(
        db,
        world,
        [
            # New spans and an attribution that uses them, then one of them goes.
            span_op("n1", "PERSON", 0, 4),
            span_op("n2", "CLAIM", 36, 59),
            {"op": "attribution.create", "id": "a2", "source": "n1", "cue": None, "content": ["n2", "c"]},
            {"op": "relation.create", "id": "r2", "type": "about", "head": "n2", "tail": "o"},
            {"op": "span.delete", "id": "n2"},
            # A stored attribution gets a new piece, then loses a stored piece and the new one.
            {"op": "attribution.update", "id": "a1", "content": ["c", "n1"]},
            {"op": "relation.create", "id": "r3", "type": "member_of", "head": "n1", "tail": "o"},
            {"op": "span.delete", "id": "n1"},
            # A stored span used by a relation made in this batch.
            {"op": "relation.create", "id": "r4", "type": "member_of", "head": "p", "tail": "o"},
            {"op": "span.delete", "id": "o"},
        ],
        batch="b2",
    )
    assert result["counts"] == {"spans": 3, "relations": 0, "attributions": 1}
    layer = data(db, world)
    assert [s["id"] for s in layer["spans"]] == ["p", "cue", "c"]
    assert layer["relations"] == []
    assert layer["attributions"] == [
        {"id": "a1", "source": "p", "cue": "cue", "content": ["c"], "attrs": {"quote": "indirect"}}
    ]
    assert db.scalar(select(func.count(AttributionContent.id))) == 1


def test_relabel_is_checked_against_relations_made_in_the_same_batch(db, world):
    apply(db, world, BASE_OPS[:4])
    with pytest.raises(InvalidAnnotation, match=r"^op 1 \(span.update\): a member_of relation cannot go from DATE to ORG"):
        annotation.apply_ops(
            db, world["ann"], world["layer"].id, 1, "b2",
            [
                {"op": "relation.create", "id": "r9", "type": "member_of", "head": "p", "tail": "o"},
                {"op": "span.update", "id": "p", "label": "DATE"},
            ],
        )
    db.commit()
    assert data(db, world)["relations"] == []


def test_a_deleted_id_may_be_reused_in_the_same_batch(db, world):
    apply(db, world, BASE_OPS)
    apply(
        db, world,
        [{"op": "relation.delete", "id": "r1"},
         {"op": "relation.create", "id": "r1", "type": "member_of", "head": "p", "tail": "o", "attrs": {"v": "2"}}],
        batch="b2",
    )
    assert data(db, world)["relations"][0]["attrs"] == {"v": "2"}
    apply(db, world, [{"op": "span.delete", "id": "cue"}, span_op("cue", "CUE", 27, 31, attrs={"k": "v"})], batch="b3")
    layer = data(db, world)
    assert [s["attrs"] for s in layer["spans"] if s["id"] == "cue"] == [{"k": "v"}]
    assert layer["attributions"][0]["cue"] is None  # the old cue span went, and with it the link
