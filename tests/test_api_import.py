"""POST /api/v1/projects/<id>/import: files and JSON bodies, all or nothing, roles."""

from __future__ import annotations

import io
import json

import pytest
from apiclient import bearer
from factories import jsonl
from factories import make_project
from factories import make_user

from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Span


@pytest.fixture
def team(db):
    """A project with a curator and an annotator."""
    cora = make_user(db, "cora", "curator")
    ana = make_user(db, "ana", "annotator")
    project = make_project(db, "Elections", members=[cora, ana])
    return project, cora, ana


def stored(db, project) -> dict[str, str]:
    """Return the project's documents as ``{external_id: text}``, read afresh."""
    db.expire_all()
    return {d.external_id: d.text for d in db.query(Document).filter_by(project_id=project.id)}


GOOD = {"id": "mill", "text": "Anna Berg said the mill will close.", "meta": {"source": "Gazette"}}
ANNOTATED = {
    "id": "port",
    "text": "Lena Dahl said the port reopens 😀 today.",
    "layer": "gold",
    "spans": [
        {"id": "T1", "start": 0, "end": 9, "label": "PERSON", "text": "Lena Dahl"},
        {"id": "T2", "start": 10, "end": 14, "label": "CUE", "text": "said"},
    ],
}


def test_multipart_files_are_imported(api, db, team):
    project, cora, _ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        data={
            "file": [
                (io.BytesIO(jsonl(GOOD, ANNOTATED)), "batch.jsonl"),
                (io.BytesIO("Plain text\r\nwith two lines 😀.".encode()), "note.txt"),
            ]
        },
        content_type="multipart/form-data",
        headers=bearer(db, cora),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ok"] is True
    files = {f["filename"]: f for f in body["files"]}
    assert set(files) == {"batch.jsonl", "note.txt"}
    assert files["batch.jsonl"]["documents_created"] == 2
    assert files["batch.jsonl"]["layers_created"] == 1
    assert files["note.txt"]["documents_created"] == 1
    assert files["note.txt"]["documents_unchanged"] == 0
    docs = stored(db, project)
    assert docs["mill"] == GOOD["text"]
    assert docs["port"] == ANNOTATED["text"]
    assert len(docs) == 3
    gold = db.query(AnnotationSet).filter_by(kind="gold").one()
    assert sorted((s.label, s.start, s.end) for s in db.query(Span).filter_by(set_id=gold.id)) == [
        ("CUE", 10, 14),
        ("PERSON", 0, 9),
    ]


def test_reimporting_the_same_file_leaves_documents_unchanged(api, db, team):
    project, cora, _ana = team
    headers = bearer(db, cora)
    url = f"/api/v1/projects/{project.id}/import"
    first = api.post(url, json={"format": "jsonl", "records": [GOOD]}, headers=headers)
    assert first.status_code == 201
    again = api.post(url, json={"format": "jsonl", "records": [GOOD]}, headers=headers)
    assert again.status_code == 201
    report = again.get_json()["files"][0]
    assert (report["documents_created"], report["documents_unchanged"]) == (0, 1)
    assert list(stored(db, project)) == ["mill"]


def test_json_records_body(api, db, team):
    project, cora, _ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        json={"format": "jsonl", "records": [GOOD, ANNOTATED]},
        headers=bearer(db, cora),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["files"][0]["documents_created"] == 2
    assert stored(db, project) == {"mill": GOOD["text"], "port": ANNOTATED["text"]}


def test_json_documents_body_keeps_text_verbatim(api, db, team):
    project, cora, _ana = team
    text = "First line\r\nsecond 𝕏 line\r\n"
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        json={"documents": [{"id": "crlf", "text": text, "meta": {"source": "Wire"}}]},
        headers=bearer(db, cora),
    )
    assert response.status_code == 201, response.get_json()
    assert stored(db, project) == {"crlf": text}
    assert db.query(Document).one().meta["source"] == "Wire"


