"""Limits and bad input: every malformed or oversized request gets a 4xx with a reason, never a 500,
and one annotator cannot stall everyone (a PUT has the PATCH cap, documents have a size limit)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from apiclient import ERROR_KEYS
from apiclient import Api
from factories import make_document
from factories import make_project
from factories import make_user

from dbtools import make_test_app
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Project
from workbench.services import annotation as annotation_service
from workbench.services import projects as project_service
from workbench.services import users as user_service

TEXT = "Tove Lind of Harrow Mills said the kiln will stop in June."


@pytest.fixture
def world(db) -> dict[str, Any]:
    """A curator and an annotator in project ``news`` with one document; a token each."""
    ann = make_user(db, "ann")
    cur = make_user(db, "cur", "curator")
    project = make_project(db, "news", members=[ann, cur])
    doc = make_document(db, project, TEXT, external_id="d1", title="Kiln")
    tokens = {u.username: user_service.create_token(db, u, "tests") for u in (ann, cur)}
    db.commit()
    return {"project": project, "doc": doc, "tokens": tokens}


def _error(response, status: int = 400) -> str:
    """Check ``response`` is the API's error shape with ``status``; return its message."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    return body["error"]


def _layer(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    pid, did = world["project"].id, world["doc"].id
    return api.get(f"/api/v1/projects/{pid}/documents/{did}/annotate", token=world["tokens"]["ann"]).get_json()["layer"]


def test_put_of_a_layer_has_the_patch_cap(api, db, world):
    layer = _layer(api, world)
    too_many = [
        {"id": f"s{i}", "label": "PERSON", "start": i % 50, "end": i % 50 + 1}
        for i in range(annotation_service.MAX_OPS + 1)
    ]
    response = api.open(
        "PUT", f"/api/v1/layers/{layer['id']}", world["tokens"]["ann"], json={"base_version": 0, "spans": too_many}
    )
    assert _error(response) == f"a layer replaced in one PUT holds at most 10000 items, got {annotation_service.MAX_OPS + 1}"
    db.expire_all()
    assert db.get(AnnotationSet, layer["id"]).version == 0


def _import(api: Api, world: dict[str, Any], records: list[dict[str, Any]]):
    return api.post(
        f"/api/v1/projects/{world['project'].id}/import",
        json={"format": "jsonl", "records": records},
        token=world["tokens"]["cur"],
    )


def test_import_refuses_a_document_over_the_default_limit(api, db, world):
    big = "word " * 200_001  # 1,000,005 characters
    message = _error(_import(api, world, [{"id": "big", "text": big}, {"id": "ok", "text": "A short one."}]))
    assert message == "request body:1: document 'big' has 1,000,005 characters; this project takes at most 1,000,000 per document"
    assert db.query(Document).count() == 1  # nothing of the request stored


def test_import_refuses_long_titles_and_follows_the_projects_limit(api, db, world, runner, tmp_path):
    message = _error(_import(api, world, [{"id": "t", "text": "Some text.", "title": "T" * 501}]))
    assert message == "request body:1: the title of 't' has 501 characters, at most 500"
    result = runner.invoke(args=["projects", "set-document-limit", "news", "20"])
    assert result.exit_code == 0, result.output
    assert "news takes documents of at most 20 characters" in result.output
    message = _error(_import(api, world, [{"id": "a", "text": "Short enough."}, {"id": "b", "text": "This one is longer than twenty."}]))
    assert message == "request body:2: document 'b' has 31 characters; this project takes at most 20 per document"
    # The command line and plain-text articles too.
    article = tmp_path / "long.txt"
    article.write_text("A heading\n\nThis article body is longer than twenty characters.\n", encoding="utf-8")
    cli = runner.invoke(args=["import", "news", str(article)])
    assert cli.exit_code == 1
    assert "this project takes at most 20 per document" in cli.output and "nothing was imported" in cli.output
    assert runner.invoke(args=["projects", "set-document-limit", "news", "0"]).exit_code == 1


def test_an_upload_over_the_size_limit_gets_a_clear_413(database_url, tmp_path):
    application = make_test_app(database_url, tmp_path / "instance", MAX_CONTENT_LENGTH=2048)
    try:
        session = application.extensions["workbench.sessionmaker"]()
        cur = make_user(session, "cur", "curator")
        project = make_project(session, "news", members=[cur])
        token = user_service.create_token(session, cur, "t")
        session.commit()
        api = Api(application)
        data = {"file": (io.BytesIO(b"x" * 5000), "big.txt")}
        response = api.post(f"/api/v1/projects/{project.id}/import", data=data, token=token)
        assert _error(response, 413) == "the upload is larger than this server's limit of 2 KB; split it into smaller files"
        api.login("cur")
        page = api.post(f"/projects/{project.id}/import", data={"files": (io.BytesIO(b"x" * 5000), "big.txt")})
        assert page.status_code == 413
        assert "larger than this server&#39;s limit of 2 KB" in page.get_data(as_text=True)
        session.close()
    finally:
        application.extensions["workbench.engine"].dispose()


def _raw(api: Api, method: str, url: str, token: str, body: str):
    return api.open(method, url, token, data=body.encode("utf-8"), content_type="application/json")


def test_json_nested_1000_deep_is_refused(api, world):
    deep = '{"name": ' + "[" * 1000 + "]" * 1000 + "}"
    message = _error(_raw(api, "POST", "/api/v1/projects", world["tokens"]["cur"], deep))
    assert "nests" in message
    layer = _layer(api, world)
    ops = '{"base_version": 0, "ops": [{"op": "span.create", "id": "x", "label": "PERSON", "start": 0, "end": 4, "attrs": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}]}"
    message = _error(_raw(api, "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["ann"], ops))
    assert message.startswith("the JSON body nests deeper than 64 levels")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/projects", '{"name": "bad \\ud800 name"}'),
        ("POST", "/api/v1/projects", '{"name": "ok", "description": "\\udfff"}'),
        ("POST", "/api/v1/projects/{pid}/members", '{"username": "\\ud800"}'),
        ("POST", "/api/v1/projects/{pid}/import", '{"format": "jsonl", "records": [{"id": "x", "text": "a \\ud800 b"}]}'),
        ("POST", "/api/v1/projects/{pid}/import", '{"format": "jsonl", "records": [{"id": "x", "text": "ab", "meta": {"\\ud83d": 1}}]}'),
        ("PATCH", "/api/v1/layers/{lid}/ops", '{"base_version": 0, "batch_id": "\\ud800", "ops": [{"op": "span.create", "id": "s", "label": "PERSON", "start": 0, "end": 4}]}'),
        ("PATCH", "/api/v1/layers/{lid}/ops", '{"base_version": 0, "ops": [{"op": "span.create", "id": "s", "label": "PERSON", "start": 0, "end": 4, "attrs": {"note": "\\ud800"}}]}'),
        ("PUT", "/api/v1/layers/{lid}", '{"base_version": 0, "spans": [{"id": "\\udc00", "label": "PERSON", "start": 0, "end": 4}]}'),
        ("POST", "/api/v1/layers/{lid}/status", '{"status": "skipped", "note": "\\ud800"}'),
        ("POST", "/api/v1/me/password", '{"current_password": "\\ud800", "new_password": "\\ud800\\ud800\\ud800\\ud800\\ud800"}'),
    ],
)
def test_a_lone_surrogate_in_any_text_field_is_refused(api, db, world, method, path, body):
    layer = _layer(api, world)
    url = path.format(pid=world["project"].id, lid=layer["id"])
    who = "ann" if "layers" in path or "password" in path else "cur"
    message = _error(_raw(api, method, url, world["tokens"][who], body))
    assert "lone surrogate" in message
    db.expire_all()
    assert db.query(Project).count() == 1 and db.query(Document).count() == 1


def test_a_lone_surrogate_in_an_uploaded_jsonl_file_is_refused(api, db, world):
    data = b'{"id": "x", "text": "Bad \\ud800 text."}\n'
    response = api.post(
        f"/api/v1/projects/{world['project'].id}/import",
        data={"file": (io.BytesIO(data), "bad.jsonl")},
        token=world["tokens"]["cur"],
    )
    assert "lone surrogate" in _error(response)
    assert db.query(Document).count() == 1


def test_ids_and_numbers_past_2_63_are_refused_not_crashed(api, world):
    token = world["tokens"]["cur"]
    huge = 2**64
    assert _error(api.get(f"/api/v1/projects/{huge}", token=token), 404)
    assert _error(api.get(f"/api/v1/projects/{world['project'].id}/documents/{huge}", token=token), 404)
    assert _error(api.get(f"/api/v1/layers/{huge}", token=token), 404)
    assert _error(api.delete(f"/api/v1/tokens/{huge}", token=token), 404)
    layer = _layer(api, world)
    message = _error(_raw(api, "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["ann"], f'{{"base_version": {huge}, "ops": []}}'))
    assert message == "$.base_version is a number beyond 64 bits"
    message = _error(_raw(api, "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["ann"], '{"base_version": NaN, "ops": []}'))
    assert message == "$.base_version is not a finite number"


def test_page_numbers_past_2_63_give_an_empty_or_last_page(api, world):
    pid = world["project"].id
    response = api.get(f"/api/v1/projects/{pid}/documents?page={2**64}", token=world["tokens"]["cur"])
    assert response.status_code == 200
    assert response.get_json()["items"] == []
    api.login("cur")
    page = api.get(f"/projects/{pid}?page={2**70}")
    assert page.status_code == 200
    assert "Kiln" in page.get_data(as_text=True)  # the last page


def test_a_search_of_thousands_of_words_is_refused(api, world):
    words = " ".join(f"w{i}" for i in range(3000))
    response = api.get(f"/api/v1/projects/{world['project'].id}/documents", query_string={"q": words}, token=world["tokens"]["cur"])
    assert _error(response) == "a search takes at most 20 words and 1000 characters"
    ok = api.get(f"/api/v1/projects/{world['project'].id}/documents", query_string={"q": "kiln june"}, token=world["tokens"]["cur"])
    assert [d["external_id"] for d in ok.get_json()["items"]] == ["d1"]


def test_the_document_limit_setting_round_trips(db, world):
    project = db.get(Project, world["project"].id)
    assert project_service.max_document_chars(project) == 1_000_000
    project_service.set_max_document_chars(project, 5000)
    db.commit()
    db.expire_all()
    assert project_service.max_document_chars(db.get(Project, project.id)) == 5000

