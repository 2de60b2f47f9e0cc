"""Changed layers' JSONL lines stored after each commit, so the next export copies them (SQLite and PostgreSQL).

``workbench.records_keeper`` builds them the way an export does; the tests
plant a marker in the stored lines to see that the next export copies every
one of them, and compare them with the lines an export builds afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from apiclient import Api
from dbtools import make_test_app
from factories import make_user
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from test_export import _rich_project
from test_export import jsonl_bytes
from test_export_lines import export
from test_export_lines import plant
from test_export_lines import planted
from test_export_lines import truth
from workbench import create_app
from workbench.db import records_keeper
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import ExportDocumentLine
from workbench.models import ExportLine
from workbench.models import User
from workbench.services import annotation
from workbench.services import exporting
from workbench.services import importing
from workbench.services import projects as project_service
from workbench.services import users as user_service


@contextmanager
def keeper_app(database_url: str, tmp_path: Path, mode: str) -> Iterator[tuple[Any, Any]]:
    """(app, session): the test app with ``EXPORT_RECORDS`` set to ``mode``, and a session of its sessionmaker."""
    app = make_test_app(database_url, tmp_path / f"instance-{mode}", EXPORT_RECORDS=mode)
    session = app.extensions["workbench.sessionmaker"]()
    try:
        yield app, session
    finally:
        session.close()
        records_keeper(app).stop()
        app.extensions["workbench.engine"].dispose()


@pytest.fixture(params=["background", "now"])
def kept(request, database_url, tmp_path):
    """(app, session) with the keeper on, in the background and in the committing thread."""
    with keeper_app(database_url, tmp_path, request.param) as opened:
        yield opened


def stored(session) -> dict[int, str]:
    """Return the stored JSONL lines by layer id."""
    session.expire_all()
    return dict(session.execute(select(ExportLine.set_id, ExportLine.line).where(ExportLine.format == "jsonl")).all())


def exportable(session) -> set[int]:
    """Return the ids of the layers an export of ``all`` writes."""
    return set(session.scalars(select(AnnotationSet.id).where(*exporting._set_filter("all"))))


def built_by_an_export(session, tmp_path, project) -> dict[int, str]:
    """Forget every stored line, export (which builds and stores them all), and return what it stored."""
    session.execute(delete(ExportLine))
    session.commit()
    export(session, tmp_path, project=project)
    return stored(session)


def rich_with_nothing_stored(app, session) -> tuple[Any, Any]:
    """Import the rich project, let the keeper store its lines, then forget them; return the project and the keeper."""
    project = _rich_project(session)
    keeper = records_keeper(app)
    assert keeper.wait(30)
    session.execute(delete(ExportLine))
    session.commit()
    return project, keeper


def test_an_import_stores_the_lines_of_its_layers_and_the_export_copies_them(kept, tmp_path):
    app, session = kept
    project = _rich_project(session)  # imported through importing.import_stream, then committed
    assert records_keeper(app).wait(30)
    lines = stored(session)
    assert set(lines) == exportable(session) and len(lines) == 7
    # the very lines an export builds, byte for byte
    assert built_by_an_export(session, tmp_path, project) == lines
    # and the export copies every one of them: none is built again
    assert plant(session) == len(lines)
    text, _counts = export(session, tmp_path, project=project)
    assert len(planted(text)) == len(lines)


def test_a_save_stores_its_layer_line_and_nothing_else_is_built(kept, tmp_path):
    app, session = kept
    project = _rich_project(session)
    keeper = records_keeper(app)
    assert keeper.wait(30)
    gold = session.scalars(
        select(AnnotationSet).join(Document).where(Document.external_id == "b-plain", AnnotationSet.kind == "gold")
    ).one()
    curator = make_user(session, "cur", role="curator")
    project_service.add_member(session, project, curator)
    session.commit()
    plant(session)  # every line a marker: a line rebuilt after the save is the real one again
    annotation.apply_ops(session, curator, gold.id, gold.version, "b1",
                         [{"op": "span.create", "id": "T9", "start": 59, "end": 66, "label": "ORG"}])
    session.commit()
    assert keeper.wait(30)
    lines = stored(session)
    assert '"T9"' in lines[gold.id] and "planted" not in lines[gold.id]
    assert all("planted" in line for set_id, line in lines.items() if set_id != gold.id)
    # what was stored is what an export builds for that layer now
    text, _counts = export(session, tmp_path, project=project)
    assert lines[gold.id] in text.splitlines()
    assert len(planted(text)) == len(lines) - 1


def test_a_rolled_back_change_builds_nothing(kept):
    app, session = kept
    project, keeper = rich_with_nothing_stored(app, session)
    built = keeper.built
    gold = session.scalars(select(AnnotationSet).where(AnnotationSet.kind == "gold")).first()
    curator = make_user(session, "cur2", role="curator")
    project_service.add_member(session, project, curator)
    session.commit()
    annotation.apply_ops(session, curator, gold.id, gold.version, "b2", [{"op": "layer.update", "note": "never kept"}])
    session.rollback()
    session.commit()  # a later commit of nothing does not build what was rolled back
    assert keeper.wait(30)
    assert keeper.built == built and stored(session) == {}


def test_a_bad_file_leaves_no_line_and_the_good_files_before_it_keep_theirs(kept, tmp_path):
    app, session = kept
    project, keeper = rich_with_nothing_stored(app, session)
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl_bytes({"id": "n1", "text": "Lena Holm said so.", "layer": "gold",
                                  "spans": [{"start": 0, "end": 9, "label": "PERSON"}]}))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl_bytes({"id": "n2", "text": "Kai Lund said so.", "layer": "gold",
                                 "spans": [{"start": 0, "end": 7, "label": "PERSON"}]}) + b"{not json\n")
    with pytest.raises(importing.ImportError_):
        importing.import_paths(session, project, [good, bad])
    session.commit()  # the good file stays, as the command commits it
    assert keeper.wait(30)
    lines = stored(session)
    n1 = session.scalar(select(AnnotationSet.id).join(Document).where(Document.external_id == "n1"))
    assert list(lines) == [n1]
    assert session.scalar(select(func.count()).select_from(Document).where(Document.external_id == "n2")) == 0


def test_a_save_through_the_api_stores_the_line_after_the_response(database_url, tmp_path):
    with keeper_app(database_url, tmp_path, "background") as (app, session):
        project = _rich_project(session)
        keeper = records_keeper(app)
        assert keeper.wait(30)
        ingrid = session.scalar(select(User).where(User.username == "ingrid"))
        ingrid.active = True  # the import made her account, inactive until an admin opens it
        token = user_service.create_token(session, ingrid, "tests")
        layer = session.scalars(
            select(AnnotationSet).join(Document).where(Document.external_id == "e-😀", AnnotationSet.user_id == ingrid.id)
        ).one()
        session.commit()
        plant(session)
        response = Api(app).open("PATCH", f"/api/v1/layers/{layer.id}/ops", token, json={
            "base_version": layer.version, "batch_id": "api-1",
            "ops": [{"op": "span.create", "id": "x1", "start": 9, "end": 13, "label": "CUE"}],
        })
        assert response.status_code == 200, response.get_json()
        assert keeper.wait(30)
        lines = stored(session)
        assert "planted" not in lines[layer.id] and '"x1"' in lines[layer.id]
        text, _counts = export(session, tmp_path, project=project)
        assert lines[layer.id] in text.splitlines() and len(planted(text)) == len(lines) - 1
        assert lines[layer.id] in truth(session, project).splitlines()


def test_off_stores_nothing_until_an_export(database_url, tmp_path):
    with keeper_app(database_url, tmp_path, "off") as (app, session):
        project = _rich_project(session)
        assert stored(session) == {}
        export(session, tmp_path, project=project)
        assert set(stored(session)) == exportable(session)


def test_refresh_builds_only_missing_or_stale_lines(kept, tmp_path):
    app, session = kept
    project = _rich_project(session)
    assert records_keeper(app).wait(30)
    layers = sorted(exportable(session))
    assert exporting.refresh_stored_lines(session, layers) == 0  # all good already
    session.execute(delete(ExportLine).where(ExportLine.set_id == layers[0]))
    session.commit()
    assert exporting.refresh_stored_lines(session, layers) == 1
    # a layer no export writes is skipped; a stop asked for builds nothing more
    session.execute(delete(ExportLine))
    session.commit()
    assert exporting.refresh_stored_lines(session, layers, stop=lambda: True) == 0
    assert stored(session) == {}
    assert exporting.refresh_stored_lines(session, layers) == len(layers)
    assert built_by_an_export(session, tmp_path, project) == stored(session)


def test_a_bad_setting_is_refused_when_the_app_starts(tmp_path):
    with pytest.raises(ValueError, match="EXPORT_RECORDS must be one of background, now, off"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
                    "EXPORT_RECORDS": "sometimes"})


def test_the_import_command_returns_once_the_lines_are_stored(database_url, tmp_path, monkeypatch):
    from workbench import records_keeper as keeper_module

    monkeypatch.setattr(keeper_module, "SETTLE", 0.5)  # the thread would still be waiting, were the command not to
    with keeper_app(database_url, tmp_path, "background") as (app, session):
        from factories import make_project

        make_project(session)
        session.commit()
        source = tmp_path / "layers.jsonl"
        source.write_bytes(jsonl_bytes(
            {"id": "k1", "text": "Lena Holm said so 😀.", "layer": "gold", "spans": [{"start": 0, "end": 9, "label": "PERSON"}]},
            {"id": "k2", "text": "Kai Lund said\r\nso.", "layer": "prediction", "annotator": "ner",
             "spans": [{"start": 0, "end": 8, "label": "PERSON"}]},
        ))
        result = app.test_cli_runner().invoke(args=["import", "news", str(source)])
        assert result.exit_code == 0, result.output
        lines = stored(session)
        assert set(lines) == exportable(session) and len(lines) == 2


def test_a_forked_process_starts_its_own_thread(database_url, tmp_path):
    import os

    with keeper_app(database_url, tmp_path, "background") as (app, session):
        project = _rich_project(session)
        keeper = records_keeper(app)
        assert keeper.wait(30)
        keeper._lock.acquire()  # as if the parent's thread held it when the process forked
        keeper._pid = os.getpid() + 1
        session.execute(delete(ExportLine))
        session.commit()
        gold = session.scalars(select(AnnotationSet).where(AnnotationSet.kind == "gold")).first()
        curator = make_user(session, "cur3", role="curator")
        project_service.add_member(session, project, curator)
        session.commit()
        annotation.apply_ops(session, curator, gold.id, gold.version, "f1", [{"op": "layer.update", "note": "after the fork"}])
        session.commit()  # would wait forever on the inherited lock
        assert keeper.wait(30) and keeper._pid == os.getpid()
        assert "after the fork" in stored(session)[gold.id]


READY = ["jsonl", "conll", "brat", "labelstudio", "doccano"]


def test_a_project_keeps_every_format_it_names_ready(kept, tmp_path, monkeypatch):
    from test_export_lines import export_bytes
    from test_export_lines import truth_bytes

    app, session = kept
    project = _rich_project(session, ready_formats=READY)
    assert records_keeper(app).wait(30)
    layers = exportable(session)
    for fmt in READY:  # every layer's record in every format, and each document's own for Label Studio's tasks
        session.expire_all()
        assert set(session.scalars(select(ExportLine.set_id).where(ExportLine.format == fmt))) == layers, fmt
    documents = len(set(session.scalars(select(AnnotationSet.document_id).where(AnnotationSet.id.in_(layers)))))
    assert documents == 4  # the document with no layer is not one a change touched
    assert session.scalar(select(func.count()).select_from(ExportDocumentLine).where(ExportDocumentLine.format == "labelstudio")) == documents
    built: list[str] = []
    complete, complete_plain = exporting.LineStore.complete, exporting.LineStore.complete_plain

    def counting(self, batch):
        built.extend(f"{self.fmt} layer" for document in batch for item in document.layers if item.line is None)
        return complete(self, batch)

    def counting_plain(self, parts):
        built.extend(f"{self.fmt} document" for _part in parts)
        return complete_plain(self, parts)

    monkeypatch.setattr(exporting.LineStore, "complete", counting)
    monkeypatch.setattr(exporting.LineStore, "complete_plain", counting_plain)
    for fmt in READY:
        for layer in ("gold", "annotators", "predictions"):
            data, _result = export_bytes(session, tmp_path, fmt, layer, project)
            truth, _problems = truth_bytes(session, project, fmt, layer)
            assert data == truth, (fmt, layer)
    assert built == []  # the first export in each format copied what was kept ready


def test_a_project_that_keeps_no_format_ready_stores_nothing(kept):
    app, session = kept
    _rich_project(session, ready_formats=[])
    assert records_keeper(app).wait(30)
    assert session.scalar(select(func.count()).select_from(ExportLine)) == 0


def test_a_format_added_to_those_kept_ready_has_its_records_built_at_once(kept, tmp_path):
    app, session = kept
    project = _rich_project(session)
    assert records_keeper(app).wait(30)
    result = app.test_cli_runner().invoke(args=["projects", "set", project.name, "--ready-formats", "jsonl,conll"])
    assert result.exit_code == 0 and "export formats kept ready: jsonl, conll." in result.output, result.output
    session.expire_all()
    conll = set(session.scalars(select(ExportLine.set_id).where(ExportLine.format == "conll")))
    assert conll == exportable(session)  # the command returned once they were stored
    # taking a format away builds nothing; adding none that is new builds nothing either
    assert exporting.set_ready_formats(session, project, ["jsonl"]) == 0
    assert exporting.set_ready_formats(session, project, "jsonl") == 0
    assert exporting.set_ready_formats(session, project, ["doccano", "jsonl"]) == len(conll)
    session.commit()
    assert records_keeper(app).wait(30)
    session.expire_all()
    assert set(session.scalars(select(ExportLine.set_id).where(ExportLine.format == "doccano"))) == conll
