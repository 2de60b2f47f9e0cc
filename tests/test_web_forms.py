"""The pages' forms: Post/Redirect/Get, re-rendered errors, all-or-nothing import, tokens."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories import make_document
from factories import make_project
from factories import make_user
from workbench.domain.schema import NEWS_SCHEMA
from workbench.domain.schema import parse_schema
from workbench.models import AnnotationSet
from workbench.models import ApiToken
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Project
from workbench.services import users as user_service


@pytest.fixture
def setup(db: Session) -> dict[str, object]:
    """A curator and an annotator in one project, plus a user outside it."""
    curator = make_user(db, "carla", "curator")
    ann = make_user(db, "annotator")
    make_user(db, "nina")
    project = make_project(db, "Valley news", members=[curator, ann])
    return {"curator": curator, "ann": ann, "project": project}


def _count(db: Session, model: type, *where: object) -> int:
    """Return how many rows of ``model`` match ``where``, read afresh."""
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- new project ------------------------------------------------------------------


def test_new_project_redirects_and_makes_creator_curator(client, auth, db, setup):
    auth.login("carla")
    response = client.post("/projects/new", data={"name": "Mountain desk", "description": "Alpine stories", "schema": ""})
    assert response.status_code == 302
    project = db.scalar(select(Project).where(Project.name == "Mountain desk"))
    assert project is not None and project.description == "Alpine stories"
    assert response.headers["Location"] == f"/projects/{project.id}"
    role = db.scalar(select(Membership.role).where(Membership.project_id == project.id, Membership.user_id == setup["curator"].id))
    assert role == "curator"
    assert project.label_schema == parse_schema(NEWS_SCHEMA).to_dict()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mountain desk" in page and "created" in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "schema": ""}, "This field is required."),
        ({"name": "Broken", "schema": "{not json"}, "not valid JSON: line 1 column 2"),
        ({"name": "Broken", "schema": "[1, 2]"}, "the schema must be a JSON object"),
        ({"name": "Broken", "schema": '{"name": "x"}'}, "schema:"),
        ({"name": "valley NEWS", "schema": ""}, "exists already"),
    ],
)
def test_new_project_errors_re_render_the_form(client, auth, db, setup, data, message):
    auth.login("carla")
    response = client.post("/projects/new", data=data)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    assert "Please correct the fields" in body
    assert f'value="{data["name"]}"' in body or not data["name"]
    assert _count(db, Project) == 1


def test_new_project_refused_to_annotators(client, auth, db, setup):
    auth.login("annotator")
    assert client.post("/projects/new", data={"name": "Mine"}).status_code == 403
    assert _count(db, Project) == 1


# -- members ----------------------------------------------------------------------


def test_curator_adds_member_then_changes_role(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    response = client.post(f"/projects/{pid}/members", data={"username": "NINA", "role": "annotator"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{pid}/members"
    nina = user_service.get_user_by_name(db, "nina")
    assert db.scalar(select(Membership.role).where(Membership.user_id == nina.id)) == "annotator"
    client.post(f"/projects/{pid}/members", data={"username": "nina", "role": "curator"})
    db.expire_all()
    assert db.scalar(select(Membership.role).where(Membership.user_id == nina.id)) == "curator"
    assert "nina is now curator in Valley news" in client.get(f"/projects/{pid}/members").get_data(as_text=True)


def test_adding_unknown_user_re_renders_with_reason(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    response = client.post(f"/projects/{pid}/members", data={"username": "ghost", "role": "annotator"})
    assert response.status_code == 400
    assert "no user called &#39;ghost&#39;" in response.get_data(as_text=True)
    bad_role = client.post(f"/projects/{pid}/members", data={"username": "nina", "role": "admin"})
    assert bad_role.status_code == 400
    assert "Not a valid choice" in bad_role.get_data(as_text=True)
    assert _count(db, Membership) == 2


# -- guidelines -------------------------------------------------------------------


def test_curator_edits_guidelines_prg(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    response = client.post(f"/projects/{pid}/guidelines", data={"guidelines": "## Cues\n\nMark *said* as a cue."})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{pid}/guidelines"
    db.expire_all()
    assert db.get(Project, pid).guidelines == "## Cues\n\nMark *said* as a cue."
    body = client.get(f"/projects/{pid}/guidelines").get_data(as_text=True)
    assert "<h2>Cues</h2>" in body and "<em>said</em>" in body and "Guidelines saved." in body


# -- import -----------------------------------------------------------------------


def _upload(*files: tuple[str, bytes], fmt: str = "auto") -> dict[str, object]:
    """Return multipart form data uploading ``files`` (name, bytes) in format ``fmt``."""
    return {"files": [(io.BytesIO(data), name) for name, data in files], "fmt": fmt}


def test_import_text_and_jsonl_files(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    record = {"id": "river-1", "text": "The river rose by a metre, officials said.", "meta": {"title": "River rises", "source": "Valley Post"}}
    response = client.post(
        f"/projects/{pid}/import",
        data=_upload(("mill.txt", "Ida Lund said the mill will reopen.\n".encode()), ("batch.jsonl", (json.dumps(record) + "\n").encode())),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{pid}"
    assert _count(db, Document, Document.project_id == pid) == 2
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "Imported 2 documents" in page
    assert "River rises" in page and "Valley Post" in page


def test_import_page_takes_a_models_output_as_predictions(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    text = "Ida Lund said the mill will reopen."
    record = {"id": "mill-1", "text": text, "layer": "gold",
              "spans": [{"id": "T1", "start": 0, "end": 8, "label": "PERSON", "text": "Ida Lund"}]}
    data = {**_upload(("model-out.jsonl", (json.dumps(record) + "\n").encode())), "as_predictions": "ner-v2"}
    response = client.post(f"/projects/{pid}/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == f"/projects/{pid}"
    layers = db.execute(select(AnnotationSet.kind, AnnotationSet.model_name)).all()
    assert [tuple(row) for row in layers] == [("prediction", "ner-v2")]
    bad = {**_upload(("model-out.jsonl", (json.dumps({**record, "id": "mill-2"}) + "\n").encode())), "as_predictions": "a\tb"}
    client.post(f"/projects/{pid}/import", data=bad, content_type="multipart/form-data")
    body = client.get(f"/projects/{pid}/import").get_data(as_text=True)
    assert "Nothing imported. a model name cannot hold line breaks or control characters" in body


def test_import_is_all_or_nothing_across_files(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    good = json.dumps({"id": "ok-1", "text": "Fine text."})
    response = client.post(
        f"/projects/{pid}/import",
        data=_upload(("first.txt", b"A good first file."), ("second.jsonl", (good + "\n{broken json\n").encode())),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{pid}/import"
    assert _count(db, Document, Document.project_id == pid) == 0
    body = client.get(f"/projects/{pid}/import").get_data(as_text=True)
    assert "Nothing imported. second.jsonl:2:" in body
    assert "Traceback" not in body


def test_import_without_files_re_renders(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    response = client.post(f"/projects/{pid}/import", data={"fmt": "auto"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "choose at least one file" in response.get_data(as_text=True)


def test_import_refused_to_annotators(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("annotator")
    response = client.post(f"/projects/{pid}/import", data=_upload(("x.txt", b"Some text.")), content_type="multipart/form-data")
    assert response.status_code == 403
    assert _count(db, Document) == 0


# -- account and tokens -----------------------------------------------------------


def test_token_is_shown_once_and_works(client, auth, db, setup):
    auth.login("annotator")
    response = client.post("/account/tokens", data={"name": "laptop script"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    token = body.split('id="new-token" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert token.startswith("wb_")
    assert user_service.user_for_token(db, token).username == "annotator"
    db.rollback()
    listing = client.get("/account").get_data(as_text=True)
    assert "laptop script" in listing and token not in listing and "never" in listing


def test_token_form_error_re_renders(client, auth, db, setup):
    auth.login("annotator")
    response = client.post("/account/tokens", data={"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert _count(db, ApiToken) == 0


def test_revoke_token_prg_and_only_own(client, auth, db, setup):
    user_service.create_token(db, setup["ann"], "mine")
    user_service.create_token(db, setup["curator"], "hers")
    db.commit()
    mine = db.scalar(select(ApiToken.id).where(ApiToken.name == "mine"))
    hers = db.scalar(select(ApiToken.id).where(ApiToken.name == "hers"))
    auth.login("annotator")
    assert client.post(f"/account/tokens/{hers}/revoke").status_code == 404
    response = client.post(f"/account/tokens/{mine}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _count(db, ApiToken) == 1
    assert "Token revoked." in client.get("/account").get_data(as_text=True)
    assert client.get(f"/account/tokens/{hers}/revoke").status_code == 405
    assert _count(db, ApiToken, ApiToken.id == hers) == 1


# -- export -----------------------------------------------------------------------


def test_curator_downloads_jsonl_export(client, auth, db, setup):
    project = setup["project"]
    make_document(db, project, "Ölund 🌊 said the tide is high.", external_id="tide-2", title="Tide", meta={"source": "Wire"})
    make_document(db, project, "A calm day at the pier.", external_id="pier-1")
    auth.login("carla")
    # Streamed responses hold their request context until closed: always close them.
    with client.get(f"/projects/{project.id}/export.jsonl?layer=documents") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/x-ndjson"
        assert 'filename="valley-news-documents.jsonl"' in response.headers["Content-Disposition"]
        text = response.get_data(as_text=True)
    assert text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in records] == ["pier-1", "tide-2"]
    assert records[1]["text"] == "Ölund 🌊 said the tide is high."
    assert records[1]["meta"]["title"] == "Tide"
    assert "Ölund 🌊" in text  # ensure_ascii=False: the characters themselves, not \u escapes
    with client.get(f"/projects/{project.id}/export.jsonl?layer=gold") as gold:
        assert gold.status_code == 200 and gold.get_data(as_text=True) == ""


def test_export_stream_gives_its_connection_back(app, client, auth, db, setup):
    make_document(db, setup["project"], "Snow on the pass.", external_id="snow-1")
    auth.login("carla")
    engine = app.extensions["workbench.engine"]
    for _ in range(3):
        with client.get(f"/projects/{setup['project'].id}/export.jsonl?layer=all") as response:
            assert json.loads(response.get_data(as_text=True).splitlines()[0])["id"] == "snow-1"
    assert engine.pool.checkedout() == 0


def test_export_rejects_unknown_layer(client, auth, setup):
    auth.login("carla")
    response = client.get(f"/projects/{setup['project'].id}/export.jsonl?layer=secrets")
    assert response.status_code == 400
    assert "layer must be one of" in response.get_data(as_text=True)


def test_export_download_works_with_a_bearer_token(client, db, setup):
    make_document(db, setup["project"], "Rain is due on Friday.", external_id="rain-1")
    token = user_service.create_token(db, setup["curator"], "export script")
    db.commit()
    url = f"/projects/{setup['project'].id}/export.jsonl?layer=documents"
    with client.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
    assert [json.loads(line)["id"] for line in body.splitlines()] == ["rain-1"]


def test_import_page_reads_label_studio_with_a_label_map_and_notes_conversions(client, auth, db, setup):
    pid = setup["project"].id
    auth.login("carla")
    page = client.get(f"/projects/{pid}/import").get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="([a-z]+)"', page)
    assert offered == ["auto", "text", "html", "jsonl", "labelstudio", "doccano", "brat"]
    task = {"data": {"text": "Ida 🙂 Lund spoke.", "id": "s1"}, "annotations": [{"completed_by": 1, "result": [
        {"id": "r1", "type": "labels", "value": {"start": 7, "end": 11, "text": "Lund", "labels": ["PER"]}}]}]}
    upload = _upload(("ls.json", json.dumps([task]).encode()))
    response = client.post(f"/projects/{pid}/import", data={**upload, "label_map": "PER"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "must look like THEIRS=OURS" in response.get_data(as_text=True)
    upload = _upload(("ls.json", json.dumps([task]).encode()))
    response = client.post(f"/projects/{pid}/import", data={**upload, "label_map": "PER=PERSON"}, content_type="multipart/form-data")
    assert response.status_code == 302
    body = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "Imported 1 document (0 unchanged), 1 layer from 1 file." in body
    assert "offsets counted in UTF-16 units were converted to code points" in body
