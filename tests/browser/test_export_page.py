"""The Export page in a real browser: keyboard only, the export runs in the background, progress, then the download."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import login
from sqlalchemy.orm import Session

import factories
from workbench.services import projects as project_service

pytestmark = pytest.mark.browser


def test_export_in_the_background_by_keyboard_and_download(page: Any, live: Any, store: Session, seed: Any) -> None:
    seeded = seed("Ana Berg said the mill will close.", "Kestrel 🙂 denied it.\r\nTwice.", project_name="Новости-браузер")
    curator = factories.make_user(store, f"cur-{seeded.username}", "curator")
    project_service.add_member(store, project_service.require_project_by_name(store, "Новости-браузер"), curator, "curator")
    store.commit()
    login(page, live, curator.username)
    page.goto(f"{live.url}/projects/{seeded.project_id}/export")
    page.focus("#export-layer")
    page.select_option("#export-layer", "documents")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "export-format"
    page.select_option("#export-format", "labelstudio")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#export-links:not([hidden])", timeout=20_000)
    assert page.inner_text("#export-state") == "Done: 2 records."
    with page.expect_download() as download_info:
        page.click("#export-download")
    download = download_info.value
    assert download.suggested_filename == "новости-браузер-documents.json"
    with open(download.path(), encoding="utf-8") as fh:
        tasks = json.load(fh)
    assert [t["data"]["text"] for t in tasks] == ["Ana Berg said the mill will close.", "Kestrel 🙂 denied it.\r\nTwice."]
