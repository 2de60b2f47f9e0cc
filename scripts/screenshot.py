"""Take the README screenshots: the project page, a document page, the Agreement tab and the adjudication page at 1280x800.

Starts the demo (``workbench.demo.setup``) in a temporary instance folder on
a free port, logs in as the demo curator with Playwright driving Debian's
Chromium (never a downloaded browser), and writes ``docs/screenshots/project.png``
``docs/screenshots/document.png``, ``agreement.png`` and ``adjudicate.png``.

Usage: ``.venv/bin/python scripts/screenshot.py [--chromium /usr/bin/chromium] [--out docs/screenshots]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from workbench import create_app  # noqa: E402
from workbench import demo  # noqa: E402
from workbench.db import get_session  # noqa: E402
from workbench.services import documents as document_service  # noqa: E402
from workbench.services import importing  # noqa: E402
from workbench.services import projects as project_service  # noqa: E402
from workbench.testing import CHROMIUM  # noqa: E402
from workbench.testing import LiveServer  # noqa: E402
from workbench.testing import chromium as launched_chromium  # noqa: E402


def demo_app(instance: Path) -> Flask:
    """Set up the demo in ``instance`` (with two sample layers) and return the app."""
    app = create_app(
        {
            "SECRET_KEY": "screenshot-only",
            # Plain HTTP on loopback: the screenshot browser must keep the cookie.
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.instance_path = str(instance)
    with app.app_context():
        demo.setup(app)
        add_sample_layers()
    return app


#: Phrases of the first demo article to mark in the sample layers: (label, phrase).
SAMPLE_SPANS = [
    ("PERSON", "Teodora Rask"),
    ("ORG", "Velmora Harbour Workers' Union"),
    ("CUE", "told reporters"),
    ("GPE", "Velmora"),
]


def add_sample_layers() -> None:
    """Give the first demo article two annotators' layers, so the pages show counts.

    The layers go in through the JSONL import, as a team's earlier work would;
    phrases not found in the article are left out.
    """
    session = get_session()
    project = project_service.require_project_by_name(session, "news")
    rows = document_service.list_documents(session, project, project_service.members(session, project)[0][0]).rows
    if not rows:
        return
    doc = document_service.get_document(session, project, rows[0].id)
    lines = []
    for annotator, count in (("annotator", 4), ("curator", 3)):
        spans = []
        for label, phrase in SAMPLE_SPANS[:count]:
            start = doc.text.find(phrase)
            if start >= 0:
                spans.append({"id": f"T{len(spans) + 1}", "start": start, "end": start + len(phrase), "label": label, "text": phrase, "attrs": {}})
        record = {"id": doc.external_id, "text": doc.text, "layer": "annotator", "annotator": annotator, "spans": spans, "relations": [], "attributions": []}
        lines.append(json.dumps(record, ensure_ascii=False))
    try:
        importing.import_stream(session, project, "sample-layers.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), "jsonl")
    except Exception as exc:  # noqa: BLE001 - the screenshots are still worth taking without layers
        session.rollback()
        print(f"note: sample layers left out: {exc}")
        return
    session.commit()


def take(base: str, out: Path, chromium: str) -> list[Path]:
    """Log in as the demo curator and save the two screenshots in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    user, password = next((name, pw) for name, pw, role in demo.LOGINS if role == "curator")
    with launched_chromium(chromium) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/login")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.click("table.projects a.strong")
        page.wait_for_selector("table.documents")
        project_png = out / "project.png"
        page.screenshot(path=str(project_png))
        page.click("table.documents tbody tr:first-child a")
        page.wait_for_selector(".doc-text")
        document_png = out / "document.png"
        page.screenshot(path=str(document_png))
        # The sample annotators' two submitted articles: agreement figures and a document to adjudicate.
        page.goto(page.url.split("/documents/")[0] + "/agreement")
        page.wait_for_selector(".agreement")
        agreement_png = out / "agreement.png"
        page.screenshot(path=str(agreement_png), full_page=False)
        page.goto(page.url.rsplit("/", 1)[0] + "/adjudication")
        page.click("table.list tbody tr:first-child a")
        page.wait_for_selector("#wb-adj-list li")
        page.locator("#wb-adj-list").focus()
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(300)
        adjudicate_png = out / "adjudicate.png"
        page.screenshot(path=str(adjudicate_png))
    return [project_png, document_png, agreement_png, adjudicate_png]


def main() -> None:
    """Parse the arguments, start the demo, take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium binary to drive")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNG files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="workbench-shots-") as tmp:
        with LiveServer(demo_app(Path(tmp))) as server:
            for path in take(server.url, Path(args.out), args.chromium):
                print(f"wrote {path}")


if __name__ == "__main__":
    main()
