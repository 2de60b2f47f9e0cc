"""Several annotators per document: settings, the queue, abandoned documents, manual assignment, blind counts."""

from __future__ import annotations

import re

from datetime import timedelta

import pytest
from factories import make_document
from factories import make_project
from factories import make_team
from factories import make_user
from sqlalchemy import select

from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import utcnow
from workbench.services import annotation
from workbench.services import assignment
from workbench.services import projects as project_service


def _docs(db, project, n):
    return [make_document(db, project, f"Story number {i} about the harbour.", external_id=f"d{i}") for i in range(n)]


def _next(db, user, project):
    document_id = assignment.next_document_id(db, user, project)
    db.commit()
    return document_id


def _submit(db, user, document_id):
    layer = db.scalar(
        select(AnnotationSet).where(AnnotationSet.document_id == document_id, AnnotationSet.owner_key == f"annotator:{user.id}")
    )
    annotation.set_status(db, user, layer.id, "submitted")
    db.commit()


def _set(db, project, **changes):
    assignment.update_settings(db, project, changes)
    db.commit()


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(7200, 7200), ("2h", 7200), ("90m", 5400), ("45s", 45), ("1d", 86400), ("0", 0), ("never", 0), (" 3H ", 10800)],
)
def test_durations(value, seconds):
    assert assignment.parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "2 hours", "-1", "h", True, 31 * 86400, "1.5h", None])
def test_bad_durations_are_refused(value):
    with pytest.raises(InvalidInput):
        assignment.parse_duration(value)


def test_format_duration_round_trips():
    for seconds in (0, 45, 5400, 7200, 86400, 3661):
        text = assignment.format_duration(seconds)
        assert assignment.parse_duration(text) == seconds


def test_update_settings_checks_every_value_and_changes_nothing_on_error(db):
    project = make_project(db)
    assert assignment.settings_of(project).to_dict() == {
        "annotators_per_document": None, "assignment": "queue", "queue_order": "oldest", "abandon_after": 7200,
    }
    for bad in ({"annotators_per_document": 0}, {"annotators_per_document": "3"}, {"annotators_per_document": True},
                {"assignment": "lottery"}, {"queue_order": "newest"}, {"abandon_after": "soon"}, {"colour": "red"}):
        with pytest.raises(InvalidInput):
            assignment.update_settings(db, project, {"queue_order": "random", **bad})
        db.rollback()
    db.refresh(project)
    assert project.queue_order == "oldest"
    settings = assignment.update_settings(db, project, {"annotators_per_document": 3, "abandon_after": "30m"})
    assert (settings.annotators_per_document, settings.abandon_after, settings.assignment) == (3, 1800, "queue")


# --------------------------------------------------------------------------- the queue


def test_queue_gives_each_document_to_k_annotators_and_never_twice_to_one(db):
    ann, bob, cur, project = make_team(db)
    carl = make_user(db, "carl")
    project_service.add_member(db, project, carl)
    docs = _docs(db, project, 3)
    _set(db, project, annotators_per_document=2)
    assert _next(db, ann, project) == docs[0].id
    assert _next(db, ann, project) == docs[0].id  # unfinished work comes back first
    assert _next(db, bob, project) == docs[0].id
    assert _next(db, carl, project) == docs[1].id  # d0 has its two annotators
    _submit(db, ann, docs[0].id)
    assert _next(db, ann, project) == docs[1].id  # never d0 again
    _submit(db, ann, docs[1].id)
    _submit(db, carl, docs[1].id)
    assert _next(db, carl, project) == docs[2].id
    assert _next(db, ann, project) == docs[2].id
    _submit(db, carl, docs[2].id)
    _submit(db, ann, docs[2].id)
    assert _next(db, ann, project) is None  # everything done or full
    _submit(db, bob, docs[0].id)
    assert _next(db, bob, project) is None  # d1 and d2 have their two
    assert _next(db, carl, project) is None  # carl had d1 and d2; d0 is full


def test_skipped_documents_go_to_someone_else(db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 1)
    _set(db, project, annotators_per_document=1)
    assert _next(db, ann, project) == docs[0].id
    assert _next(db, bob, project) is None
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    annotation.set_status(db, ann, layer.id, "skipped", "not news")
    db.commit()
    assert _next(db, ann, project) is None
    assert _next(db, bob, project) == docs[0].id