def test_bad_line_is_reported_and_nothing_is_stored(api, db, team):
    project, cora, _ana = team
    bad_span = dict(ANNOTATED, id="bad", spans=[{"id": "T1", "start": 0, "end": 4, "label": "PERSON", "text": "Nope"}])
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        data={
            "file": [
                (io.BytesIO(jsonl(GOOD)), "good.jsonl"),
                (io.BytesIO(jsonl(GOOD, bad_span)), "bad.jsonl"),
            ]
        },
        content_type="multipart/form-data",
        headers=bearer(db, cora),
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["file"] == "bad.jsonl"
    assert error["line"] == 2
    assert error["reason"]
    assert body["error"].startswith("bad.jsonl:2: ")
    # the good file came first, but the request is all or nothing
    assert stored(db, project) == {}


def test_every_bad_file_is_reported(api, db, team):
    project, cora, _ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        data={
            "file": [
                (io.BytesIO(b"{not json\n"), "one.jsonl"),
                (io.BytesIO(jsonl(GOOD)), "fine.jsonl"),
                (io.BytesIO(jsonl(GOOD) + b"[1, 2]\n"), "two.jsonl"),
            ]
        },
        content_type="multipart/form-data",
        headers=bearer(db, cora),
    )
    assert response.status_code == 400
    body = response.get_json()
    assert [(e["file"], e["line"]) for e in body["errors"]] == [("one.jsonl", 1), ("two.jsonl", 2)]
    assert body["error"] == "2 files cannot be imported"
    assert stored(db, project) == {}


def test_bad_json_record_in_body_names_its_line(api, db, team):
    project, cora, _ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        json={"format": "jsonl", "records": [GOOD, {"id": "x"}]},
        headers=bearer(db, cora),
    )
    assert response.status_code == 400
    error = response.get_json()["errors"][0]
    assert error["line"] == 2
    assert stored(db, project) == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"records": []},
        {"records": "not a list"},
        {"documents": {"id": "x"}},
        {"format": "brat", "records": [GOOD]},
    ],
)
def test_bad_json_bodies_are_400(api, db, team, body):
    project, cora, _ana = team
    response = api.post(f"/api/v1/projects/{project.id}/import", json=body, headers=bearer(db, cora))
    assert response.status_code == 400
    assert response.get_json()["ok"] is False
    assert stored(db, project) == {}


def test_a_json_body_that_is_not_utf8_is_400_with_the_reason(api, db, team):
    project, cora, _ana = team
    body = b'{"documents": [{"id": "x", "text": "' + "\ud800".encode("utf-8", "surrogatepass") + b'"}]}'
    response = api.post(f"/api/v1/projects/{project.id}/import", data=body, content_type="application/json",
                        headers=bearer(db, cora))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the request body is not UTF-8")
    assert stored(db, project) == {}


