"""The annotate pages: "annotate next" and the page shell for one document.

The page is an HTML shell; the script on it fetches the document and the
layer from ``/api/v1/projects/<pid>/documents/<doc_id>/annotate``, so the
article text never appears in the HTML.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import login_required

from workbench.auth import me
from workbench.db import get_session
from workbench.services import annotation as annotation_service
from workbench.services import documents as document_service
from workbench.services import projects as project_service
from workbench.web import bp


@bp.route("/projects/<int:project_id>/annotate")
@login_required
def annotate_next(project_id: int) -> Any:
    """Redirect to the next document needing the user, or back to the project when none is left."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id)
    document_id = annotation_service.next_document_id(session, me(), project.id)
    session.commit()  # the place taken on a new document must outlive this request
    if document_id is None:
        flash("Nothing left to annotate", "info")
        return redirect(url_for("web.project", project_id=project.id))
    return redirect(url_for("web.annotate_document", project_id=project.id, document_id=document_id))


@bp.route("/projects/<int:project_id>/documents/<int:document_id>/annotate")
@login_required
def annotate_document(project_id: int, document_id: int) -> Any:
    """Render the annotate page for one document (the data comes from the API)."""
    session = get_session()
    project, role = project_service.require_access(session, me(), project_id)
    document = document_service.get_document(session, project, document_id)
    # Take the place now, so a full or unassigned document says why on a page of its own.
    annotation_service.open_annotator_layer(session, me(), document)
    session.commit()
    return render_template("web/annotate.html", project=project, document=document, role=role)
