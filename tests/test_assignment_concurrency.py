"""The queue under concurrency: many annotators asking at once never put more than k on a document.

Each worker is an annotator with a Session of its own (its own connection),
as separate requests to separate app processes would be.  They start
together behind a barrier and take, save and submit documents until the
queue is empty.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import func
from sqlalchemy import select

from workbench.models import AnnotationSet
from workbench.services import annotation
from workbench.services import assignment

pytestmark = pytest.mark.slow

WORKERS = 12
DOCUMENTS = 20
K = 3


def _work(app, user_id, project_id, barrier, log, errors):
    """Take documents from the queue until none is left; save a span on each and submit it."""
    session = app.extensions["workbench.sessionmaker"]()
    try:
        from workbench.models import Project
        from workbench.models import User

        user = session.get(User, user_id)
        project = session.get(Project, project_id)
        barrier.wait()
        while True:
            document_id = assignment.next_document_id(session, user, project)
            session.commit()
            if document_id is None:
                return
            log.append((user_id, document_id))
            layer = session.scalar(
                select(AnnotationSet).where(
                    AnnotationSet.document_id == document_id, AnnotationSet.owner_key == f"annotator:{user_id}"
                )
            )
            annotation.apply_ops(
                session, user, layer.id, layer.version, f"b{document_id}",
                [{"op": "span.create", "id": "T1", "label": "PERSON", "start": 0, "end": 4}],
            )
            session.commit()
            annotation.set_status(session, user, layer.id, "submitted")
            session.commit()
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(repr(exc))
        session.rollback()
    finally:
        session.close()


@pytest.mark.parametrize("order", ["oldest", "random"])
def test_many_annotators_at_once_never_exceed_k(app, db, order):
    users = [make_user(db, f"worker{i}") for i in range(WORKERS)]
    project = make_project(db, "busy", members=users)
    for i in range(DOCUMENTS):
        make_document(db, project, f"Report {i}: the council met on Tuesday.", external_id=f"r{i}")
    assignment.update_settings(db, project, {"annotators_per_document": K, "queue_order": order})
    db.commit()

    barrier = threading.Barrier(WORKERS)
    log: list[tuple[int, int]] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_work, args=(app, u.id, project.id, barrier, log, errors)) for u in users
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert errors == []

    per_document = Counter(document_id for _user, document_id in log)
    assert len(per_document) == DOCUMENTS
    assert set(per_document.values()) == {K}, per_document
    assert len(set(log)) == len(log), "a worker got the same document twice"
    submitted = dict(
        db.execute(
            select(AnnotationSet.document_id, func.count(AnnotationSet.id))
            .where(AnnotationSet.kind == "annotator", AnnotationSet.status == "submitted")
            .group_by(AnnotationSet.document_id)
        ).all()
    )
    assert len(submitted) == DOCUMENTS and set(submitted.values()) == {K}
    # every worker got some work: the queue did not hand everything to the fastest
    assert len({user for user, _doc in log}) >= WORKERS // 2


def _annotate_through_http(app, token, results, errors, barrier):
    """One annotator working through the queue over HTTP, as the annotate page does."""
    from apiclient import Api

    api = Api(app)
    seen: list[int] = []
    try:
        me = api.get("/api/v1/me", token=token).get_json()
        project_id = me["projects"][0]["id"]
        barrier.wait()
        while True:
            nxt = api.get(f"/api/v1/projects/{project_id}/next", token=token).get_json()
            if nxt["document_id"] is None:
                break
            opened = api.get(f"/api/v1/projects/{project_id}/documents/{nxt['document_id']}/annotate", token=token)
            assert opened.status_code == 200, opened.get_json()
            layer = opened.get_json()["layer"]
            assert layer["spans"] == [], "saw someone else's spans"
            ops = [{"op": "span.create", "id": "T1", "label": "PERSON", "start": 0, "end": 6}]
            saved = api.open("PATCH", f"/api/v1/layers/{layer['id']}/ops", token=token,
                             json={"base_version": layer["version"], "batch_id": "b1", "ops": ops})
            assert saved.status_code == 200, saved.get_json()
            # the document as the annotator sees it lists their own layer only
            doc = api.get(f"/api/v1/projects/{project_id}/documents/{nxt['document_id']}", token=token).get_json()
            assert [lay["annotator"] for lay in doc["document"]["layers"]] == [me["user"]["username"]]
            done = api.post(f"/api/v1/layers/{layer['id']}/status", token=token, json={"status": "submitted"})
            assert done.status_code == 200
            seen.append(nxt["document_id"])
        results[me["user"]["username"]] = seen
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(repr(exc))


def test_three_annotators_through_the_api_fill_every_document_to_k_blind(app, db):
    from apiclient import bearer

    people = [make_user(db, name) for name in ("ada", "ben", "cleo")]
    project = make_project(db, "trio", members=people)
    docs = [make_document(db, project, f"Ferry {i} left Varna at dawn.", external_id=f"f{i}") for i in range(8)]
    assignment.update_settings(db, project, {"annotators_per_document": 2})
    db.commit()
    tokens = [bearer(db, user)["Authorization"].split()[1] for user in people]
    results: dict[str, list[int]] = {}
    errors: list[str] = []
    barrier = threading.Barrier(3)
    threads = [threading.Thread(target=_annotate_through_http, args=(app, t, results, errors, barrier)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    counts = Counter(d for seen in results.values() for d in seen)
    assert counts == {d.id: 2 for d in docs}
    assert all(len(seen) == len(set(seen)) for seen in results.values())