def test_an_abandoned_document_returns_to_the_queue(db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 1)
    _set(db, project, annotators_per_document=1, abandon_after="2h")
    assert _next(db, ann, project) == docs[0].id
    assert _next(db, bob, project) is None
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    layer.updated_at = utcnow() - timedelta(hours=3)
    db.commit()
    assert _next(db, bob, project) == docs[0].id
    db.refresh(layer)
    assert layer.status == "released"
    # ann coming back finds the place taken, with a reason
    with pytest.raises(Conflict, match="already has the 1 annotator it needs"):
        assignment.claim_document(db, ann, docs[0])
    db.rollback()
    assert _next(db, ann, project) is None


def test_a_released_layer_is_taken_back_with_its_work_while_a_place_is_free(db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 1)
    _set(db, project, annotators_per_document=1, abandon_after="1h")
    _next(db, ann, project)
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    annotation.apply_ops(db, ann, layer.id, 0, "b1", [{"op": "span.create", "id": "T1", "label": "PERSON", "start": 0, "end": 5}])
    db.commit()
    layer.updated_at = utcnow() - timedelta(hours=2)
    db.commit()
    assert _next(db, bob, project) == docs[0].id
    bob_layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == bob.id))
    annotation.set_status(db, bob, bob_layer.id, "skipped", "wrong language")
    db.commit()
    back = assignment.claim_document(db, ann, docs[0])
    db.commit()
    assert back.id == layer.id and back.status == "in_progress" and back.version == 1


def test_abandon_after_zero_never_returns_documents(db):
    ann, bob, _cur, project = make_team(db)
    _docs(db, project, 1)
    _set(db, project, annotators_per_document=1, abandon_after=0)
    _next(db, ann, project)
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    layer.updated_at = utcnow() - timedelta(days=300)
    db.commit()
    assert _next(db, bob, project) is None


def test_opening_a_full_document_directly_is_refused_with_a_reason(app, api, db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 2)
    _set(db, project, annotators_per_document=1)
    assert _next(db, ann, project) == docs[0].id
    api.login("bob")
    url = f"/api/v1/projects/{project.id}/documents/{docs[0].id}/annotate"
    response = api.get(url)
    assert response.status_code == 409
    assert "already has the 1 annotator it needs" in response.get_json()["error"]
    # a document with a free place opens, and takes that place
    assert api.get(f"/api/v1/projects/{project.id}/documents/{docs[1].id}/annotate").status_code == 200
    _submit(db, ann, docs[0].id)
    assert _next(db, ann, project) is None


def test_random_order_is_a_stable_shuffle_of_its_own_per_annotator(db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 30)
    _set(db, project, queue_order="random", annotators_per_document=2)
    first_ann = [_next(db, ann, project) for _ in range(2)]
    assert first_ann[0] == first_ann[1]  # stable while unfinished
    first_bob = _next(db, bob, project)
    assert {first_ann[0], first_bob} <= {d.id for d in docs}
    order_ann = [assignment.next_document_id(db, ann, project)]
    seen = []
    for _ in range(30):
        document_id = _next(db, ann, project)
        if document_id is None:
            break
        seen.append(document_id)
        _submit(db, ann, document_id)
    assert sorted(seen) == sorted(d.id for d in docs) and seen != sorted(seen)
    assert order_ann[0] == seen[0]


def test_every_annotator_annotates_everything_without_k(db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 2)
    assert _next(db, ann, project) == docs[0].id
    assert _next(db, bob, project) == docs[0].id
    # without k nothing is held: the page makes the layer when it opens
    assert db.scalar(select(AnnotationSet.id)) is None


# --------------------------------------------------------------------------- manual assignment


def test_manual_projects_hand_out_only_assigned_documents(db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 4)
    _set(db, project, assignment="manual", annotators_per_document=2)
    assert _next(db, ann, project) is None
    with pytest.raises(Forbidden, match="not assigned to you"):
        assignment.claim_document(db, ann, docs[0])
    db.rollback()
    report = assignment.assign(db, cur, project, docs[:3], [ann, bob])
    db.commit()
    assert (report.assigned, report.already) == (6, 0)
    again = assignment.assign(db, cur, project, docs[:2], [ann])
    db.commit()
    assert (again.assigned, again.already) == (0, 2)
    assert _next(db, ann, project) == docs[0].id
    assert assignment.claim_document(db, bob, docs[2]).assigned_by_id == cur.id
    with pytest.raises(Forbidden):
        assignment.claim_document(db, bob, docs[3])