def test_multipart_without_files_and_unknown_format(api, db, team):
    project, cora, _ana = team
    headers = bearer(db, cora)
    url = f"/api/v1/projects/{project.id}/import"
    empty = api.post(url, data={"format": "jsonl"}, content_type="multipart/form-data", headers=headers)
    assert empty.status_code == 400
    unknown = api.post(
        url,
        data={"format": "xml", "file": (io.BytesIO(b"<doc/>"), "a.xml")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert unknown.status_code == 400
    assert "xml" in unknown.get_json()["error"]
    assert stored(db, project) == {}


def test_annotator_cannot_import(api, db, team):
    project, _cora, ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import", json={"documents": [GOOD]}, headers=bearer(db, ana)
    )
    assert response.status_code == 403
    assert stored(db, project) == {}


def test_non_member_import_is_404(api, db, team):
    project, _cora, _ana = team
    outsider = make_user(db, "olga", "curator")
    response = api.post(
        f"/api/v1/projects/{project.id}/import", json={"documents": [GOOD]}, headers=bearer(db, outsider)
    )
    assert response.status_code == 404
    assert stored(db, project) == {}


def test_json_body_is_read_as_it_arrives(api, db, team):
    """A JSON body's records are parsed one at a time: the peak memory of the import stays below the body's own size."""
    import tracemalloc

    project, cora, _ana = team
    headers = bearer(db, cora)
    text = "The harbour board met on Tuesday to discuss the dredging plan. " * 40
    body = json.dumps({"records": [{"id": f"d{i:05d}", "text": f"{i} {text}"} for i in range(4000)]}).encode()
    tracemalloc.start()
    try:
        response = api.post(
            f"/api/v1/projects/{project.id}/import", data=body, content_type="application/json", headers=headers
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["files"][0]["documents_created"] == 4000
    assert peak < len(body), f"peak {peak / 1e6:.1f} MB for a {len(body) / 1e6:.1f} MB body"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"records": [{"id": "a", "text": "x"}', "the request body is not valid JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'{"records": [{"id": "a", "text": "x"}], "format": "brat"}', "a JSON body carries JSONL records"),
        (b'{"records": []}', "'records' must be a non-empty list"),
        (b'{"records": 3}', "'records' must be a non-empty list"),
        (b'{"nothing": 1}', "a JSON body with 'records' or 'documents'"),
    ],
)
def test_bad_json_bodies_are_refused_and_store_nothing(api, db, team, body, reason):
    project, cora, _ana = team
    response = api.post(
        f"/api/v1/projects/{project.id}/import", data=body, content_type="application/json", headers=bearer(db, cora)
    )
    assert response.status_code == 400 and reason in response.get_json()["error"], response.get_json()
    db.expire_all()
    assert api.get(f"/api/v1/projects/{project.id}/documents", headers=bearer(db, cora)).get_json()["total"] == 0


def test_multipart_label_studio_upload_with_a_label_map(api, db, team):
    project, cora, _ana = team
    task = {"data": {"text": "Ana Berg spoke 🙂 today.", "id": "s1"}, "annotations": [{"completed_by": 2, "result": [
        {"id": "r1", "type": "labels", "value": {"start": 0, "end": 8, "text": "Ana Berg", "labels": ["PER"]}},
        {"id": "r2", "type": "labels", "value": {"start": 18, "end": 23, "text": "today", "labels": ["DATE"]}}]}]}
    url = f"/api/v1/projects/{project.id}/import"
    data = json.dumps([task]).encode()
    refused = api.post(url, data={"file": (io.BytesIO(data), "ls.json")}, headers=bearer(db, cora))
    assert refused.status_code == 400 and "label 'PER' is not in the project's schema" in refused.get_json()["error"]
    bad_map = api.post(url, data={"file": (io.BytesIO(data), "ls.json"), "label_map": "PER"}, headers=bearer(db, cora))
    assert bad_map.status_code == 400 and "label_map part 'PER': must look like THEIRS=OURS" in bad_map.get_json()["error"]
    response = api.post(url, data={"file": (io.BytesIO(data), "ls.json"), "label_map": "PER=PERSON"}, headers=bearer(db, cora))
    assert response.status_code == 201, response.get_json()
    (report,) = response.get_json()["files"]
    assert (report["format"], report["documents_created"], report["layers_created"]) == ("labelstudio", 1, 1)
    assert report["notes"] == ["ls.json: offsets counted in UTF-16 units were converted to code points"]


def test_multipart_upload_is_read_as_it_arrives(api, db, team):
    """An uploaded file is read line by line from werkzeug's spooled file: the import's peak memory stays below the file's size."""
    import tracemalloc

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    project, cora, _ana = team
    headers = bearer(db, cora)
    text = "The harbour board met on Tuesday to discuss the dredging plan. " * 40
    lines = "".join(json.dumps({"id": f"d{i:05d}", "text": f"{i} {text}"}) + "\n" for i in range(4000)).encode()
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(lines), filename="big.jsonl")})
    tracemalloc.start()
    try:
        response = api.post(
            f"/api/v1/projects/{project.id}/import",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=headers,
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["files"][0]["documents_created"] == 4000
    assert peak < len(lines), f"peak {peak / 1e6:.1f} MB for a {len(lines) / 1e6:.1f} MB file"
