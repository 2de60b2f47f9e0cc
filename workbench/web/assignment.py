"""The project's Progress and Settings tabs: who did what, bulk assignment, how documents are handed out and adjudicated.

Curators and admins of the project only; annotators are told the page does
not exist for them (403), as other curator-only pages do.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import login_required

from workbench.auth import me
from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.errors import WorkbenchError
from workbench.services import adjudication
from workbench.services import assignment
from workbench.services import exporting
from workbench.services import projects as project_service
from workbench.services import suggestions as suggestion_service
from workbench.web import bp
from workbench.web.forms import AssignForm
from workbench.web.forms import GazetteerForm
from workbench.web.forms import SettingsForm
from workbench.web.pages import _access
from workbench.web.pages import _int_arg
from workbench.web.pages import _project_page


def _annotator_choices(project: Any) -> list[str]:
    """Return the names of the project's active annotators."""
    return [
        user.username
        for user, role in project_service.members(get_session(), project)
        if role == "annotator" and user.active
    ]


@bp.route("/projects/<int:project_id>/progress", methods=["GET", "POST"])
@login_required
def project_progress(project_id: int) -> Any:
    """Show per-annotator and per-document progress; assign documents in bulk (POST)."""
    project, role = _access(project_id, "curator")
    session = get_session()
    form = AssignForm()
    form.users.choices = _annotator_choices(project)
    if request.method == "POST" and form.validate_on_submit():
        try:
            people = [project_service.require_member_user(session, project, name) for name in form.users.data or []]
            ids = (form.documents.data or "").split()
            if ids:
                documents = assignment.require_documents(session, project, ids)
            else:
                documents = assignment.documents_needing_annotators(session, project, form.count.data or 10, people)
                if not documents:
                    raise InvalidInput("no document is left that all of them can still take")
            report = assignment.assign(session, me(), project, documents, people)
        except WorkbenchError as exc:
            session.rollback()
            form.documents.errors = [*form.documents.errors, exc.message]
        else:
            session.commit()
            flash(
                f"Assigned {report.documents} document(s) to {', '.join(report.users)}: "
                f"{report.assigned} new, {report.already} they had already.",
                "success",
            )
            return redirect(url_for("web.project_progress", project_id=project.id))
    per_page = int(current_app.config.get("DOCUMENTS_PER_PAGE", 50))
    report = assignment.progress(session, project, page=_int_arg("page", 1), per_page=per_page)
    status = 400 if form.errors else 200
    return _project_page(
        "web/progress.html", project, role, "progress", report=report, form=form, format_duration=assignment.format_duration,
        suggestion_rates=suggestion_service.acceptance(session, project),
        gazetteer_entries=suggestion_service.gazetteer_size(session, project), gazetteer_form=GazetteerForm(formdata=None),
    ), status


@bp.route("/projects/<int:project_id>/settings", methods=["GET", "POST"])
@login_required
def project_settings(project_id: int) -> Any:
    """Show and change how the project hands out documents, is adjudicated, and which export formats it keeps ready."""
    project, role = _access(project_id, "curator")
    settings = assignment.settings_of(project)
    adjudicating = adjudication.adjudication_settings(project)
    form = SettingsForm(
        data={
            **adjudicating,
            "annotators_per_document": str(settings.annotators_per_document or ""),
            "assignment": settings.assignment,
            "queue_order": settings.queue_order,
            "abandon_after": assignment.format_duration(settings.abandon_after).replace("never", "0"),
            "ready_formats": exporting.ready_formats(project),
        }
    )
    if request.method == "POST":
        form = SettingsForm()
        if form.validate_on_submit():
            session = get_session()
            try:
                assignment.update_settings(session, project, form.changes())
                adjudication.update_adjudication_settings(session, project, form.adjudication_changes())
                exporting.set_ready_formats(session, project, list(form.ready_formats.data or []))
            except WorkbenchError as exc:
                session.rollback()
                form.abandon_after.errors = [*form.abandon_after.errors, exc.message]
            else:
                session.commit()
                flash("Settings saved.", "success")
                return redirect(url_for("web.project_settings", project_id=project.id))
    status = 400 if form.errors else 200
    return _project_page("web/settings.html", project, role, "settings", form=form), status