def test_assigning_past_k_is_refused_whole(db):
    ann, bob, cur, project = make_team(db)
    carl = make_user(db, "carl")
    project_service.add_member(db, project, carl)
    docs = _docs(db, project, 3)
    _set(db, project, assignment="manual", annotators_per_document=2)
    assignment.assign(db, cur, project, [docs[2]], [ann, bob])
    db.commit()
    with pytest.raises(InvalidInput, match="'d2' would get 3 annotators; the project wants 2"):
        assignment.assign(db, cur, project, docs, [carl])
    db.rollback()
    assert db.scalar(select(AnnotationSet.id).where(AnnotationSet.user_id == carl.id)) is None


def test_assigning_to_non_members_or_nothing_is_refused(db):
    ann, _bob, cur, project = make_team(db)
    outsider = make_user(db, "outsider")
    docs = _docs(db, project, 1)
    for documents, users, message in ((docs, [outsider], "not a member"), ([], [ann], "at least one document"), (docs, [], "at least one annotator")):
        with pytest.raises(InvalidInput, match=message):
            assignment.assign(db, cur, project, documents, users)
        db.rollback()


def test_assigned_documents_are_never_abandoned(db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 1)
    _set(db, project, annotators_per_document=1, abandon_after="1h")
    assignment.assign(db, cur, project, docs, [ann])
    db.commit()
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    layer.updated_at = utcnow() - timedelta(days=2)
    db.commit()
    assert _next(db, bob, project) is None


def test_documents_needing_annotators_skips_full_and_held_ones(db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 4)
    _set(db, project, annotators_per_document=1)
    assignment.assign(db, cur, project, [docs[0]], [ann])
    db.commit()
    picked = assignment.documents_needing_annotators(db, project, 2, [bob])
    assert [d.id for d in picked] == [docs[1].id, docs[2].id]


def test_unassign_keeps_started_work(db):
    ann, _bob, cur, project = make_team(db)
    docs = _docs(db, project, 2)
    assignment.assign(db, cur, project, docs, [ann])
    db.commit()
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id, AnnotationSet.document_id == docs[1].id))
    annotation.apply_ops(db, ann, layer.id, 0, "b1", [{"op": "span.create", "id": "T1", "label": "PERSON", "start": 0, "end": 5}])
    db.commit()
    assignment.unassign(db, project, docs[0], ann)
    db.commit()
    with pytest.raises(Conflict, match="has started"):
        assignment.unassign(db, project, docs[1], ann)
    db.rollback()
    with pytest.raises(Exception, match="does not have"):
        assignment.unassign(db, project, docs[0], ann)


# --------------------------------------------------------------------------- counts and progress


def test_an_annotators_done_counts_only_their_own_work(app, api, db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 3)
    _set(db, project, annotators_per_document=1)
    assert _next(db, bob, project) == docs[0].id
    _submit(db, bob, docs[0].id)
    api.login("ann")
    data = api.get(f"/api/v1/projects/{project.id}").get_json()["project"]
    assert data["counts"]["done"] == 0 and data["counts"]["mine_done"] == 0
    assert api.get("/api/v1/projects").get_json()["items"][0]["counts"]["done"] == 0
    page = api.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "<dt>Done</dt>" not in page
    curator_api = type(api)(app)
    curator_api.login("cur")
    data = curator_api.get(f"/api/v1/projects/{project.id}").get_json()["project"]
    assert data["counts"]["done"] == 1
    assert data["settings"]["annotators_per_document"] == 1


def test_done_for_curators_needs_all_k_submissions(db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 2)
    _set(db, project, annotators_per_document=2)
    _next(db, ann, project)
    _next(db, bob, project)
    _submit(db, ann, docs[0].id)
    assert project_service.project_summary(db, cur, project, "curator").done == 0
    _submit(db, bob, docs[0].id)
    assert project_service.project_summary(db, cur, project, "curator").done == 1


