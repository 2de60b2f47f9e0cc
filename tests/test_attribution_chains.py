"""Attribution chains: an attribution may name the attribution that relays it (``parent``); chains never loop."""

from __future__ import annotations

import pytest
from factories import make_document
from factories import make_team
from factories import span_op
from sqlalchemy import select

from workbench.errors import InvalidAnnotation
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.services import adjudication
from workbench.services import annotation
from workbench.services import assignment

TEXT = "Citing a harbour official, the Tidewater Gazette reported that the ferry will stop in May."


def S(uid, label, needle):
    return span_op(TEXT, uid, label, needle)


SPANS = [
    S("official", "PERSON", "a harbour official"),
    S("citing", "CUE", "Citing"),
    S("paper", "ORG", "the Tidewater Gazette"),
    S("reported", "CUE", "reported"),
    S("claim", "CLAIM", "the ferry will stop in May"),
]
CHAIN = [
    {"op": "attribution.create", "id": "A1", "source": "paper", "cue": "reported", "content": ["claim"]},
    {"op": "attribution.create", "id": "A2", "source": "official", "cue": "citing", "content": ["claim"], "parent": "A1"},
]


@pytest.fixture
def layer(db):
    ann, _bob, _cur, project = make_team(db)
    document = make_document(db, project, TEXT, external_id="ferry")
    lay = annotation.open_annotator_layer(db, ann, document)
    db.commit()
    return ann, lay, document


def _data(db, lay, document):
    db.expire_all()
    return annotation.layer_data(db, db.get(AnnotationSet, lay.id), document.text)


def test_a_chain_is_stored_and_read_back(db, layer):
    ann, lay, document = layer
    annotation.apply_ops(db, ann, lay.id, 0, "b1", SPANS + CHAIN)
    db.commit()
    atts = {a["id"]: a for a in _data(db, lay, document)["attributions"]}
    assert atts["A2"]["parent"] == "A1" and "parent" not in atts["A1"]


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        ({"op": "attribution.update", "id": "A1", "parent": "A2"}, "cannot be relayed by 'A2': the chain would loop (A1 → A2 → A1)"),
        ({"op": "attribution.update", "id": "A1", "parent": "A1"}, "the chain would loop"),
        ({"op": "attribution.update", "id": "A1", "parent": "A9"}, "parent 'A9' is not an attribution of this layer"),
        ({"op": "attribution.create", "id": "A3", "source": "paper", "cue": "reported", "content": ["claim"], "parent": 7}, "parent"),
    ],
)
def test_loops_and_unknown_parents_are_refused_and_nothing_changes(db, layer, op, reason):
    ann, lay, document = layer
    annotation.apply_ops(db, ann, lay.id, 0, "b1", SPANS + CHAIN)
    db.commit()
    with pytest.raises(InvalidAnnotation, match="op 0") as caught:
        annotation.apply_ops(db, ann, lay.id, 1, "b2", [op])
    assert reason in caught.value.message
    db.rollback()
    atts = {a["id"]: a.get("parent") for a in _data(db, lay, document)["attributions"]}
    assert atts == {"A1": None, "A2": "A1"}


def test_deleting_the_relaying_attribution_leaves_the_other_without_parent(db, layer):
    ann, lay, document = layer
    annotation.apply_ops(db, ann, lay.id, 0, "b1", SPANS + CHAIN)
    db.commit()
    annotation.apply_ops(db, ann, lay.id, 1, "b2", [{"op": "attribution.delete", "id": "A1"}])
    db.commit()
    assert [(a["id"], a.get("parent")) for a in _data(db, lay, document)["attributions"]] == [("A2", None)]
    # in one batch with a change to the child, too
    annotation.apply_ops(db, ann, lay.id, 2, "b3", [
        {"op": "attribution.create", "id": "A1", "source": "paper", "cue": "reported", "content": ["claim"]},
        {"op": "attribution.update", "id": "A2", "parent": "A1"},
    ])
    db.commit()
    annotation.apply_ops(db, ann, lay.id, 3, "b4", [
        {"op": "attribution.update", "id": "A2", "attrs": {"quote": "indirect"}},
        {"op": "span.delete", "id": "paper"},  # takes A1 (no source left? it keeps its cue) -- source only
        {"op": "attribution.delete", "id": "A1"},
    ])
    db.commit()
    atts = _data(db, lay, document)["attributions"]
    assert [(a["id"], a.get("parent"), a["attrs"]) for a in atts] == [("A2", None, {"quote": "indirect"})]
    assert db.scalar(select(Attribution.parent_id).where(Attribution.uid == "A2")) is None


def test_replacing_a_layer_keeps_a_parent_listed_after_its_child(db, layer):
    ann, lay, document = layer
    spans = [{k: v for k, v in op.items() if k != "op"} for op in SPANS]
    child, parent = ({k: v for k, v in op.items() if k != "op"} for op in reversed(CHAIN))
    annotation.replace_layer(db, ann, lay.id, 0, spans, [], [parent, child][::-1])
    db.commit()
    atts = {a["id"]: a.get("parent") for a in _data(db, lay, document)["attributions"]}
    assert atts == {"A2": "A1", "A1": None}
    with pytest.raises(InvalidAnnotation, match=r"attributions\[0\] \(A2\)"):
        annotation.replace_layer(db, ann, lay.id, 1, spans, [], [{**child, "parent": "A2"}])


