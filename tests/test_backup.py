"""``workbench backup`` while annotators save, then ``workbench restore``: every save acknowledged
before the backup began is back, and no layer is half-written."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from apiclient import Api
from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import select

from workbench import backup
from workbench.db import make_engine
from workbench.models import AnnotationSet
from workbench.models import Span
from workbench.services import users as user_service
from workbench.testing import LiveServer

TEXT = "Lotta Fenn of the Corven Dockworkers said the strike ends on Friday. " * 20


class Writer(threading.Thread):
    """One annotator saving a new one-character span per request until told to stop."""

    def __init__(self, port: int, token: str, layer_id: int, name: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.token, self.layer_id, self.name, self.stop = port, token, layer_id, name, stop
        #: (span id, time the save was acknowledged)
        self.acked: list[tuple[str, float]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        version = 0
        n = 0
        while not self.stop.is_set() and n < len(TEXT) - 1:
            uid = f"{self.name}-{n}"
            body = {
                "base_version": version,
                "batch_id": uid,
                "ops": [{"op": "span.create", "id": uid, "label": "PERSON", "start": n, "end": n + 1}],
            }
            conn.request(
                "PATCH",
                f"/api/v1/layers/{self.layer_id}/ops",
                body=json.dumps(body),
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            data = json.loads(response.read())
            if response.status != 200:
                self.errors.append(f"{response.status}: {data}")
                return
            self.acked.append((uid, time.monotonic()))
            version = data["version"]
            n += 1
        conn.close()


def _wait_for(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_backup_under_write_load_restores_every_acknowledged_save(app, db, runner, tmp_path: Path):
    names = ["ann", "bob", "cy"]
    users = [make_user(db, name) for name in names]
    project = make_project(db, "news", members=users)
    doc = make_document(db, project, TEXT, external_id="strike")
    tokens = {u.username: user_service.create_token(db, u, "load") for u in users}
    db.commit()
    api = Api(app)
    layers = {
        name: api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}/annotate", token=tokens[name]).get_json()["layer"]["id"]
        for name in names
    }
    stop = threading.Event()
    path = tmp_path / "under-load.backup"
    with LiveServer(app, server="waitress", threads=4) as server:
        writers = [Writer(server.port, tokens[name], layers[name], name, stop) for name in names]
        for w in writers:
            w.start()
        _wait_for(lambda: sum(len(w.acked) for w in writers) >= 10 or any(w.errors for w in writers))
        backup_started = time.monotonic()
        result = runner.invoke(args=["backup", str(path)])
        backup_ended = time.monotonic()
        _wait_for(lambda: any(at > backup_ended for w in writers for _uid, at in w.acked) or any(w.errors for w in writers))
        stop.set()
        for w in writers:
            w.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Backed up ")
    assert not [e for w in writers for e in w.errors]
    before = {uid for w in writers for uid, at in w.acked if at < backup_started}
    after = [uid for w in writers for uid, at in w.acked if at > backup_ended]
    assert len(before) >= 10 and after, "the writers must save before and after the backup"

    db.close()
    restored = runner.invoke(args=["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    db.expire_all()
    present = set(db.scalars(select(Span.uid)))
    assert before <= present, f"lost acknowledged saves: {sorted(before - present)[:5]}"
    assert not set(after) <= present  # the restore really went back to the backup
    for layer in db.scalars(select(AnnotationSet)):
        spans = db.scalar(select(Span.id).where(Span.set_id == layer.id).limit(1))
        count = len(db.scalars(select(Span.id).where(Span.set_id == layer.id)).all())
        assert count == layer.version, f"layer {layer.id} is half-written: {count} spans at version {layer.version}"
        assert spans is not None or layer.version == 0
    # The app serves from the restored database.
    assert api.get(f"/api/v1/layers/{layers['ann']}", token=tokens["ann"]).status_code == 200


def test_restore_refuses_what_is_not_a_workbench_backup(runner, tmp_path: Path):
    missing = runner.invoke(args=["restore", str(tmp_path / "nope.backup"), "--yes"])
    assert missing.exit_code == 1 and "no such file" in missing.output
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    refused = runner.invoke(args=["restore", str(other), "--yes"])
    assert refused.exit_code == 1


def test_without_pg_dump_the_command_is_printed(postgres_url, monkeypatch, tmp_path: Path):
    engine = make_engine(postgres_url)
    monkeypatch.setattr(backup.shutil, "which", lambda _name: None)
    with pytest.raises(backup.ToolMissing) as caught:
        backup.backup(engine, tmp_path / "x.dump")
    engine.dispose()
    assert caught.value.command.startswith("pg_dump --format=custom --no-owner --file ")
    assert "postgresql://" in caught.value.command and "+psycopg" not in caught.value.command
