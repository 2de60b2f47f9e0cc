"""Exports as users get them: the Export page and its downloads, the API, and files from the CLI
(safe --out, manifest, grouped splits) (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from apiclient import bearer
from factories import make_document
from factories import make_project
from factories import make_user
from workbench.services import exporting
from workbench.services import importing
from workbench.services import projects as project_service

DATA = Path(__file__).parent / "data"


@pytest.fixture
def team(db):
    """A curator and an annotator in a project named in Cyrillic, with gold data."""
    curator = make_user(db, "carla", "curator")
    ann = make_user(db, "annotator")
    project = make_project(db, "Новости", members=[curator, ann])
    importing.import_paths(db, project, [DATA / "layers.jsonl"])
    db.commit()
    return {"curator": curator, "ann": ann, "project": project}


def test_export_page_offers_exactly_the_formats_that_download(client, auth, team):
    auth.login("carla")
    pid = team["project"].id
    page = client.get(f"/projects/{pid}/export").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z]+)">', page.split('id="export-format"')[1].split("</select>")[0])
    assert offered == exporting.available_formats()
    assert set(offered) >= {"jsonl", "conll", "brat", "labelstudio", "doccano"}
    # the formats the project keeps ready, and where to change them
    ready = page.split('id="ready-formats">')[1].split("</p>")[0]
    assert "Kept ready" in ready and "JSON lines (workbench)." in ready and "CoNLL" not in ready
    assert f'href="/projects/{pid}/settings"' in ready
    for fmt in offered:
        with client.get(f"/projects/{pid}/export/download?layer=all&format={fmt}") as response:
            assert response.status_code == 200, (fmt, response.get_data(as_text=True)[:200])
            body = response.get_data()
            disposition = response.headers["Content-Disposition"]
        assert body, fmt
        # a non-ASCII project name works: an ASCII fallback and the real name as filename*
        assert "filename*=UTF-8''" in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("новости-all.")
        if fmt == "brat":
            assert "gold/ostby-mill.ann" in zipfile.ZipFile(io.BytesIO(body)).namelist()
        elif fmt == "labelstudio":
            assert json.loads(body)[0]["data"]["id"] == "kestrel-prices"


def test_chinese_project_name_downloads_jsonl(client, auth, db):
    curator = make_user(db, "carla", "curator")
    project = make_project(db, "新闻", members=[curator])
    make_document(db, project, "一个测试。", external_id="d1")
    auth.login("carla")
    with client.get(f"/projects/{project.id}/export.jsonl?layer=documents") as response:
        assert response.status_code == 200
        assert "filename*=UTF-8''%E6%96%B0%E9%97%BB-documents.jsonl" in response.headers["Content-Disposition"]
        assert json.loads(response.get_data(as_text=True))["id"] == "d1"


def test_download_refuses_annotators_and_unknown_formats(client, auth, team):
    pid = team["project"].id
    auth.login("annotator")
    assert client.get(f"/projects/{pid}/export/download?layer=gold&format=jsonl").status_code == 403
    auth.logout()
    auth.login("carla")
    response = client.get(f"/projects/{pid}/export/download?layer=gold&format=csv")
    assert response.status_code == 400 and "unknown export format" in response.get_data(as_text=True)


def test_api_export_streams_every_format(api, db, team):
    pid = team["project"].id
    headers = bearer(db, team["curator"])
    with api.get(f"/api/v1/projects/{pid}/export?layer=gold&format=doccano", headers=headers) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [line["id"] for line in lines] == ["kestrel-prices", "ostby-mill"]
    with api.get(f"/api/v1/projects/{pid}/export?layer=gold&format=conll", headers=headers) as response:
        assert response.get_data(as_text=True).startswith("# columns = TOKEN\tENTITY\tCLAIM\tCUE")
    response = api.get(f"/api/v1/projects/{pid}/export?layer=silver", headers=headers)
    assert response.status_code == 400 and "layer must be one of" in response.get_json()["error"]
    response = api.get(f"/api/v1/projects/{pid}/export", headers=bearer(db, team["ann"]))
    assert response.status_code == 403


# -- CLI: safe --out, manifest, splits ------------------------------------------------


def test_out_never_overwrites_the_database_or_an_existing_file(app, db, runner, tmp_path):
    make_project(db)
    runner.invoke(args=["import", "news", str(DATA / "layers.jsonl")])
    database = Path(db.get_bind().url.database or "")
    if db.get_bind().url.get_backend_name() == "sqlite":
        size = database.stat().st_size
        for force in ([], ["--force"]):
            result = runner.invoke(args=["export", "news", "--out", str(database), *force])
            assert result.exit_code == 1 and "that is the workbench's database" in result.output
        link = tmp_path / "innocent.jsonl"
        link.symlink_to(database)
        hard = tmp_path / "hard.jsonl"
        hard.hardlink_to(database)
        for target in (link, hard):
            result = runner.invoke(args=["export", "news", "--out", str(target), "--force"])
            assert result.exit_code == 1 and "that is the workbench's database" in result.output
        assert database.stat().st_size == size
    existing = tmp_path / "keep.jsonl"
    existing.write_text("precious\n", encoding="utf-8")
    result = runner.invoke(args=["export", "news", "--out", str(existing)])
    assert result.exit_code == 1 and "keep.jsonl: already exists; pass --force to replace it" in result.output
    assert existing.read_text(encoding="utf-8") == "precious\n"
    result = runner.invoke(args=["export", "news", "--layer", "all", "--out", str(existing), "--force"])
    assert result.exit_code == 0, result.output
    assert existing.read_text(encoding="utf-8") == (DATA / "layers.export-all.jsonl").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_manifest_lists_counts_schema_command_and_checksums(db, runner, tmp_path):
    make_project(db)
    runner.invoke(args=["import", "news", str(DATA / "layers.jsonl")])
    out = tmp_path / "news.conll"
    result = runner.invoke(args=["export", "news", "--layer", "all", "--format", "conll", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "news.conll.manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["files"]
    assert entry["path"] == "news.conll"
    assert entry["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert entry["bytes"] == out.stat().st_size
    assert entry["records"] == 6 and entry["documents"] == 2
    assert entry["labels"]["PERSON"] >= 1 and sum(entry["labels"].values()) == entry["spans"]
    assert manifest["schema"]["name"] == "news"
    assert manifest["format"] == "conll" and manifest["layer"] == "all"
    assert manifest["command"].startswith("workbench ") or manifest["command"]
    assert manifest["workbench_version"]
    assert "sha256" in manifest["guidelines"]
    assert "agreement" in manifest


def test_grouped_split_keeps_each_source_in_one_split(db, runner, tmp_path):
    project = make_project(db)
    for i in range(40):
        make_document(db, project, f"Article {i} about the harbour.", external_id=f"a{i:02d}", meta={"source": f"outlet-{i % 7}"})
    db.commit()
    args = ["export", "news", "--layer", "documents", "--split", "train=0.6,dev=0.2,test=0.2", "--seed", "5", "--group-by", "source"]
    result = runner.invoke(args=[*args, "--out", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 0, result.output
    sources: dict[str, str] = {}
    total = 0
    for name in ("train", "dev", "test"):
        for line in (tmp_path / f"d.{name}.jsonl").read_text(encoding="utf-8").splitlines():
            source = json.loads(line)["meta"]["source"]
            assert sources.setdefault(source, name) == name, f"{source} leaks across splits"
            total += 1
    assert total == 40 and len(set(sources.values())) == 3
    manifest = json.loads((tmp_path / "d.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert [f["split"] for f in manifest["files"]] == ["train", "dev", "test"]
    assert manifest["group_by"] == "source" and manifest["seed"] == 5
    again = runner.invoke(args=[*args, "--out", str(tmp_path / "e.jsonl")])
    assert again.exit_code == 0
    for name in ("train", "dev", "test"):
        assert (tmp_path / f"d.{name}.jsonl").read_bytes() == (tmp_path / f"e.{name}.jsonl").read_bytes()


def test_cli_imports_peer_formats_with_a_label_map_file(db, runner, tmp_path):
    make_project(db)
    task = {"data": {"text": "Ana Berg spoke.", "id": "s1"}, "annotations": [{"completed_by": 2, "result": [
        {"id": "r1", "type": "labels", "value": {"start": 0, "end": 8, "text": "Ana Berg", "labels": ["PER"]}}]}]}
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    result = runner.invoke(args=["import", "news", str(path)])
    assert result.exit_code == 1 and "label 'PER' is not in the project's schema (map it with --label-map PER=LABEL)" in result.output
    mapping = tmp_path / "map.txt"
    mapping.write_text("PER=PERSON\n", encoding="utf-8")
    result = runner.invoke(args=["import", "news", str(path), "--label-map", str(mapping)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 document (0 unchanged), 1 layer from 1 file." in result.output
    result = runner.invoke(args=["import", "news", str(path), "--label-map", "PER"])
    assert result.exit_code == 1 and "no such file, and not THEIRS=OURS pairs" in result.output


def test_export_page_runs_the_export_in_the_background_with_a_download_link(app, client, auth, db, team):
    import time

    auth.login("carla")
    pid = team["project"].id
    page = client.get(f"/projects/{pid}/export").get_data(as_text=True)
    assert 'action="/projects/%d/exports"' % pid in page and 'name="csrf_token"' in page
    response = client.post(f"/projects/{pid}/exports", data={"layer": "all", "format": "labelstudio"})
    assert response.status_code == 302
    job_url = response.headers["Location"]
    status = {}
    for _ in range(100):
        status = client.get(job_url + "/status").get_json()
        if status["status"] != "running":
            break
        time.sleep(0.05)
    assert status["status"] == "done", status
    assert status["done"] == status["total"] == 6
    job_page = client.get(job_url).get_data(as_text=True)
    assert "Done: 6 records." in job_page and "js/export_job.js" in job_page
    with client.get(status["download"]) as download:
        assert download.status_code == 200
        body = download.get_data()
        assert "filename*=UTF-8''%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8-all.json" in download.headers["Content-Disposition"]
    direct = io.BytesIO()
    exporting.write_export(db, team["project"], "all", "labelstudio", direct)
    assert body == direct.getvalue()
    with client.get(status["manifest"]) as response:
        manifest = json.loads(response.get_data())
    assert manifest["files"][0]["sha256"] == hashlib.sha256(body).hexdigest()
    # someone else's job is not found; annotators cannot start one
    auth.logout()
    cleo = make_user(db, "cleo", "curator")
    project_service.add_member(db, team["project"], cleo, "curator")
    db.commit()
    auth.login("cleo")
    assert client.get(job_url + "/status").status_code == 404
    auth.logout()
    auth.login("annotator")
    assert client.post(f"/projects/{pid}/exports", data={"layer": "gold", "format": "jsonl"}).status_code == 403


def test_cli_finds_projects_named_in_any_script_and_case(db, runner, tmp_path):
    make_project(db, "Новости")
    make_project(db, "新闻")
    for name in ("Новости", "новости", "НОВОСТИ", "新闻"):
        result = runner.invoke(args=["export", name, "--layer", "documents", "--out", "-"])
        assert result.exit_code == 0, (name, result.output)


def test_a_large_write_reaches_the_response_a_chunk_at_a_time():
    import queue
    import threading

    from workbench import streaming

    chunks: queue.Queue = queue.Queue()
    sink = streaming._Sink(chunks, threading.Event())
    data = bytes(range(256)) * 1000  # a batch of lines written at once, 256 kB
    assert sink.write(data) == len(data)
    pieces = [chunks.get_nowait() for _ in range(chunks.qsize())]
    assert b"".join(pieces) == data
    assert len(pieces) == 4 and max(len(p) for p in pieces) <= streaming.CHUNK
