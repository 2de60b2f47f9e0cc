"""Adjudication: tallying annotators' layers, bulk merges with provenance, curators' decisions and reasons."""

from __future__ import annotations

import json

import pytest
from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import select

from workbench.domain import merge
from workbench.errors import InvalidAnnotation
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import Change
from workbench.services import adjudication
from workbench.services import annotation
from workbench.services import assignment

TEXT = "Mira Olsen of Varco said the mill will close in May. Police said nothing."
#       0         1         2         3         4         5         6         7
#       0123456789012345678901234567890123456789012345678901234567890123456789012


def span(uid, label, start, end, attrs=None):
    return {"id": uid, "label": label, "start": start, "end": end, "attrs": attrs or {}}


def layer(spans=(), relations=(), attributions=()):
    return {"spans": list(spans), "relations": list(relations), "attributions": list(attributions)}


# --------------------------------------------------------------------------- the pure tally


def test_threshold():
    assert [merge.threshold("majority", n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert merge.threshold("unanimous", 3) == 3
    with pytest.raises(ValueError):
        merge.threshold("most", 3)


def test_tally_matches_exactly_and_counts_annotators():
    layers = {
        "ann": layer([span("a", "PERSON", 0, 10), span("b", "ORG", 14, 19)],
                     [{"id": "r", "type": "member_of", "head": "a", "tail": "b", "attrs": {}}]),
        "bob": layer([span("x", "PERSON", 0, 10), span("y", "ORG", 14, 18)],
                     [{"id": "r", "type": "member_of", "head": "x", "tail": "y", "attrs": {}}]),
        "cy": layer([span("p", "PERSON", 0, 10, {"role": "x"}), span("q", "ORG", 14, 19)],
                    [{"id": "r", "type": "member_of", "head": "p", "tail": "q", "attrs": {}}]),
    }
    t = merge.tally(layers)
    assert t.annotators == ["ann", "bob", "cy"]
    assert t.spans[("PERSON", 0, 10)].annotators == ["ann", "bob", "cy"]
    assert t.spans[("ORG", 14, 19)].annotators == ["ann", "cy"]
    assert t.spans[("ORG", 14, 18)].annotators == ["bob"]
    assert [c.key for c in t.agreed("unanimous")] == [("PERSON", 0, 10)]
    majority = {c.key for c in t.agreed("majority")}
    assert majority == {("PERSON", 0, 10), ("ORG", 14, 19), ("member_of", ("PERSON", 0, 10), ("ORG", 14, 19))}
    assert t.spans[("PERSON", 0, 10)].common_attrs() == {}  # two of three gave no attributes
    kinds = {"PERSON": "entity", "ORG": "entity"}
    groups = merge.dispute_groups(t.disputed("majority"), kinds)
    assert [[c.key for c in g] for g in groups] == [[("ORG", 14, 18)], [("member_of", ("PERSON", 0, 10), ("ORG", 14, 18))]]
    # with every candidate: the agreed competitor stands beside the disputed one, most annotators first
    groups = merge.dispute_groups(list(t.all()), kinds, t.disputed("majority"))
    assert [[c.key for c in g] for g in groups] == [
        [("ORG", 14, 19), ("ORG", 14, 18)], [("member_of", ("PERSON", 0, 10), ("ORG", 14, 18))],
    ]


def test_attributions_match_on_source_cue_and_content_set():
    spans = [span("s", "PERSON", 0, 10), span("c", "CUE", 20, 24), span("k1", "CLAIM", 25, 40), span("k2", "CLAIM", 41, 51)]
    one = layer(spans, attributions=[{"id": "A", "source": "s", "cue": "c", "content": ["k1", "k2"], "attrs": {}}])
    two = layer(spans, attributions=[{"id": "B", "source": "s", "cue": "c", "content": ["k2", "k1"], "attrs": {}}])
    three = layer(spans, attributions=[{"id": "C", "source": None, "cue": "c", "content": ["k1", "k2"], "attrs": {}}])
    t = merge.tally({"a": one, "b": two, "c": three})
    (agreed_attr,) = [c for c in t.agreed("majority") if c.kind == "attribution"]
    assert agreed_attr.annotators == ["a", "b"]
    assert agreed_attr.key[0] == ("PERSON", 0, 10)
    (disputed_attr,) = [c for c in t.disputed("majority") if c.kind == "attribution"]
    assert disputed_attr.key[0] is None


def test_label_clashes_within_one_kind():
    kinds = {"PERSON": "entity", "ORG": "entity", "CLAIM": "claim"}
    spans = [span("a", "PERSON", 0, 4), span("b", "ORG", 0, 4), span("c", "CLAIM", 0, 4), span("d", "ORG", 5, 9)]
    assert merge.label_clashes(spans, kinds) == [(0, 4, ["ORG", "PERSON"])]


# --------------------------------------------------------------------------- the service, on the database


@pytest.fixture
def trio(db):
    people = [make_user(db, n) for n in ("ann", "bob", "cy")]
    curator = make_user(db, "cur", role="curator")
    project = make_project(db, "news", members=[*people, curator])
    assignment.update_settings(db, project, {"annotators_per_document": 3})
    db.commit()
    return people, curator, project


def _annotate(db, user, document, ops, submit=True):
    lay = assignment.claim_document(db, user, document)
    db.commit()
    if ops:
        annotation.apply_ops(db, user, lay.id, lay.version, f"b-{user.id}-{document.id}", ops)
    if submit:
        annotation.set_status(db, user, lay.id, "submitted")
    db.commit()
    return lay


def S(uid, label, start, end, **attrs):
    return {"op": "span.create", "id": uid, "label": label, "start": start, "end": end, "attrs": attrs}


def _three_layers(db, trio, document):
    (ann, bob, cy), _cur, _project = trio
    common = [S("p", "PERSON", 0, 10), S("cue", "CUE", 20, 24), S("k", "CLAIM", 25, 51)]
    attribution = {"op": "attribution.create", "id": "A1", "source": "p", "cue": "cue", "content": ["k"]}
    _annotate(db, ann, document, [*common, S("o", "ORG", 14, 19), attribution])
    _annotate(db, bob, document, [*common, S("o", "ORG", 14, 19), attribution,
                                  {"op": "relation.create", "id": "r", "type": "member_of", "head": "p", "tail": "o"}])
    _annotate(db, cy, document, [S("p", "PERSON", 0, 4), S("cue", "CUE", 20, 24), S("k", "CLAIM", 25, 51),
                                 S("g", "GPE", 59, 65)])


def test_auto_majority_takes_exactly_what_two_of_three_share_with_provenance(db, trio):
    _people, cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    assert adjudication.ready_documents(db, project) == [document.id]
    report = adjudication.auto_merge(db, project, cur, "majority", finish=True)
    db.commit()
    assert (report.documents, report.finished, report.flagged) == (1, 1, [])
    gold = db.scalar(select(AnnotationSet).where(AnnotationSet.owner_key == "gold"))
    assert gold.status == "adjudicated"
    data = annotation.layer_data(db, gold, TEXT)
    assert sorted((s["label"], s["start"], s["end"]) for s in data["spans"]) == [
        ("CLAIM", 25, 51), ("CUE", 20, 24), ("ORG", 14, 19), ("PERSON", 0, 10),
    ]
    assert data["relations"] == []  # only bob had it
    (attr,) = data["attributions"]
    by_id = {s["id"]: s for s in data["spans"]}
    assert (by_id[attr["source"]]["text"], by_id[attr["cue"]]["text"]) == ("Mira Olsen", "said")
    provenance = {s.label: s.provenance for s in gold.spans}
    assert provenance["PERSON"] == {"annotators": ["ann", "bob"], "decision": "majority"}
    assert provenance["CUE"] == {"annotators": ["ann", "bob", "cy"], "decision": "majority"}
    # the export carries it
    from workbench.services import exporting  # noqa: F401 - the export path reads provenance columns
    assert gold.attributions[0].provenance == {"annotators": ["ann", "bob"], "decision": "majority"}
    # the merge is in the history, and a second run changes nothing (the document is adjudicated)
    assert db.scalar(select(Change.action).where(Change.set_id == gold.id, Change.action == "decision")) == "decision"
    again = adjudication.auto_merge(db, project, cur, "majority")
    assert again.documents == 0


def test_auto_unanimous_keeps_only_what_all_share_and_never_removes(db, trio):
    _people, cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    report = adjudication.auto_merge(db, project, cur, "unanimous")
    db.commit()
    assert report.finished == 0 and report.items_added == 2
    gold = db.scalar(select(AnnotationSet).where(AnnotationSet.owner_key == "gold"))
    assert gold.status == "in_progress"
    assert sorted(s.label for s in gold.spans) == ["CLAIM", "CUE"]
    # majority afterwards adds to it; nothing is removed or doubled
    adjudication.auto_merge(db, project, cur, "majority")
    db.commit()
    db.expire_all()
    gold = db.get(AnnotationSet, gold.id)
    assert sorted(s.label for s in gold.spans) == ["CLAIM", "CUE", "ORG", "PERSON"]


def test_documents_not_ready_are_left_alone(db, trio):
    (ann, bob, _cy), cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _annotate(db, ann, document, [S("p", "PERSON", 0, 10)])
    _annotate(db, bob, document, [S("p", "PERSON", 0, 10)], submit=False)
    assert adjudication.ready_documents(db, project) == []
    assert adjudication.auto_merge(db, project, cur, "majority").documents == 0
    with pytest.raises(InvalidInput, match="unanimous or majority"):
        adjudication.auto_merge(db, project, cur, "most")


def test_a_label_clash_flags_the_document_instead_of_finishing(db, trio):
    (ann, bob, cy), cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    both = [S("p", "PERSON", 0, 10), S("o", "ORG", 0, 10)]
    _annotate(db, ann, document, both)
    _annotate(db, bob, document, both)
    _annotate(db, cy, document, [])
    report = adjudication.auto_merge(db, project, cur, "majority", finish=True)
    db.commit()
    assert report.flagged == ["mill"] and report.finished == 0
    gold = db.scalar(select(AnnotationSet).where(AnnotationSet.owner_key == "gold"))
    assert gold.status == "in_progress" and "ORG and PERSON on the same words" in gold.status_note


def test_curators_write_gold_with_decisions_and_annotators_cannot(db, trio):
    (ann, _bob, _cy), cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    gold = adjudication.open_gold_layer(db, document)
    db.commit()
    decision = {"choice": "accept", "item": {"kind": "span", "label": "ORG", "start": 14, "end": 19},
                "reason": "guideline_gap", "note": "Are company names with Ltd one span?", "annotators": ["ann"]}
    op = S("o", "ORG", 14, 19)
    op["provenance"] = {"annotators": ["ann"], "decision": "adjudicated", "curator": "cur"}
    annotation.apply_ops(db, cur, gold.id, 0, "d1", [op], decision)
    db.commit()
    # a rejection changes nothing in gold but is recorded
    annotation.apply_ops(db, cur, gold.id, 1, "d2", [], {"choice": "reject", "item": {"kind": "span", "label": "GPE"},
                                                         "reason": "annotator_error", "note": ""})
    db.commit()
    with pytest.raises(NotFound, match="no such layer"):  # gold is invisible to annotators
        annotation.apply_ops(db, ann, gold.id, 2, "x", [S("z", "PERSON", 0, 4)])
    db.rollback()
    with pytest.raises(InvalidInput, match="decision.reason"):
        annotation.apply_ops(db, cur, gold.id, 2, "x", [], {"choice": "reject", "reason": "tired"})
    db.rollback()
    ann_layer = assignment.claim_document(db, ann, document)
    db.commit()
    with pytest.raises(InvalidAnnotation, match="only items of the gold layer carry provenance"):
        annotation.apply_ops(db, ann, ann_layer.id, 0, "p", [op])
    db.rollback()
    report = adjudication.reasons_report(db, project)
    assert report.decisions == 2
    assert report.by_reason == {"guideline_gap": 1, "annotator_error": 1}
    assert report.by_reason_and_label["guideline_gap"] == {"ORG": 1}
    assert [g["note"] for g in report.guideline_gaps["ORG"]] == ["Are company names with Ltd one span?"]
    # finishing and reopening are curators' statuses on gold
    annotation.set_status(db, cur, gold.id, "adjudicated")
    annotation.set_status(db, cur, gold.id, "in_progress", "a second look")
    db.commit()
    with pytest.raises(InvalidInput, match="adjudicated, in_progress"):
        annotation.set_status(db, cur, gold.id, "submitted")
    history = [c.payload.get("to") for c in db.scalars(select(Change).where(Change.set_id == gold.id, Change.action == "status"))]
    assert history == ["adjudicated", "in_progress"]


def test_queue_lists_ready_documents_worst_first(db, trio):
    _people, _cur, project = trio
    calm = make_document(db, project, TEXT, external_id="calm")
    rough = make_document(db, project, TEXT + " More.", external_id="rough")
    for user in trio[0]:
        _annotate(db, user, calm, [S("p", "PERSON", 0, 10)])
    (ann, bob, cy), _c, _p = trio
    _annotate(db, ann, rough, [S("p", "PERSON", 0, 10)])
    _annotate(db, bob, rough, [S("p", "PERSON", 0, 4)])
    _annotate(db, cy, rough, [S("p", "ORG", 0, 10)])
    rows = adjudication.queue(db, project)
    assert [r.external_id for r in rows] == ["rough", "calm"]
    assert (rows[0].agreed, rows[0].disputed, rows[1].agreed, rows[1].disputed) == (0, 3, 1, 0)


def test_adjudication_settings(db, trio):
    _people, _cur, project = trio
    assert adjudication.adjudication_settings(project) == {"merge_rule": "majority", "hide_annotator_names": False}
    adjudication.update_adjudication_settings(db, project, {"merge_rule": "unanimous", "hide_annotator_names": True})
    assert adjudication.adjudication_settings(project) == {"merge_rule": "unanimous", "hide_annotator_names": True}
    for bad in ({"merge_rule": "most"}, {"hide_annotator_names": "yes"}, {"colour": 1}):
        with pytest.raises(InvalidInput):
            adjudication.update_adjudication_settings(db, project, bad)


def test_cli_adjudicate(runner, db, trio):
    _people, _cur, project = trio
    make_user(db, "root", role="admin")
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    result = runner.invoke(args=["adjudicate", "news", "--auto", "majority", "--finish"])
    assert result.exit_code == 0, result.output
    assert "1 document(s) merged (majority): 5 item(s) added to gold, 1 marked adjudicated" in result.output
    bad = runner.invoke(args=["adjudicate", "news", "--auto", "most"])
    assert bad.exit_code == 2 and "most" in bad.output
    result = runner.invoke(args=["adjudicate", "news", "--report", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["decisions"] == 0
    missing = runner.invoke(args=["adjudicate", "nope", "--auto", "majority"])
    assert missing.exit_code == 1 and "no project called 'nope'" in missing.output
    with pytest.raises(NotFound):
        adjudication.require_gold_layer(db, project, 999)


def test_api_queue_auto_and_reasons(app, api, db, trio):
    (ann, _bob, _cy), _cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    base = f"/api/v1/projects/{project.id}/adjudication"
    api.login("ann")
    assert api.get(base).status_code == 403
    assert api.post(f"{base}/auto", json={"rule": "majority"}).status_code == 403
    curator = type(api)(app)
    curator.login("cur")
    items = curator.get(base).get_json()["items"]
    assert [(i["external_id"], i["annotators"], i["gold_status"]) for i in items] == [("mill", 3, None)]
    assert items[0]["agreed"] == 5 and items[0]["disputed"] == 3
    assert curator.post(f"{base}/auto", json={"rule": "some"}).status_code == 400
    assert curator.post(f"{base}/auto", json={"rule": "majority", "finish": "yes"}).status_code == 400
    report = curator.post(f"{base}/auto", json={"rule": "majority", "finish": True}).get_json()["report"]
    assert report == {"rule": "majority", "documents": 1, "items_added": 5, "finished": 1, "flagged": []}
    assert curator.get(base).get_json()["items"] == []
    assert curator.get(f"{base}/reasons").get_json()["report"]["decisions"] == 0
    # the gold export holds the merged items with provenance
    from workbench.services import exporting

    db.expire_all()
    (record,) = list(exporting.export_records(db, project, "gold"))
    assert record["layer"] == "gold" and len(record["spans"]) == 4
    assert all(s["provenance"]["decision"] == "majority" for s in record["spans"])
    assert all(record["text"][s["start"]:s["end"]] == s["text"] for s in record["spans"])


def test_adjudication_pages_and_api_for_curators_only(app, api, db, trio):
    (ann, _bob, _cy), _cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    api.login("ann")
    for url in (f"/projects/{project.id}/adjudication", f"/projects/{project.id}/documents/{document.id}/adjudicate"):
        assert api.get(url).status_code == 403
    assert api.get(f"/api/v1/projects/{project.id}/documents/{document.id}/adjudicate").status_code == 403
    curator = type(api)(app)
    curator.login("cur")
    page = curator.get(f"/projects/{project.id}/adjudication").get_data(as_text=True)
    assert "Ready for adjudication" in page and "mill" in page and ">5<" in page  # five agreed items
    shell = curator.get(f"/projects/{project.id}/documents/{document.id}/adjudicate").get_data(as_text=True)
    assert 'data-finish-status="adjudicated"' in shell and "Disagreements" in shell and TEXT not in shell
    body = curator.get(f"/api/v1/projects/{project.id}/documents/{document.id}/adjudicate").get_json()
    assert body["layer"]["kind"] == "gold" and len(body["layer"]["spans"]) == 4  # the agreed spans, filled in
    adj = body["adjudication"]
    assert adj["rule"] == "majority" and adj["agreed"] == 5 and adj["curator"] == "cur"
    assert [a["name"] for a in adj["annotators"]] == ["ann", "bob", "cy"]
    kinds = [g["kind"] for g in adj["groups"]]
    assert kinds.count("span") == 2 and kinds.count("relation") == 1
    person = next(g for g in adj["groups"] if g["kind"] == "span" and g["start"] == 0)
    assert [(v["item"]["text"], v["annotators"]) for v in person["versions"]] == [("Mira Olsen", ["ann", "bob"]), ("Mira", ["cy"])]
    # a decision is recorded, and shown on the next visit
    gold_id = body["layer"]["id"]
    decision = {"choice": "accept", "item": {"group": person["id"], "version": 1, "kind": "span", "label": "PERSON"},
                "reason": "annotator_error", "note": "first name only", "annotators": ["ann", "bob"]}
    assert curator.post(f"/api/v1/layers/{gold_id}/decisions", json={"decision": decision}).status_code == 201
    assert curator.post(f"/api/v1/layers/{gold_id}/decisions", json={"decision": {"choice": "maybe"}}).status_code == 400
    again = curator.get(f"/api/v1/projects/{project.id}/documents/{document.id}/adjudicate").get_json()
    person = next(g for g in again["adjudication"]["groups"] if g["id"] == person["id"])
    assert person["decision"]["choice"] == "accept" and person["decision"]["reason"] == "annotator_error"
    assert len(again["layer"]["spans"]) == 4  # opening again adds nothing
    # finishing goes through the layer's status, and names the next document to adjudicate (none left)
    done = curator.post(f"/api/v1/layers/{gold_id}/status", json={"status": "adjudicated"}).get_json()
    assert done["status"] == "adjudicated" and done["next_url"] is None
    # annotators cannot see or record decisions on gold
    assert api.post(f"/api/v1/layers/{gold_id}/decisions", json={"decision": decision}).status_code == 404


def test_adjudicating_a_document_nobody_submitted_says_why(app, api, db, trio):
    _people, _cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    api.login("cur")
    response = api.get(f"/api/v1/projects/{project.id}/documents/{document.id}/adjudicate")
    assert response.status_code == 400 and "nothing to adjudicate" in response.get_json()["error"]


def test_auto_merge_form_on_the_adjudication_tab(app, api, db, trio):
    _people, _cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    api.login("cur")
    response = api.post(f"/projects/{project.id}/adjudication", data={"rule": "unanimous", "finish": "y"})
    assert response.status_code == 302
    page = api.get(f"/projects/{project.id}/adjudication").get_data(as_text=True)
    assert "1 document(s) merged (unanimous): 2 item(s) added to gold, 1 marked adjudicated." in page


def test_attribution_versions_over_the_same_content_form_one_disagreement():
    spans = [span("s", "PERSON", 0, 10), span("o", "ORG", 14, 19), span("c", "CUE", 20, 24), span("k", "CLAIM", 25, 51)]
    by_person = {"id": "A", "source": "s", "cue": "c", "content": ["k"], "attrs": {}}
    by_org = {"id": "A", "source": "o", "cue": "c", "content": ["k"], "attrs": {}}
    t = merge.tally({"a": layer(spans, attributions=[by_person]), "b": layer(spans, attributions=[by_person]),
                     "c": layer(spans, attributions=[by_org])})
    kinds = {"PERSON": "entity", "ORG": "entity", "CUE": "cue", "CLAIM": "claim"}
    groups = merge.dispute_groups(list(t.all()), kinds, t.disputed("majority"))
    (who_spoke,) = [g for g in groups if g[0].kind == "attribution"]
    assert [(c.key[0], c.annotators) for c in who_spoke] == [(("PERSON", 0, 10), ["a", "b"]), (("ORG", 14, 19), ["c"])]


def test_two_curators_never_overwrite_each_other_silently(app, api, db, trio):
    _people, _cur, project = trio
    second = make_user(db, "cur2", role="curator")
    from workbench.services import projects as project_service

    project_service.add_member(db, project, second)
    db.commit()
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    one, two = type(api)(app), type(api)(app)
    one.login("cur")
    two.login("cur2")
    url = f"/api/v1/projects/{project.id}/documents/{document.id}/adjudicate"
    gold_one = one.get(url).get_json()["layer"]
    gold_two = two.get(url).get_json()["layer"]
    assert gold_one["version"] == gold_two["version"]
    first = one.open("PATCH", f"/api/v1/layers/{gold_one['id']}/ops", json={
        "base_version": gold_one["version"], "batch_id": "c1", "ops": [S("g", "GPE", 59, 65)]})
    assert first.status_code == 200
    late = two.open("PATCH", f"/api/v1/layers/{gold_two['id']}/ops", json={
        "base_version": gold_two["version"], "batch_id": "c2", "ops": [S("g2", "ORG", 59, 65)]})
    assert late.status_code == 409 and late.get_json()["current_version"] == gold_two["version"] + 1


def test_majority_finish_on_twenty_documents_gives_exactly_what_two_share(db, trio, runner):
    """Generated layers: every gold item is shared by two or more annotators, and every such item is in gold."""
    import random

    people, _cur, project = trio
    make_user(db, "root", role="admin")
    rng = random.Random(7)
    words = [(m, m + 4) for m in range(0, 200, 5)]
    text = " ".join(["word"] * 40)
    labels = ["PERSON", "ORG", "GPE"]
    expected: dict[str, set] = {}
    for d in range(20):
        document = make_document(db, project, text + f" {d:04d}", external_id=f"g{d}")
        made: dict[tuple, set] = {}
        for user in people:
            picks = rng.sample(words, 8)
            ops = []
            for i, (s, e) in enumerate(picks):
                label = rng.choice(labels)
                ops.append(S(f"t{i}", label, s, e))
                made.setdefault((label, s, e), set()).add(user.username)
            _annotate(db, user, document, ops)
        expected[document.external_id] = {k for k, who in made.items() if len(who) >= 2}
    result = runner.invoke(args=["adjudicate", "news", "--auto", "majority", "--finish"])
    assert result.exit_code == 0, result.output
    from workbench.services import exporting

    db.expire_all()
    records = {r["id"]: r for r in exporting.export_records(db, project, "gold")}
    assert "20 document(s) merged (majority)" in result.output and "20 marked adjudicated" in result.output
    for external_id, want in expected.items():
        got = {(s["label"], s["start"], s["end"]) for s in records[external_id]["spans"]}
        assert got == want, external_id
        for s in records[external_id]["spans"]:
            assert len(s["provenance"]["annotators"]) >= 2 and s["provenance"]["decision"] == "majority"


def test_agreement_with_gold_per_annotator_and_links_to_adjudicate(app, api, db, trio, runner):
    _people, _cur, project = trio
    make_user(db, "root", role="admin")
    document = make_document(db, project, TEXT, external_id="mill")
    _three_layers(db, trio, document)
    curator = type(api)(app)
    curator.login("cur")
    page = curator.get(f"/projects/{project.id}/agreement").get_data(as_text=True)
    assert f'/projects/{project.id}/documents/{document.id}/adjudicate"' in page
    assert "no document is adjudicated yet" in page
    runner.invoke(args=["adjudicate", "news", "--auto", "majority", "--finish"])
    from workbench.services import agreement

    db.expire_all()
    with_gold = agreement.agreement_with_gold(db, project)
    rows = {r["annotator"]: r for r in with_gold["annotators"]}
    assert with_gold["documents"] == 1 and set(rows) == {"ann", "bob", "cy"}
    # gold: PERSON 0-10, ORG 14-19, CUE, CLAIM (4 spans). ann has exactly those: F1 1.
    assert rows["ann"]["spans_exact"]["f1"] == 1.0
    # cy: CUE and CLAIM right, PERSON 0-4 wrong, GPE extra, no ORG: tp 2, fp 2, fn 2
    assert (rows["cy"]["spans_exact"]["tp"], rows["cy"]["spans_exact"]["fp"], rows["cy"]["spans_exact"]["fn"]) == (2, 2, 2)
    assert rows["cy"]["spans_overlap"]["tp"] == 3  # PERSON 0-4 overlaps the gold PERSON
    assert [r["annotator"] for r in with_gold["annotators"]][0] == "cy"  # worst first
    # bob's relation is not in gold: precision 0 for relations
    assert rows["bob"]["relations_exact"]["fp"] == 1
    page = curator.get(f"/projects/{project.id}/agreement").get_data(as_text=True)
    assert "Each annotator against gold" in page and "status-adjudicated" in page
    api_result = curator.get(f"/api/v1/projects/{project.id}/agreement").get_json()["agreement"]
    assert api_result["with_gold"]["annotators"][0]["annotator"] == "cy"
    cli = json.loads(runner.invoke(args=["agreement", "news", "--json"]).output)
    assert cli["with_gold"] == api_result["with_gold"]


def test_the_adjudication_queue_reads_every_document_in_a_few_queries(db, trio):
    """No query per document or layer: the queue of 12 documents costs what the queue of 3 does."""
    from sqlalchemy import event

    _people, _cur, project = trio

    def statements_for_queue() -> int:
        seen: list[str] = []
        engine = db.get_bind()
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            adjudication.queue(db, project)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    def add(n: int) -> None:
        for i in range(n):
            document = make_document(db, project, TEXT + f" {i}", external_id=f"q{n}-{i}")
            for user in trio[0]:
                _annotate(db, user, document, [S("p", "PERSON", 0, 10), S("c", "CUE", 20, 24)])

    add(3)
    few = statements_for_queue()
    add(9)
    assert len(adjudication.queue(db, project)) == 12
    assert statements_for_queue() == few


def test_the_document_page_offers_adjudication_to_curators_once_submitted(app, api, db, trio):
    (ann, _bob, _cy), _cur, project = trio
    document = make_document(db, project, TEXT, external_id="mill")
    curator = type(api)(app)
    curator.login("cur")
    link = f'/projects/{project.id}/documents/{document.id}/adjudicate"'
    assert link not in curator.get(f"/projects/{project.id}/documents/{document.id}").get_data(as_text=True)
    _annotate(db, ann, document, [S("p", "PERSON", 0, 10)])
    assert link in curator.get(f"/projects/{project.id}/documents/{document.id}").get_data(as_text=True)
    api.login("ann")
    assert link not in api.get(f"/projects/{project.id}/documents/{document.id}").get_data(as_text=True)


def test_the_pages_next_link_follows_import_order_among_ready_documents(db, trio):
    _people, _cur, project = trio
    docs = [make_document(db, project, TEXT + f" {i}", external_id=f"n{i}") for i in range(3)]
    for document in (docs[0], docs[2]):
        for user in trio[0]:
            _annotate(db, user, document, [S("p", "PERSON", 0, 10)])
    assert adjudication.following_ready(db, project, after=docs[0].id) == docs[2].id
    assert adjudication.following_ready(db, project, after=docs[2].id) == docs[0].id  # past the end: the first
    assert adjudication.following_ready(db, project, after=docs[1].id) == docs[2].id
