"""The adjudication page in Chromium: the annotate page on the gold layer, disagreements settled by keyboard."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import login
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

import factories
from workbench.models import AnnotationSet
from workbench.models import Change
from workbench.services import annotation
from workbench.services import assignment

pytestmark = pytest.mark.browser

TEXT = "Lena Dahl of Norcast said the quay will shut in June. Union leaders said nothing more."


def S(uid: str, label: str, needle: str) -> dict[str, Any]:
    start = TEXT.index(needle)
    return {"op": "span.create", "id": uid, "label": label, "start": start, "end": start + len(needle), "attrs": {}}


def _seed(store: Session, hide_names: bool = False) -> tuple[str, int, int]:
    tag = uuid.uuid4().hex[:8]
    people = [factories.make_user(store, f"{n}-{tag}") for n in ("ann", "bob", "cy")]
    curator = factories.make_user(store, f"cur-{tag}", role="curator")
    project = factories.make_project(store, f"adj-{tag}", members=[*people, curator])
    assignment.update_settings(store, project, {"annotators_per_document": 3})
    if hide_names:
        project.settings = {"hide_annotator_names": True}
    document = factories.make_document(store, project, TEXT, external_id=f"quay-{tag}", title="Quay shuts")
    store.commit()
    versions = [
        [S("p", "PERSON", "Lena Dahl"), S("o", "ORG", "Norcast"), S("c", "CLAIM", "the quay will shut in June")],
        [S("p", "PERSON", "Lena Dahl"), S("o", "ORG", "Norcast"), S("c", "CLAIM", "the quay will shut")],
        [S("p", "PERSON", "Lena"), S("o", "GPE", "Norcast"), S("c", "CLAIM", "the quay will shut in June")],
    ]
    for user, ops in zip(people, versions):
        layer = assignment.claim_document(store, user, document)
        store.commit()
        annotation.apply_ops(store, user, layer.id, layer.version, "b1", ops)
        annotation.set_status(store, user, layer.id, "submitted")
        store.commit()
    return curator.username, project.id, document.id


def _gold(store: Session, document_id: int) -> AnnotationSet:
    store.expire_all()
    return store.scalars(select(AnnotationSet).where(AnnotationSet.document_id == document_id, AnnotationSet.kind == "gold")).one()


def test_curator_settles_every_disagreement_by_keyboard(page: Any, live: Any, store: Session) -> None:
    curator, project_id, document_id = _seed(store)
    login(page, live, curator)
    # From the Adjudication tab, by keyboard: the queue lists the document.
    page.goto(f"{live.url}/projects/{project_id}/adjudication")
    link = page.get_by_role("link", name="Quay shuts")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#annotate[data-ready='1']")
    page.wait_for_selector("#wb-adj-list li")
    # The agreed items are in gold already: PERSON "Lena Dahl" (2 of 3), ORG "Norcast" (2 of 3), CLAIM (2 of 3).
    assert "3 agreed items are in gold (majority)" in page.locator("#wb-adj-summary").inner_text()
    groups = page.locator("#wb-adj-list > li")
    # Each disagreement shows every version, the one in gold first: PERSON, ORG/GPE on Norcast, CLAIM.
    assert groups.count() == 3
    first = groups.nth(0).inner_text()
    assert "PERSON “Lena Dahl”" in first and "(in gold)" in first and "PERSON “Lena”" in first
    page.keyboard.press("BracketRight")  # the list takes the focus
    assert page.evaluate("document.activeElement.id") == "wb-adj-list"
    page.keyboard.press("Home")
    # 1: "Lena Dahl" (ann, bob; in gold) against "Lena" (cy): keep version 1.
    page.keyboard.press("1")
    # 2: ORG (ann, bob; in gold) against GPE (cy) on "Norcast": take GPE, with a reason and a note.
    assert "ORG “Norcast”" in groups.nth(1).inner_text() and "GPE “Norcast”" in groups.nth(1).inner_text()
    page.keyboard.press("r")
    page.keyboard.press("ArrowDown")  # ambiguous text
    page.keyboard.press("ArrowDown")  # guideline gap
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.keyboard.type("Is a company's home town a GPE here?")
    page.keyboard.press("Enter")
    page.keyboard.press("2")
    # 3: the longer CLAIM (ann, cy; in gold) against the shorter one (bob): reject both, then think again: undo.
    page.keyboard.press("x")
    wait_saved(page)
    page.evaluate("() => window.wbAnnotate.adjudicator.recording")  # the decisions' history is written
    assert page.locator("#wb-adj-list > li.is-decided").count() == 3
    assert "0 of 3 disagreements left" in page.locator("#wb-adj-summary").inner_text()
    page.locator("#doc").focus()
    page.keyboard.press("Control+z")  # the claim is back
    wait_saved(page)
    # Finish: Ctrl+Enter marks gold adjudicated.
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelector('#wb-layer-status').textContent === 'adjudicated'")
    gold = _gold(store, document_id)
    assert gold.status == "adjudicated"
    # Opened again, a finished document offers Reopen (by keyboard too).
    page.goto(f"{live.url}/projects/{project_id}/adjudication")
    assert page.get_by_role("link", name="Quay shuts").count() == 1  # listed under Adjudicated
    page.goto(f"{live.url}/projects/{project_id}/documents/{document_id}/adjudicate")
    page.wait_for_selector("#wb-adj-list li")
    reopen = page.locator("#wb-reopen")
    assert reopen.is_visible()
    reopen.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#wb-layer-status').textContent === 'in progress'")
    assert reopen.is_hidden() and _gold(store, document_id).status == "in_progress"
    page.locator("#doc").focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelector('#wb-layer-status').textContent === 'adjudicated'")
    gold = _gold(store, document_id)
    got = sorted((s.label, TEXT[s.start:s.end]) for s in gold.spans)
    assert got == [("CLAIM", "the quay will shut in June"), ("GPE", "Norcast"), ("PERSON", "Lena Dahl")]
    gpe = next(s for s in gold.spans if s.label == "GPE")
    assert gpe.provenance["decision"] == "adjudicated" and gpe.provenance["curator"] == curator
    assert gpe.provenance["annotators"][0].startswith("cy-")
    decisions = [c.payload["decision"] for c in store.scalars(select(Change).where(Change.set_id == gold.id, Change.action == "decision"))]
    choices = [(d["choice"], d.get("reason")) for d in decisions if d["choice"] != "auto"]
    assert choices == [("accept", None), ("accept", "guideline_gap"), ("reject", None)]
    assert decisions[-2]["note"] == "Is a company's home town a GPE here?"


def test_hidden_names_and_undo(page: Any, live: Any, store: Session) -> None:
    curator, project_id, document_id = _seed(store, hide_names=True)
    login(page, live, curator)
    page.goto(f"{live.url}/projects/{project_id}/documents/{document_id}/adjudicate")
    page.wait_for_selector("#wb-adj-list li")
    listed = page.locator("#wb-adj-list").inner_text()
    assert "Annotator 3" in listed and "cy-" not in listed and "ann-" not in listed
    page.locator("#wb-adj-list").focus()
    page.keyboard.press("ArrowDown")  # the ORG/GPE group
    page.keyboard.press("2")  # GPE
    wait_saved(page)
    labels = [s.label for s in _gold(store, document_id).spans]
    assert labels.count("GPE") == 1 and labels.count("ORG") == 0
    page.locator("#doc").focus()
    page.keyboard.press("Control+z")
    wait_saved(page)
    labels = [s.label for s in _gold(store, document_id).spans]
    assert labels.count("GPE") == 0 and labels.count("ORG") == 1


CHAIN_TEXT = "Citing a port engineer, the Harbour Courier reported that the crane will be replaced."


def test_curator_settles_which_attribution_relays_which(page: Any, live: Any, store: Session) -> None:
    tag = uuid.uuid4().hex[:8]
    ann, bob = (factories.make_user(store, f"{n}-{tag}") for n in ("ann", "bob"))
    curator = factories.make_user(store, f"cur-{tag}", role="curator")
    project = factories.make_project(store, f"chain-{tag}", members=[ann, bob, curator])
    assignment.update_settings(store, project, {"annotators_per_document": 2})
    document = factories.make_document(store, project, CHAIN_TEXT, external_id=f"crane-{tag}", title="Crane")
    store.commit()

    def s(uid: str, label: str, needle: str) -> dict[str, Any]:
        start = CHAIN_TEXT.index(needle)
        return {"op": "span.create", "id": uid, "label": label, "start": start, "end": start + len(needle)}

    spans = [s("eng", "PERSON", "a port engineer"), s("cit", "CUE", "Citing"), s("pap", "ORG", "the Harbour Courier"),
             s("rep", "CUE", "reported"), s("cl", "CLAIM", "the crane will be replaced")]
    outer = {"op": "attribution.create", "id": "A1", "source": "pap", "cue": "rep", "content": ["cl"]}
    inner = {"op": "attribution.create", "id": "A2", "source": "eng", "cue": "cit", "content": ["cl"]}
    for user, ops in ((ann, [outer, {**inner, "parent": "A1"}]), (bob, [outer, inner])):
        layer = assignment.claim_document(store, user, document)
        store.commit()
        annotation.apply_ops(store, user, layer.id, layer.version, "b1", spans + ops)
        annotation.set_status(store, user, layer.id, "submitted")
        store.commit()
    login(page, live, curator.username)
    page.goto(f"{live.url}/projects/{project.id}/documents/{document.id}/adjudicate")
    page.wait_for_selector("#wb-adj-list li")
    group = page.locator("#wb-adj-list > li").filter(has_text="relayed by")
    assert group.count() == 1
    text = group.inner_text()
    assert "relayed by ORG “the Harbour Courier”" in text
    versions = group.locator(".wb-adj-version")
    relayed = next(i for i in range(versions.count()) if "relayed by" in versions.nth(i).inner_text())
    page.locator("#wb-adj-list").focus()
    for _ in range(int(group.get_attribute("data-index"))):
        page.keyboard.press("ArrowDown")
    page.keyboard.press(str(relayed + 1))
    wait_saved(page)
    gold = _gold(store, document.id)
    data = annotation.layer_data(store, gold, CHAIN_TEXT)
    spans_by_id = {sp["id"]: sp["text"] for sp in data["spans"]}
    chained = [a for a in data["attributions"] if a.get("parent")]
    assert len(chained) == 1 and spans_by_id[chained[0]["source"]] == "a port engineer"
    parent = next(a for a in data["attributions"] if a["id"] == chained[0]["parent"])
    assert spans_by_id[parent["source"]] == "the Harbour Courier"
