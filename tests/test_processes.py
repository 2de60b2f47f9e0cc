"""App servers hold no state: two gunicorn processes on one PostgreSQL database behave as one app.

A session started on one process works on the other and ends on both at
logout; saves through both land, none lost; login back-off counts across
both.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import FAST_HASH
from factories import PASSWORD
from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from dbtools import truncate_postgres
from workbench.db import make_engine
from workbench.models import AnnotationSet
from workbench.models import Span
from workbench.services import users as user_service
from workbench.testing import free_port

pytestmark = pytest.mark.slow

TEXT = "Rasmus Holt of Vantor Shipping said the canal reopens next week. " * 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie jar and CSRF token, like a browser tab; :meth:`on` picks which process it talks to."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, base: str, method: str, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")

    def login(self, base: str, username: str, password: str = PASSWORD) -> int:
        _status, page = self.request(base, "GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
        status, _ = self.request(base, "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        return status

    def csrf(self, base: str) -> str:
        _status, page = self.request(base, "GET", "/account")
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _api(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, text = Browser().request(base, method, path, data, headers)
    return status, json.loads(text)


@pytest.fixture
def two_servers(postgres_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two gunicorn processes (one worker each) on one PostgreSQL database; their base URLs."""
    truncate_postgres(postgres_url)
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": postgres_url,
        "WORKBENCH_SECRET_KEY": "one-secret-for-every-app-server",
        "WORKBENCH_SESSION_COOKIE_SECURE": "false",
        "WORKBENCH_PASSWORD_HASH_METHOD": FAST_HASH,
        "WORKBENCH_INSTANCE": str(tmp_path / "instance"),
    }
    processes = []
    bases = []
    for _ in range(2):
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{port}", "workbench.wsgi:app"]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base, process in zip(bases, processes):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if Browser().request(base, "GET", "/login")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
            process.stderr.close()


@pytest.fixture
def seeded(postgres_url: str, two_servers: list[str]) -> dict[str, Any]:
    engine = make_engine(postgres_url)
    db = sessionmaker(engine, expire_on_commit=False)()
    ann = make_user(db, "ann")
    bob = make_user(db, "bob")
    project = make_project(db, "news", members=[ann, bob])
    doc = make_document(db, project, TEXT, external_id="canal")
    tokens = {u.username: user_service.create_token(db, u, "procs") for u in (ann, bob)}
    db.commit()
    yield {"db": db, "project": project, "doc": doc, "tokens": tokens}
    db.close()
    engine.dispose()


def test_a_session_started_on_one_process_works_on_the_other_and_ends_on_both(two_servers, seeded):
    a, b = two_servers
    tab = Browser()
    assert tab.login(a, "ann") == 302
    assert tab.request(b, "GET", "/api/v1/me")[0] == 200
    stolen = Browser()
    for cookie in tab.jar:
        stolen.jar.set_cookie(cookie)
    token = tab.csrf(b)
    assert tab.request(b, "POST", "/logout", urllib.parse.urlencode({"csrf_token": token}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})[0] == 302
    assert stolen.request(a, "GET", "/api/v1/me")[0] == 401
    assert stolen.request(b, "GET", "/api/v1/me")[0] == 401


def test_login_back_off_counts_across_processes(two_servers, seeded):
    a, b = two_servers
    for i in range(5):
        assert Browser().login(a if i % 2 else b, "ann", "wrong-guess-000") == 200
    refused = Browser()
    assert refused.login(a, "ann") == 429
    assert refused.login(b, "ann") == 429


def test_saves_through_both_processes_all_land(two_servers, seeded):
    a, b = two_servers
    tokens = seeded["tokens"]
    path = f"/api/v1/projects/{seeded['project'].id}/documents/{seeded['doc'].id}/annotate"
    layer_id = _api(a, "GET", path, tokens["ann"])[1]["layer"]["id"]
    acked: list[str] = []
    conflicts: list[int] = []
    errors: list[str] = []

    def writer(name: str, base: str, offset: int) -> None:
        """Save 15 spans on ann's one layer through ``base``, rebasing on a 409 as the page does."""
        version = _api(base, "GET", f"/api/v1/layers/{layer_id}", tokens["ann"])[1]["layer"]["version"]
        for n in range(15):
            uid = f"{name}-{n}"
            op = {"op": "span.create", "id": uid, "label": "PERSON", "start": offset + n, "end": offset + n + 1}
            for _attempt in range(50):
                status, body = _api(base, "PATCH", f"/api/v1/layers/{layer_id}/ops", tokens["ann"], {"base_version": version, "batch_id": uid, "ops": [op]})
                if status == 200:
                    version = body["version"]
                    acked.append(uid)
                    break
                if status == 409:
                    conflicts.append(1)
                    version = body["current_version"]
                    continue
                errors.append(f"{status} {body}")
                return

    threads = [threading.Thread(target=writer, args=("a", a, 0)), threading.Thread(target=writer, args=("b", b, 100))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(acked) == 30
    db = seeded["db"]
    db.expire_all()
    assert set(db.scalars(select(Span.uid).where(Span.set_id == layer_id))) == set(acked)
    assert db.get(AnnotationSet, layer_id).version == 30
