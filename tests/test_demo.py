"""``workbench demo --no-serve``: a fresh demo instance with four articles and four users."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from workbench.models import Document
from workbench.models import Project
from workbench.models import User


def test_demo_sets_up_articles_and_users(app, runner):
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "Demo ready" in result.output
    assert (Path(app.instance_path) / "workbench.sqlite3").is_file()
    # The demo switched the app to its own SQLite file; read it through an independent session.
    with app.extensions["workbench.sessionmaker"]() as session:
        docs = list(session.scalars(select(Document).order_by(Document.external_id)))
        users = list(session.scalars(select(User).order_by(User.username)))
        project = session.scalar(select(Project))
        assert project.name == "news" and "Attributions" in project.guidelines
        assert [u.username for u in users] == ["admin", "annotator", "annotator2", "curator"]
        assert all(u.active and u.password_hash for u in users)
        assert [d.external_id for d in docs] == [
            "01-port-velmora-strike",
            "02-lindqvist-river-flood",
            "03-sokolova-chess-final",
            "04-greyhaven-battery-plant",
        ]
        assert [d.title for d in docs] == [
            "Dockworkers in Port Velmora Extend Strike as Talks Stall",
            "Flood Barrier Fails Its First Test as River Aske Breaks Its Banks",
            "Sokolova Wins Tallbridge Open After Eight-Hour Final Game",
            "Greyhaven Battery Plant Will Go Ahead Despite Water Concerns, Minister Says",
        ]
        assert [d.meta["published"] for d in docs] == ["2025-03-14", "2025-02-03", "2025-11-09", "2025-08-05"]
        assert [d.meta["source"] for d in docs] == ["Northwind Press", "Meridian Wire", "Eastern Courier Agency", "Northwind Press"]
        for doc in docs:
            assert doc.meta["url"].startswith("https://") and " " not in doc.meta["url"]
            assert 1200 <= len(doc.text) <= 3000
            assert "Original url" not in doc.text and not doc.text.startswith(("#", "By "))
        assert "Дарья Соколова" in docs[2].text
        assert "🌊" in docs[1].text
        assert "<u>said</u>" in docs[0].text


def test_demo_replaces_its_own_instance_but_never_a_real_one(app, runner):
    first = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    (Path(app.instance_path) / "demo-instance").unlink()
    refused = runner.invoke(args=["demo", "--no-serve"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: ") and "is not a demo" in refused.output
    assert (Path(app.instance_path) / "workbench.sqlite3").is_file()
