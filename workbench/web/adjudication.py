"""The adjudication pages: the queue of documents ready for it, and one document's adjudication.

The page for one document is the annotate page working on the gold layer
(``templates/web/annotate.html`` with ``mode="adjudicate"``): the same text
view, offsets, saver and undo, plus the panel of disagreements
(``static/js/adjudicate.js``).  Curators and admins of the project only.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import login_required

from workbench.auth import me
from workbench.db import get_session
from workbench.services import adjudication
from workbench.services import documents as document_service
from workbench.web import bp
from workbench.web.forms import AutoMergeForm
from workbench.web.pages import _access
from workbench.web.pages import _project_page


@bp.route("/projects/<int:project_id>/adjudication", methods=["GET", "POST"])
@login_required
def project_adjudication(project_id: int) -> Any:
    """List the documents ready for adjudication, worst agreement first; merge what is agreed in bulk (POST)."""
    project, role = _access(project_id, "curator")
    session = get_session()
    form = AutoMergeForm(data={"rule": adjudication.adjudication_settings(project)["merge_rule"]})
    if request.method == "POST":
        form = AutoMergeForm()
        if form.validate_on_submit():
            report = adjudication.auto_merge(session, project, me(), form.rule.data, finish=bool(form.finish.data))
            session.commit()
            message = (
                f"{report.documents} document(s) merged ({report.rule}): {report.items_added} item(s) added to gold, "
                f"{report.finished} marked adjudicated."
            )
            if report.flagged:
                message += f" {len(report.flagged)} need a curator (two labels on the same words)."
            flash(message, "success")
            return redirect(url_for("web.project_adjudication", project_id=project.id))
    rows = adjudication.queue(session, project)
    reasons = adjudication.reasons_report(session, project)
    counts = adjudication.gold_counts(session, project)
    done = adjudication.adjudicated_documents(session, project)
    status = 400 if form.errors else 200
    return _project_page(
        "web/adjudication.html", project, role, "adjudication", rows=rows, form=form, reasons=reasons, gold_counts=counts,
        done=done,
    ), status


@bp.route("/projects/<int:project_id>/documents/<int:document_id>/adjudicate")
@login_required
def adjudicate_document(project_id: int, document_id: int) -> Any:
    """Render the adjudication page for one document (the data comes from the API)."""
    project, role = _access(project_id, "curator")
    document = document_service.get_document(get_session(), project, document_id)
    return render_template("web/annotate.html", project=project, document=document, role=role, adjudicating=True)
