"""``workbench demo --no-serve``: a demo instance with seven articles, six users and sample work."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from workbench.models import AnnotationSet
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
        assert [u.username for u in users] == ["admin", "annotator", "annotator2", "curator", "lena", "omar"]
        assert all(u.active and u.password_hash for u in users)
        assert [d.external_id for d in docs] == [
            "01-port-velmora-strike",
            "02-lindqvist-river-flood",
            "03-sokolova-chess-final",
            "04-greyhaven-battery-plant",
            "05-harwick-bridge-closure",
            "06-saltmere-heat-warning",
            "07-narrow-sea-patrol-data",
        ]
        assert [d.title for d in docs] == [
            "Dockworkers in Port Velmora Extend Strike as Talks Stall",
            "Flood Barrier Fails Its First Test as River Aske Breaks Its Banks",
            "Sokolova Wins Tallbridge Open After Eight-Hour Final Game",
            "Greyhaven Battery Plant Will Go Ahead Despite Water Concerns, Minister Says",
            "Harwick Bridge to Close for Six Months as Cracks Widen",
            "Saltmere Issues First Red Heat Warning as Hospitals Prepare",
            "Astrelia and Corvania Agree to Share Patrol Data in the Narrow Sea",
        ]
        assert [d.meta["published"] for d in docs] == [
            "2025-03-14", "2025-02-03", "2025-11-09", "2025-08-05", "2025-04-02", "2025-07-18", "2025-05-06",
        ]
        assert [d.meta["source"] for d in docs] == [
            "Northwind Press", "Meridian Wire", "Eastern Courier Agency", "Northwind Press", "Meridian Wire",
            "Eastern Courier Agency", "Meridian Wire",
        ]
        for doc in docs:
            assert doc.meta["url"].startswith("https://") and " " not in doc.meta["url"]
            assert 900 <= len(doc.text) <= 3000
            assert "Original url" not in doc.text and not doc.text.startswith(("#", "By "))
        assert "Дарья Соколова" in docs[2].text
        assert "🌊" in docs[1].text
        assert "<u>said</u>" in docs[0].text


def test_demo_sample_work_feeds_agreement_and_adjudication(app, runner):
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    from workbench.services import adjudication
    from workbench.services import annotation

    with app.extensions["workbench.sessionmaker"]() as session:
        project = session.scalar(select(Project))
        assert project.annotators_per_document == 2
        rows = adjudication.queue(session, project)
        assert sorted(r.external_id for r in rows) == ["05-harwick-bridge-closure", "06-saltmere-heat-warning"]
        assert all(r.annotators == 2 and r.disputed > 0 and r.agreed > 0 for r in rows)
        # every sample span covers the words it names
        for layer in session.scalars(select(AnnotationSet).where(AnnotationSet.kind == "annotator")):
            doc = session.get(Document, layer.document_id)
            data = annotation.layer_data(session, layer, doc.text)
            assert layer.status == "submitted" and data["attributions"]
            assert all(doc.text[s["start"]:s["end"]] == s["text"] for s in data["spans"])


def test_demo_keeps_its_instance_resets_on_request_and_never_touches_a_real_one(app, runner):
    first = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    with app.extensions["workbench.sessionmaker"]() as session:
        session.add(Document(project_id=session.scalar(select(Project.id)), external_id="team-work", text="Kept.", text_sha256="x"))
        session.commit()
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "Demo kept as it was" in again.output and "--reset starts afresh" in again.output
    with app.extensions["workbench.sessionmaker"]() as session:
        assert session.scalar(select(Document.id).where(Document.external_id == "team-work")) is not None
    reset = runner.invoke(args=["demo", "--no-serve", "--reset"])
    assert reset.exit_code == 0 and "Demo ready" in reset.output
    with app.extensions["workbench.sessionmaker"]() as session:
        assert session.scalar(select(Document.id).where(Document.external_id == "team-work")) is None
    (Path(app.instance_path) / "demo-instance").unlink()
    refused = runner.invoke(args=["demo", "--no-serve", "--reset"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: ") and "is not a demo" in refused.output
    assert (Path(app.instance_path) / "workbench.sqlite3").is_file()