def test_progress_per_annotator_and_per_document(db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 3)
    _set(db, project, annotators_per_document=2)
    _next(db, ann, project)
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    annotation.apply_ops(db, ann, layer.id, 0, "b1", [{"op": "span.create", "id": "T1", "label": "PERSON", "start": 0, "end": 5}])
    annotation.apply_ops(db, ann, layer.id, 1, "b2", [{"op": "span.create", "id": "T2", "label": "PERSON", "start": 6, "end": 12}])
    db.commit()
    _submit(db, ann, docs[0].id)
    _next(db, bob, project)
    bob_layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == bob.id))
    annotation.set_status(db, bob, bob_layer.id, "skipped", "duplicate")
    db.commit()
    report = assignment.progress(db, project)
    people = {a.username: a for a in report.annotators}
    assert (people["ann"].done, people["ann"].spans, people["ann"].in_progress) == (1, 2, 0)
    assert people["ann"].seconds >= 0
    assert (people["bob"].skipped, people["bob"].done) == (1, 0)
    assert "cur" not in people
    first = report.documents[0]
    assert first.annotators == [("ann", "submitted"), ("bob", "skipped")] and first.submitted == 1 and first.needed == 2
    assert report.total_documents == 3 and report.complete_documents == 0


def test_time_spent_leaves_out_long_pauses(db):
    ann, _bob, _cur, project = make_team(db)
    docs = _docs(db, project, 1)
    layer = annotation.open_annotator_layer(db, ann, docs[0])
    db.commit()
    from workbench.models import Change

    start = utcnow()
    for minutes in (0, 1, 3, 60, 62):
        db.add(Change(set_id=layer.id, user_id=ann.id, action="ops", version=1, at=start + timedelta(minutes=minutes)))
    db.commit()
    report = assignment.progress(db, project)
    ann_row = next(a for a in report.annotators if a.username == "ann")
    assert ann_row.seconds == pytest.approx(5 * 60)


# --------------------------------------------------------------------------- API, pages and CLI