def test_auto_merge_carries_an_agreed_chain_into_gold(db):
    ann, bob, cur, project = make_team(db)
    assignment.update_settings(db, project, {"annotators_per_document": 2})
    db.commit()
    document = make_document(db, project, TEXT, external_id="ferry")
    for user in (ann, bob):
        lay = assignment.claim_document(db, user, document)
        db.commit()
        # the child before its parent in the op list: the merge must order them
        ops = SPANS + [dict(CHAIN[0]), dict(CHAIN[1])]
        annotation.apply_ops(db, user, lay.id, 0, "b", ops)
        annotation.set_status(db, user, lay.id, "submitted")
        db.commit()
    report = adjudication.auto_merge(db, project, cur, "unanimous", finish=True)
    db.commit()
    assert report.finished == 1
    gold = db.scalar(select(AnnotationSet).where(AnnotationSet.owner_key == "gold"))
    data = annotation.layer_data(db, gold, TEXT)
    by_id = {a["id"]: a for a in data["attributions"]}
    children = [a for a in data["attributions"] if a.get("parent")]
    assert len(data["attributions"]) == 2 and len(children) == 1
    spans = {s["id"]: s["text"] for s in data["spans"]}
    assert spans[children[0]["source"]] == "a harbour official"
    assert spans[by_id[children[0]["parent"]]["source"]] == "the Tidewater Gazette"


def _chain_disputed(db):
    """ann's official is relayed by the paper; bob's official stands alone. Both submitted; k = 2."""
    ann, bob, cur, project = make_team(db)
    assignment.update_settings(db, project, {"annotators_per_document": 2})
    db.commit()
    document = make_document(db, project, TEXT, external_id="ferry")
    for user, chain in ((ann, CHAIN), (bob, [CHAIN[0], {**CHAIN[1], "parent": None}])):
        lay = assignment.claim_document(db, user, document)
        db.commit()
        annotation.apply_ops(db, user, lay.id, 0, "b", SPANS + chain)
        annotation.set_status(db, user, lay.id, "submitted")
        db.commit()
    return cur, project, document


def test_a_dispute_over_which_attribution_relays_which(db):
    cur, project, document = _chain_disputed(db)
    gold, view = adjudication.open_for_adjudication(db, project, document, cur)
    db.commit()
    (group,) = [g for g in view.groups if g["kind"] == "attribution"]
    # the official's attribution relayed by the paper's (ann) against the official's alone (bob);
    # the paper's own attribution, which both made, is no rival of either
    seen = sorted((v["item"]["source"]["text"], v["item"]["parent"] is not None, v["annotators"]) for v in group["versions"])
    assert seen == [("a harbour official", False, ["bob"]), ("a harbour official", True, ["ann"])]
    relayed = next(v for v in group["versions"] if v["item"]["parent"])
    assert relayed["item"]["parent"]["source"]["text"] == "the Tidewater Gazette"


def _record(attributions):
    spans = [{"id": op["id"], "label": op["label"], "start": op["start"], "end": op["end"]} for op in SPANS]
    return {"id": "ferry", "text": TEXT, "layer": "gold", "spans": spans, "relations": [], "attributions": attributions}


def test_jsonl_import_and_export_carry_chains(db, runner, tmp_path):
    import json

    from factories import make_project
    from workbench.services import exporting

    make_project(db, "wire")
    child = {"id": "A2", "source": "official", "cue": "citing", "content": ["claim"], "parent": "A1"}
    parent = {"id": "A1", "source": "paper", "cue": "reported", "content": ["claim"]}
    path = tmp_path / "chain.jsonl"
    path.write_text(json.dumps(_record([child, parent])) + "\n", encoding="utf-8")  # the child first
    result = runner.invoke(args=["import", "wire", str(path)])
    assert result.exit_code == 0, result.output
    from workbench.models import Project

    db.expire_all()
    project = db.scalar(select(Project).where(Project.name == "wire"))
    (record,) = [r for r in exporting.export_records(db, project, "all") if r["layer"] == "gold"]
    atts = {a["id"]: a for a in record["attributions"]}
    assert atts["A2"]["parent"] == "A1" and "parent" not in atts["A1"]


@pytest.mark.parametrize(
    ("attributions", "reason"),
    [
        ([{"id": "A1", "source": "paper", "cue": "reported", "content": ["claim"], "parent": "A2"},
          {"id": "A2", "source": "official", "cue": "citing", "content": ["claim"], "parent": "A1"}],
         "the chain would loop"),
        ([{"id": "A1", "source": "paper", "cue": "reported", "content": ["claim"], "parent": "A9"}],
         "parent 'A9' is not an attribution of this document"),
        ([{"id": "A1", "source": "paper", "cue": "reported", "content": ["claim"], "parent": ["A2"]}],
         "parent must be an attribution id or null"),
    ],
)
def test_jsonl_import_refuses_bad_chains_with_file_and_line(db, runner, tmp_path, attributions, reason):
    import json

    from factories import make_project

    make_project(db, "wire")
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "other", "text": "Plain."}) + "\n" + json.dumps(_record(attributions)) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "wire", str(path)])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output and reason in result.output


def test_agreement_counts_chains_from_the_database(db):
    from workbench.services import agreement

    _cur, project, _document = _chain_disputed(db)
    result = agreement.compute(db, project)
    roles = result["attributions_f1"]["exact"]["roles"]
    # both attributions match (content and source); only A2 has a parent on either side, and they differ there
    assert roles["parent"] == 0.0 and roles["parent_compared"] == 1
