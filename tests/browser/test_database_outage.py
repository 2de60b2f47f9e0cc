"""The database goes away while an annotator works: the page keeps the unsaved change (outbox in
localStorage, shown as unsaved) through the server's 503s and saves it once the database is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import login
from conftest import open_annotate
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

import factories
from workbench import create_app
from workbench.db import make_engine
from workbench.models import AnnotationSet
from workbench.models import Span
from workbench.testing import LiveServer
from workbench.testing import TcpProxy

TEXT = "Greta Voss said the tram line opens in spring."


@pytest.fixture
def outage_server(postgres_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, TcpProxy, Any]]:
    """The app (CSRF on) on PostgreSQL through a proxy the test can cut; a Session straight to the database."""
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    app = create_app(
        {
            "SECRET_KEY": "outage-test",
            "DATABASE_URL": url.set(port=proxy.port).render_as_string(hide_password=False),
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": True,
            "PASSWORD_HASH_METHOD": factories.FAST_HASH,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    direct = make_engine(postgres_url)
    db = sessionmaker(direct, expire_on_commit=False)()
    with LiveServer(app, server="waitress") as server:
        yield server, proxy, db
    db.close()
    direct.dispose()
    if proxy.listener is not None:
        proxy.cut()
    app.extensions["workbench.engine"].dispose()


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_page_keeps_unsaved_work_while_the_database_is_away(page: Any, outage_server) -> None:
    server, proxy, db = outage_server
    tag = uuid.uuid4().hex[:8]  # the session's PostgreSQL database is shared: unique names
    user = factories.make_user(db, f"greta-{tag}")
    project = factories.make_project(db, f"trams-{tag}", members=[user])
    doc = factories.make_document(db, project, TEXT, external_id="tram")
    login(page, server, user.username)
    open_annotate(page, server, project.id, doc.id)

    proxy.cut()
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/ops" in r.url else None)
    start = TEXT.index("Greta Voss")
    select_cp(page, start, start + len("Greta Voss"))
    page.keyboard.press("p")
    page.wait_for_function("() => document.querySelector('#wb-status').textContent.startsWith('Unsaved: 1 change')")
    page.wait_for_timeout(500)
    assert 503 in answers  # the server said so clearly, not a 500
    outbox = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('wb-outbox-')).length")
    assert outbox == 1
    mine = select(Span).join(AnnotationSet).where(AnnotationSet.document_id == doc.id)
    db.expire_all()
    assert db.scalars(mine).all() == []

    proxy.start()
    page.keyboard.press("Control+s")
    wait_saved(page)
    db.expire_all()
    assert [(s.label, s.start, s.end) for s in db.scalars(mine)] == [("PERSON", 0, 10)]