def test_api_settings_progress_and_assignments(app, api, db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 3)
    api.login("ann")
    base = f"/api/v1/projects/{project.id}"
    assert api.open("PATCH", base, json={"annotators_per_document": 2}).status_code == 403
    assert api.get(f"{base}/progress").status_code == 403
    assert api.post(f"{base}/assignments", json={"users": ["ann"], "next": 1}).status_code == 403
    curator = type(api)(app)
    curator.login("cur")
    response = curator.open("PATCH", base, json={"annotators_per_document": 2, "assignment": "manual", "abandon_after": "3h"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["project"]["settings"] == {
        "annotators_per_document": 2, "assignment": "manual", "queue_order": "oldest", "abandon_after": 10800,
        "merge_rule": "majority", "hide_annotator_names": False, "ready_formats": ["jsonl"],
    }
    response = curator.open("PATCH", base, json={"ready_formats": ["labelstudio", "jsonl"]})
    assert response.status_code == 200 and response.get_json()["project"]["settings"]["ready_formats"] == ["jsonl", "labelstudio"]
    response = curator.open("PATCH", base, json={"ready_formats": ["spacy"], "queue_order": "random"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "the 'spacy' format cannot be kept ready for export (choose from jsonl, conll, brat, labelstudio, doccano, or none)"
    assert curator.get(base).get_json()["project"]["settings"]["queue_order"] == "oldest"  # nothing of a refused change is kept
    response = curator.open("PATCH", base, json={"merge_rule": "unanimous", "hide_annotator_names": True})
    assert response.get_json()["project"]["settings"]["merge_rule"] == "unanimous"
    assert curator.open("PATCH", base, json={"merge_rule": "some"}).status_code == 400
    bad = curator.open("PATCH", base, json={"annotators_per_document": -1})
    assert bad.status_code == 400 and "annotators_per_document" in bad.get_json()["error"]
    assert curator.open("PATCH", base, json={}).status_code == 400
    assert curator.open("PATCH", base, json=["x"]).status_code == 400
    response = curator.post(f"{base}/assignments", json={"users": ["ann", "bob"], "documents": ["d0", "d1"]})
    assert response.status_code == 201
    assert response.get_json()["assignment"] == {"assigned": 4, "already": 0, "documents": 2, "users": ["ann", "bob"]}
    response = curator.post(f"{base}/assignments", json={"users": ["ann"], "next": 5})
    assert response.get_json()["assignment"]["assigned"] == 1  # only d2 is left for ann
    missing = curator.post(f"{base}/assignments", json={"users": ["ann"], "documents": ["nope"]})
    assert missing.status_code == 404 and "nope" in missing.get_json()["error"]
    for body in ({"users": "ann", "next": 1}, {"users": ["ann"], "next": 0}, {"users": ["ann"], "next": "3"}, {"users": ["ann"]}):
        assert curator.post(f"{base}/assignments", json=body).status_code == 400, body
    assert api.get(f"{base}/next").get_json()["document_id"] == docs[0].id
    progress = curator.get(f"{base}/progress?per_page=2").get_json()["progress"]
    assert progress["documents"]["pages"] == 2 and progress["documents_total"] == 3
    assert progress["documents"]["items"][0]["annotators"] == [
        {"username": "ann", "status": "new"}, {"username": "bob", "status": "new"},
    ]
    assert {a["username"]: a["in_progress"] for a in progress["annotators"]} == {"ann": 3, "bob": 2}
    response = curator.delete(f"{base}/assignments", json={"user": "bob", "document": "d1"})
    assert response.status_code == 200
    assert curator.delete(f"{base}/assignments", json={"user": "bob", "document": "d1"}).status_code == 404


def test_pages_settings_and_progress(app, api, db):
    ann, bob, cur, project = make_team(db)
    _docs(db, project, 2)
    api.login("ann")
    assert api.get(f"/projects/{project.id}/settings").status_code == 403
    assert api.get(f"/projects/{project.id}/progress").status_code == 403
    assert "Progress" not in api.get(f"/projects/{project.id}").get_data(as_text=True)
    curator = type(api)(app)
    curator.login("cur")
    page = curator.get(f"/projects/{project.id}/settings").get_data(as_text=True)
    assert 'name="abandon_after"' in page and 'value="2h"' in page
    # the export formats kept ready: JSONL by default, each a named checkbox
    assert '<legend>Export formats kept ready</legend>' in page
    assert re.search(r'<input checked id="ready_formats-0" name="ready_formats" type="checkbox" value="jsonl">', page)
    assert '<input id="ready_formats-1" name="ready_formats" type="checkbox" value="conll">' in page
    assert '<label for="ready_formats-1">CoNLL (BIO, one column per label kind)</label>' in page
    response = curator.post(
        f"/projects/{project.id}/settings",
        data={"annotators_per_document": "abc", "assignment": "queue", "queue_order": "random", "abandon_after": "2h", "merge_rule": "majority"},
    )
    assert response.status_code == 400 and "a whole number from 1" in response.get_data(as_text=True)
    response = curator.post(
        f"/projects/{project.id}/settings",
        data={"annotators_per_document": "2", "assignment": "queue", "queue_order": "random", "abandon_after": "soon", "merge_rule": "majority"},
    )
    assert response.status_code == 400 and "abandon_after must be a duration" in response.get_data(as_text=True)
    response = curator.post(
        f"/projects/{project.id}/settings",
        data={"annotators_per_document": "2", "assignment": "manual", "queue_order": "random", "abandon_after": "90m",
              "merge_rule": "unanimous", "hide_annotator_names": "y", "ready_formats": ["conll", "jsonl"]},
    )
    assert response.status_code == 302
    db.refresh(project)
    assert project.settings == {"merge_rule": "unanimous", "hide_annotator_names": True, "ready_formats": ["jsonl", "conll"]}
    response = curator.post(
        f"/projects/{project.id}/settings",
        data={"annotators_per_document": "2", "assignment": "manual", "queue_order": "random", "abandon_after": "90m",
              "merge_rule": "unanimous", "ready_formats": ["spacy"]},
    )
    assert response.status_code == 400 and "&#39;spacy&#39; is not a valid choice" in response.get_data(as_text=True)
    db.refresh(project)
    assert project.settings["ready_formats"] == ["jsonl", "conll"]
    assert (project.annotators_per_document, project.assignment, project.queue_order, project.abandon_after) == (2, "manual", "random", 5400)
    response = curator.post(f"/projects/{project.id}/progress", data={"users": ["ann", "bob"], "documents": "d0\nd1", "count": "10"})
    assert response.status_code == 302
    page = curator.get(f"/projects/{project.id}/progress").get_data(as_text=True)
    assert "0 of 2 documents complete" in page and page.count("status-new") == 4
    response = curator.post(f"/projects/{project.id}/progress", data={"users": ["ann"], "documents": "zzz", "count": "10"})
    assert response.status_code == 400 and "no document &#39;zzz&#39;" in response.get_data(as_text=True)
    # the annotator opens an assigned document; an unassigned one says why
    assert api.get(f"/projects/{project.id}/annotate").status_code == 302


def test_annotate_page_says_why_a_document_cannot_be_opened(app, api, db):
    ann, bob, cur, project = make_team(db)
    docs = _docs(db, project, 1)
    _set(db, project, assignment="manual")
    api.login("ann")
    response = api.get(f"/projects/{project.id}/documents/{docs[0].id}/annotate")
    assert response.status_code == 403 and "not assigned to you" in response.get_data(as_text=True)
    response = api.get(f"/projects/{project.id}/annotate")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/projects/{project.id}")


def test_cli_set_assign_unassign_and_progress(runner, db):
    admin = make_user(db, "root", role="admin")
    ann, bob, cur, project = make_team(db)
    _docs(db, project, 4)
    result = runner.invoke(args=["projects", "set", "news", "--annotators-per-document", "2", "--assignment", "manual",
                                 "--queue-order", "random", "--abandon-after", "2h"])
    assert result.exit_code == 0, result.output
    assert "2 annotator(s) per document, assignment manual, queue order random, abandon after 2h, export formats kept ready: jsonl." in result.output
    result = runner.invoke(args=["projects", "set", "news", "--ready-formats", "doccano,jsonl"])
    assert result.exit_code == 0 and "export formats kept ready: jsonl, doccano." in result.output, result.output
    bad = runner.invoke(args=["projects", "set", "news", "--ready-formats", "spacy"])
    assert bad.exit_code == 1 and bad.output.strip() == (
        "Error: the 'spacy' format cannot be kept ready for export (choose from jsonl, conll, brat, labelstudio, doccano, or none)")
    result = runner.invoke(args=["projects", "set", "news", "--ready-formats", "none"])
    assert result.exit_code == 0 and "export formats kept ready: none." in result.output, result.output
    bad = runner.invoke(args=["projects", "set", "news", "--annotators-per-document", "two"])
    assert bad.exit_code == 1 and bad.output.strip() == "Error: --annotators-per-document takes a whole number or 'all', not 'two'"
    bad = runner.invoke(args=["projects", "set", "news", "--abandon-after", "later"])
    assert bad.exit_code == 1 and "abandon_after must be a duration" in bad.output
    result = runner.invoke(args=["projects", "assign", "news", "--to", "ann,bob", "--next", "3"])
    assert result.exit_code == 0, result.output
    assert "Assigned 3 document(s) to ann, bob: 6 new assignment(s), 0 they had already." in result.output
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id).limit(1))
    assert layer.assigned_by_id == admin.id
    result = runner.invoke(args=["projects", "assign", "news", "--to", "cur", "--document", "d0"])
    assert result.exit_code == 1 and "'d0' would get 3 annotators" in result.output
    result = runner.invoke(args=["projects", "assign", "news", "--to", "ann"])
    assert result.exit_code == 1 and "name the documents one way" in result.output
    result = runner.invoke(args=["projects", "unassign", "news", "bob", "d2"])
    assert result.exit_code == 0 and "bob no longer has d2" in result.output
    result = runner.invoke(args=["projects", "progress", "news"])
    assert result.exit_code == 0 and "0 of 4 documents complete (2 annotator(s) each)" in result.output
    assert "ann" in result.output and "bob" in result.output
    import json as _json

    data = _json.loads(runner.invoke(args=["projects", "progress", "news", "--json"]).output)
    assert {a["username"]: a["in_progress"] for a in data["annotators"]} == {"ann": 3, "bob": 2}


def test_the_annotate_button_keeps_the_place_it_takes(app, api, db):
    ann, bob, _cur, project = make_team(db)
    docs = _docs(db, project, 2)
    _set(db, project, annotators_per_document=1)
    api.login("ann")
    response = api.get(f"/projects/{project.id}/annotate")
    assert response.headers["Location"].endswith(f"/documents/{docs[0].id}/annotate")
    db.expire_all()
    held = db.scalar(select(AnnotationSet).where(AnnotationSet.user_id == ann.id))
    assert held is not None and held.document_id == docs[0].id  # committed, not rolled back with the request
    assert _next(db, bob, project) == docs[1].id


def test_documents_are_named_by_external_or_numeric_id_and_huge_numbers_are_just_unknown(db):
    _ann, _bob, _cur, project = make_team(db)
    docs = _docs(db, project, 3)
    found = assignment.require_documents(db, project, ["d2", str(docs[0].id), " d1 "])
    assert [d.id for d in found] == [docs[2].id, docs[0].id, docs[1].id]
    with pytest.raises(NotFound, match="no document '99999999999999999999'"):
        assignment.require_documents(db, project, ["d0", "99999999999999999999"])
