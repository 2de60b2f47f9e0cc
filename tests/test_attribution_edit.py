"""Editing an attribution in place, as the annotate page does: one attribution.update for source, cue, content and parent, and the
op sequences of its undo (a delete spelled out with the unlinking of what it relays, and the re-creation that restores the links)."""

from __future__ import annotations

import pytest
from factories import make_document
from factories import make_team
from factories import span_op

from workbench.errors import InvalidAnnotation
from workbench.models import AnnotationSet
from workbench.services import annotation

TEXT = "Citing a port official, the Coast Ledger reported that the dock will shut. Nordwire said the fleet is idle."


def S(uid, label, needle):
    return span_op(TEXT, uid, label, needle)


SEED = [
    S("official", "SOURCE", "a port official"),
    S("citing", "CUE", "Citing"),
    S("paper", "ORG", "the Coast Ledger"),
    S("reported", "CUE", "reported"),
    S("dock", "CLAIM", "the dock will shut"),
    S("wire", "ORG", "Nordwire"),
    S("said", "CUE", "said"),
    S("fleet", "CLAIM", "the fleet is idle"),
    {"op": "attribution.create", "id": "AP", "source": "paper", "cue": "reported", "content": ["dock"]},
    {"op": "attribution.create", "id": "AO", "source": "official", "cue": "citing", "content": ["dock"], "parent": "AP"},
    {"op": "attribution.create", "id": "AW", "source": "wire", "cue": "said", "content": ["fleet"]},
]


@pytest.fixture
def seeded(db):
    ann, _bob, _cur, project = make_team(db)
    document = make_document(db, project, TEXT, external_id="dock")
    lay = annotation.open_annotator_layer(db, ann, document)
    db.commit()
    annotation.apply_ops(db, ann, lay.id, 0, "seed", SEED)
    db.commit()
    return ann, lay, document


def attributions(db, lay, document):
    db.expire_all()
    data = annotation.layer_data(db, db.get(AnnotationSet, lay.id), document.text)
    return {a["id"]: (a["source"], a["cue"], a["content"], a.get("parent"), a["attrs"]) for a in data["attributions"]}


def test_source_cue_content_and_parent_change_in_one_update_and_parent_clears_with_null(db, seeded):
    ann, lay, document = seeded
    annotation.apply_ops(db, ann, lay.id, 1, "edit", [
        {"op": "attribution.update", "id": "AW", "source": "paper", "cue": "reported", "content": ["dock", "fleet"], "parent": "AO", "attrs": {"quote": "mixed"}},
    ])
    db.commit()
    assert attributions(db, lay, document)["AW"] == ("paper", "reported", ["dock", "fleet"], "AO", {"quote": "mixed"})
    annotation.apply_ops(db, ann, lay.id, 2, "clear", [{"op": "attribution.update", "id": "AW", "parent": None, "source": "wire"}])
    db.commit()
    assert attributions(db, lay, document)["AW"] == ("wire", "reported", ["dock", "fleet"], None, {"quote": "mixed"})


def test_an_edit_that_would_loop_through_a_longer_chain_is_refused_and_nothing_changes(db, seeded):
    ann, lay, document = seeded
    annotation.apply_ops(db, ann, lay.id, 1, "chain", [{"op": "attribution.update", "id": "AP", "parent": "AW"}])
    db.commit()
    before = attributions(db, lay, document)
    with pytest.raises(InvalidAnnotation, match="the chain would loop"):
        annotation.apply_ops(db, ann, lay.id, 2, "loop", [
            {"op": "attribution.update", "id": "AW", "cue": "citing"},
            {"op": "attribution.update", "id": "AW", "parent": "AO"},
        ])
    db.rollback()
    assert attributions(db, lay, document) == before


def test_the_page_delete_and_its_undo_keep_the_chain(db, seeded):
    ann, lay, document = seeded
    # Deleting AP as the page spells it out: what AP relays loses its parent first.
    annotation.apply_ops(db, ann, lay.id, 1, "del", [
        {"op": "attribution.update", "id": "AO", "parent": None},
        {"op": "attribution.delete", "id": "AP"},
    ])
    db.commit()
    after = attributions(db, lay, document)
    assert "AP" not in after and after["AO"][3] is None
    # Undo: re-create AP as it was, then restore the link.
    annotation.apply_ops(db, ann, lay.id, 2, "undo", [
        {"op": "attribution.create", "id": "AP", "source": "paper", "cue": "reported", "content": ["dock"], "attrs": {}, "parent": None},
        {"op": "attribution.update", "id": "AO", "parent": "AP"},
    ])
    db.commit()
    restored = attributions(db, lay, document)
    assert restored["AP"] == ("paper", "reported", ["dock"], None, {}) and restored["AO"][3] == "AP"
