"""Faults: the server killed (SIGKILL) during saves, the database going away, a migration of a
populated database.  None may lose an acknowledged save or leave a layer half-written."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from apiclient import ERROR_KEYS
from apiclient import Api
from factories import FAST_HASH
from factories import make_document
from factories import make_layer
from factories import make_project
from factories import make_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from dbtools import PG_ADMIN_URL
from dbtools import truncate_postgres
from dbtools import make_test_app
from workbench import migrate
from workbench.db import make_engine
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Change
from workbench.models import Relation
from workbench.models import Span
from workbench.services import users as user_service
from workbench.testing import TcpProxy
from workbench.testing import free_port

TEXT = "Ilse Marr of the Oxbury Growers said the harvest fell by a third. " * 12
BATCH = 5


def _request(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if response.headers.get_content_type() == "application/json" else data
    finally:
        conn.close()


# -- SIGKILL during saves ---------------------------------------------------------


class Saver(threading.Thread):
    """Save batches of five new spans to one layer until the server dies."""

    def __init__(self, port: int, token: str, layer_id: int, name: str):
        super().__init__(daemon=True)
        self.port, self.token, self.layer_id, self.name = port, token, layer_id, name
        self.acked: list[str] = []

    def run(self) -> None:
        version, n = 0, 0
        while n + BATCH < len(TEXT):
            ops = [
                {"op": "span.create", "id": f"{self.name}-{n + i}", "label": "PERSON", "start": n + i, "end": n + i + 1}
                for i in range(BATCH)
            ]
            try:
                status, body = _request(
                    self.port, "PATCH", f"/api/v1/layers/{self.layer_id}/ops", self.token,
                    {"base_version": version, "batch_id": f"{self.name}-b{n}", "ops": ops},
                )
            except OSError:
                return  # the server is gone
            if status != 200:
                return
            self.acked.extend(op["id"] for op in ops)
            version = body["version"]
            n += BATCH


def _serve(database_url: str, instance: Path, port: int) -> subprocess.Popen:
    """Start ``workbench serve`` (waitress) in a process of its own and wait until it answers."""
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE": str(instance),
        "WORKBENCH_SECRET_KEY": "fault-tests",
        "WORKBENCH_PASSWORD_HASH_METHOD": FAST_HASH,
    }
    script = Path(sys.executable).parent / "workbench"
    log = instance.parent / f"serve-{port}.log"
    with log.open("ab") as fh:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([str(script), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=fh)
    deadline = time.monotonic() + 60
    while True:
        try:
            if _request(port, "GET", "/login")[0] == 200:
                return process
        except OSError:
            pass
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def test_sigkill_during_saves_leaves_no_half_written_layer_and_the_server_serves_again(database_url, db, tmp_path):
    names = ["ann", "bob", "cy"]
    users = [make_user(db, name) for name in names]
    project = make_project(db, "news", members=users)
    doc = make_document(db, project, TEXT, external_id="harvest")
    layers = {u.username: make_layer(db, doc, "annotator", user=u, status="new").id for u in users}
    tokens = {u.username: user_service.create_token(db, u, "faults") for u in users}
    db.commit()
    port = free_port()
    server = _serve(database_url, tmp_path / "instance", port)
    try:
        savers = [Saver(port, tokens[name], layers[name], name) for name in names]
        for s in savers:
            s.start()
        deadline = time.monotonic() + 60
        while sum(len(s.acked) for s in savers) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(server.pid, signal.SIGKILL)  # in the middle of saves
        server.wait(timeout=10)
        for s in savers:
            s.join(timeout=30)
        acked = {uid for s in savers for uid in s.acked}
        assert len(acked) >= 30

        server = _serve(database_url, tmp_path / "instance", port)
        db.expire_all()
        present = set(db.scalars(select(Span.uid)))
        assert acked <= present, f"acknowledged saves lost: {sorted(acked - present)[:5]}"
        for name in names:
            layer = db.get(AnnotationSet, layers[name])
            count = len(db.scalars(select(Span.id).where(Span.set_id == layer.id)).all())
            assert count == BATCH * layer.version, f"{name}'s layer is half-written: {count} spans at version {layer.version}"
        # The restarted server takes saves again.
        layer = db.get(AnnotationSet, layers["ann"])
        status, body = _request(
            port, "PATCH", f"/api/v1/layers/{layer.id}/ops", tokens["ann"],
            {"base_version": layer.version, "batch_id": "after-restart", "ops": [
                {"op": "span.create", "id": "after", "label": "ORG", "start": 0, "end": 4}]},
        )
        assert status == 200, body
    finally:
        server.kill()
        server.wait(timeout=10)


# -- the database going away ------------------------------------------------------


@pytest.fixture
def proxied(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Any, TcpProxy, Session]]:
    """The app on PostgreSQL through a proxy the test can cut; a Session straight to the database."""
    truncate_postgres(postgres_url)
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    app = make_test_app(url.set(port=proxy.port).render_as_string(hide_password=False), tmp_path / "instance")
    direct = make_engine(postgres_url)
    db = sessionmaker(direct, expire_on_commit=False)()
    yield app, proxy, db
    db.close()
    direct.dispose()
    if proxy.listener is not None:
        proxy.cut()
    app.extensions["workbench.engine"].dispose()


# The driver leaves the socket of the connection the fault killed to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_database_going_away_gives_a_clear_503_and_saves_land_when_it_returns(proxied):
    app, proxy, db = proxied
    ann = make_user(db, "ann")
    project = make_project(db, "news", members=[ann])
    doc = make_document(db, project, "Tess Abe said the ferry runs again.", external_id="ferry")
    token = user_service.create_token(db, ann, "t")
    db.commit()
    api = Api(app)
    layer_id = api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}/annotate", token=token).get_json()["layer"]["id"]
    api.login("ann")
    save = {"base_version": 0, "batch_id": "while-down", "ops": [{"op": "span.create", "id": "t", "label": "PERSON", "start": 0, "end": 8}]}

    proxy.cut()
    down = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", token, json=save)
    assert down.status_code == 503
    assert set(down.get_json()) == ERROR_KEYS
    assert down.get_json()["error"] == "the database is unavailable or busy; nothing was lost, try again in a moment"
    assert down.headers["Retry-After"] == "5"
    page = api.get("/")
    assert page.status_code == 503
    assert "The database is unavailable" in page.get_data(as_text=True)

    proxy.start()
    again = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", token, json=save)  # the outbox retries the same batch
    assert again.status_code == 200, again.get_json()
    assert api.get("/").status_code == 200
    db.expire_all()
    assert [s.uid for s in db.scalars(select(Span))] == ["t"]


# -- a migration of a populated database ---------------------------------------------


def _layer_0002(db: Session, document_id: int, kind: str, owner: str, user_id: int | None, spans: int, status: str) -> Any:
    """Store a layer with one-character PERSON spans (as ``make_layer``), in Core naming only the
    columns revision 0002 has (the models have grown since: notes)."""
    set_id = db.execute(
        sa.insert(AnnotationSet.__table__)
        .values(document_id=document_id, kind=kind, owner_key=owner, user_id=user_id, status=status, status_note="",
                version=0, created_at=sa.func.now(), updated_at=sa.func.now())
        .returning(AnnotationSet.__table__.c.id)
    ).scalar_one()
    for i in range(spans):
        db.execute(sa.insert(Span.__table__).values(set_id=set_id, uid=f"T{i + 1}", label="PERSON", start=i, end=i + 1, attrs={}))
    db.flush()
    return SimpleNamespace(id=set_id)


def _populate(db: Session) -> None:
    """Annotators' layers with spans, a relation and an attribution, and history, on two documents."""
    ann = make_user(db, "ann")
    cur = make_user(db, "cur", "curator")
    project = make_project(db, "news", members=[ann, cur])
    for i in range(2):
        doc = make_document(db, project, f"Ruth Pell {i} told the Lanark Post the plan is 😀 done.", external_id=f"d{i}")
        layer = _layer_0002(db, doc.id, "annotator", f"annotator:{ann.id}", ann.id, spans=4, status="in_progress")
        gold = _layer_0002(db, doc.id, "gold", "gold", None, spans=2, status="adjudicated")
        spans = db.execute(select(Span.id).where(Span.set_id == layer.id).order_by(Span.id)).all()
        db.add(Relation(set_id=layer.id, uid="R1", type="member_of", head_id=spans[0].id, tail_id=spans[1].id, attrs={"n": i}))
        # Core, naming only the columns revision 0002 has (the models have grown since: parent_id).
        attribution_id = db.execute(
            sa.insert(Attribution.__table__)
            .values(set_id=layer.id, uid="A1", source_id=spans[0].id, cue_id=spans[2].id, attrs={})
            .returning(Attribution.__table__.c.id)
        ).scalar_one()
        db.add(AttributionContent(attribution_id=attribution_id, span_id=spans[3].id, position=0))
        db.add(Change(set_id=gold.id, action="replace", version=1, payload={"spans": 2}))
    db.commit()


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of the annotation tables, in id order."""
    out = {}
    with engine.connect() as conn:
        for model in (AnnotationSet, Span, Relation, Attribution, AttributionContent, Change):
            table = model.__table__
            # Columns added after revision 0002 are not in the source database.
            columns = [c for c in table.columns if c.name not in ("assigned_by_id", "parent_id", "note")]
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(table.c.id))]
    return out


def test_migrating_a_copy_of_a_populated_sqlite_database_keeps_every_annotation(tmp_path):
    original = tmp_path / "populated.sqlite3"
    engine = make_engine(f"sqlite:///{original}")
    migrate.upgrade(engine, "0002")
    with Session(engine) as db:
        _populate(db)
    before = _snapshot(engine)
    engine.dispose()
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(original, copy)
    copied = make_engine(f"sqlite:///{copy}")
    migrate.upgrade(copied)
    assert migrate.current_revision(copied) == migrate.HEAD_REVISION
    assert _snapshot(copied) == before
    assert sum(len(rows) for rows in before.values()) > 20
    copied.dispose()


def test_migrating_a_copy_of_a_populated_postgresql_database_keeps_every_annotation(postgres_url):
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    suffix = os.getpid()
    names = [f"wb_mig_src_{suffix}", f"wb_mig_copy_{suffix}"]
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{names[0]}"')
        source = make_engine(f"{base}/{names[0]}")
        migrate.upgrade(source, "0002")
        with Session(source) as db:
            _populate(db)
        before = _snapshot(source)
        source.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"')
        copied = make_engine(f"{base}/{names[1]}")
        migrate.upgrade(copied)
        assert migrate.current_revision(copied) == migrate.HEAD_REVISION
        assert _snapshot(copied) == before
        copied.dispose()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
