"""The Progress tab's gazetteer upload (its acceptance-rate table is rendered with the rest of the tab)."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import url_for
from flask_login import login_required

from workbench.db import get_session
from workbench.errors import WorkbenchError
from workbench.services import suggestions as suggestion_service
from workbench.web import bp
from workbench.web.forms import GazetteerForm
from workbench.web.pages import _access

#: The most bytes a gazetteer upload may have (as the API).
MAX_BYTES = 8 * 1024 * 1024


@bp.route("/projects/<int:project_id>/gazetteer", methods=["POST"])
@login_required
def project_gazetteer(project_id: int) -> Any:
    """Replace the project's gazetteer with the uploaded TSV file (curators and admins), then back to Progress."""
    project, _role = _access(project_id, "curator")
    form = GazetteerForm()
    if not form.validate_on_submit():
        flash("Gazetteer not changed: " + "; ".join(e for errors in form.errors.values() for e in errors), "error")
    else:
        upload = form.file.data
        data = upload.stream.read(MAX_BYTES + 1)
        session = get_session()
        try:
            if len(data) > MAX_BYTES:
                raise WorkbenchError(f"a gazetteer may have at most {MAX_BYTES // (1024 * 1024)} MB")
            count = suggestion_service.set_gazetteer(session, project, upload.filename or "upload", data)
        except WorkbenchError as exc:
            session.rollback()
            flash(f"Gazetteer not changed: {exc.message}", "error")
        else:
            session.commit()
            flash(f"Gazetteer loaded: {count} entr{'y' if count == 1 else 'ies'}.", "success")
    return redirect(url_for("web.project_progress", project_id=project.id) + "#suggestions-heading")
