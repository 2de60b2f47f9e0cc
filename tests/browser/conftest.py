"""Fixtures for the browser tests: a live server on SQLite and Debian's Chromium via Playwright.

The server runs the real app (CSRF on) in a thread on a free port; each test
seeds its own users, project and documents through ``store`` so tests never
share state.  Skips cleanly when Chromium or Playwright is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import factories
from workbench import create_app
from workbench import migrate
from workbench.db import make_engine
from workbench.models import AnnotationSet
from workbench.testing import CHROMIUM
from workbench.testing import LiveServer
from workbench.testing import chromium


def live_app(db_path: Path, extra: dict[str, Any] | None = None) -> Flask:
    """Create a migrated SQLite database and the app on it (CSRF on, as in production)."""
    engine = make_engine(f"sqlite:///{db_path}")
    migrate.upgrade(engine)
    engine.dispose()
    config = {
        "SECRET_KEY": "browser-test-secret",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "WTF_CSRF_ENABLED": True,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(extra or {})
    app = create_app(config)
    app.instance_path = str(db_path.parent / "instance")
    return app


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served on a free port (SQLite, CSRF on), for the whole session."""
    app = live_app(tmp_path_factory.mktemp("live") / "live.sqlite3")
    with LiveServer(app) as server:
        yield server
    app.extensions["workbench.engine"].dispose()


@pytest.fixture
def store(live: LiveServer) -> Iterator[Session]:
    """A Session on the live server's database, for seeding and asserting."""
    session = live.app.extensions["workbench.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    pytest.importorskip("playwright.sync_api")
    with chromium() as browser:
        yield browser


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies and localStorage), 1280x800."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1, reduced_motion="reduce")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A page that fails the test on any JavaScript error."""
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # The CSP forbids inline scripts and styles: a violation shows up as a console error.
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None)
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


@dataclass
class Seeded:
    """What ``seed`` made: the user's name, the project and its documents."""

    username: str
    project_id: int
    document_ids: list[int]


@pytest.fixture
def seed(store: Session) -> Callable[..., Seeded]:
    """Make a fresh annotator, a project with the news schema, and documents with the given texts."""

    def make(
        *texts: str, titles: list[str] | None = None, guidelines: str = "", username: str | None = None, project_name: str | None = None
    ) -> Seeded:
        """Seed one annotator, one project and a document per text (names are unique unless given)."""
        tag = uuid.uuid4().hex[:8]
        user = factories.make_user(store, username or f"ann-{tag}")
        project = factories.make_project(store, project_name or f"proj-{tag}", members=[user])
        if guidelines:
            project.guidelines = guidelines
            store.commit()
        ids = []
        for i, text in enumerate(texts):
            title = titles[i] if titles else f"Document {i + 1}"
            ids.append(factories.make_document(store, project, text, external_id=f"d{i + 1}-{tag}", title=title).id)
        return Seeded(user.username, project.id, ids)

    return make


def login(page: Any, live: LiveServer, username: str, password: str = factories.PASSWORD) -> None:
    """Log in through the real login form."""
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def open_annotate(page: Any, live: LiveServer, project_id: int, document_id: int) -> None:
    """Open the annotate page of a document and wait until it is ready."""
    page.goto(f"{live.url}/projects/{project_id}/documents/{document_id}/annotate")
    page.wait_for_selector("#annotate[data-ready='1']")


def open_first(page: Any, live: LiveServer, seeded: Seeded) -> int:
    """Log in as the seeded annotator and open the first seeded document; return its id."""
    login(page, live, seeded.username)
    open_annotate(page, live, seeded.project_id, seeded.document_ids[0])
    return seeded.document_ids[0]


def select_cp(page: Any, start: int, end: int) -> None:
    """Select code points [start, end) with the real mouse (edge points from offsets.js)."""
    p = page.evaluate(
        """async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)""",
        [start, end],
    )
    page.mouse.move(p["x0"], p["y0"])
    page.mouse.down()
    page.mouse.move(p["x1"], p["y1"], steps=8)
    page.mouse.up()


def wait_saved(page: Any) -> None:
    """Wait until the status line says everything is saved."""
    page.wait_for_function("() => window.wbAnnotate && window.wbAnnotate.saver && window.wbAnnotate.saver.unsaved === 0 && document.querySelector('#wb-status').textContent === 'Saved'")


def layer_of(store: Session, document_id: int) -> AnnotationSet:
    """The (only) annotator layer of a document, fresh from the database."""
    store.expire_all()
    return store.scalars(select(AnnotationSet).where(AnnotationSet.document_id == document_id)).one()
