"""The pages: projects, one project's documents, members, guidelines, import
and export, one document, and the user's API tokens.

Views are thin: they check access through ``services.projects.require_access``,
parse a Flask-WTF form, call a service, commit and redirect (Post/Redirect/Get).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import login_required

from workbench.auth import me
from workbench.auth import role_required
from workbench.db import get_session
from workbench.domain.numbers import whole_number
from workbench.limits import MAX_JSON_INT
from workbench.markup import render_markdown
from workbench.errors import WorkbenchError
from workbench.models import Project
from workbench.services import documents as document_service
from workbench.services import exporting
from workbench.services import importing
from workbench.services import projects as project_service
from workbench.services import users as user_service
from workbench.streaming import attachment
from workbench.streaming import download_name
from workbench.web import bp
from workbench.web.forms import EXPORT_FORMAT_NAMES
from workbench.web.forms import EXPORT_LAYERS
from workbench.web.forms import AddMemberForm
from workbench.web.forms import GuidelinesForm
from workbench.web.forms import ImportForm
from workbench.web.forms import NewProjectForm
from workbench.web.forms import PostForm
from workbench.web.forms import TokenForm


def _access(project_id: int, at_least: str = "annotator") -> tuple[Project, str]:
    """Return the project and the user's role in it (404 for non-members, 403 for too low a role)."""
    return project_service.require_access(get_session(), me(), project_id, at_least)


def _is_curator(role: str) -> bool:
    """Return True for the roles that may manage a project (curator, admin)."""
    return project_service.RANK[role] >= project_service.RANK["curator"]


def _int_arg(name: str, default: int) -> int:
    """Return the query argument ``name`` as a positive int, or ``default``."""
    value = request.args.get(name, "")
    number = whole_number(value, MAX_JSON_INT, clamp=True)
    return number if number else default


def _project_page(template: str, project: Project, role: str, tab: str, **context: Any) -> str:
    """Render one tab of a project page with the shared header (counts, tabs)."""
    summary = project_service.project_summary(get_session(), me(), project, role)
    return render_template(
        template, project=project, role=role, tab=tab, summary=summary, is_curator=_is_curator(role), **context
    )


@bp.route("/")
@login_required
def index() -> Any:
    """List the projects the user belongs to, with counts and progress."""
    summaries = project_service.visible_projects(get_session(), me())
    return render_template("web/index.html", summaries=summaries, can_create=me().role in ("admin", "curator"))


@bp.route("/projects/new", methods=["GET", "POST"])
@role_required("admin", "curator")
def new_project() -> Any:
    """Create a project (admins and curators); its creator becomes a curator of it."""
    form = NewProjectForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            project = project_service.create_project(
                session, form.name.data or "", form.schema_value(), description=(form.description.data or "").strip()
            )
        except WorkbenchError as exc:
            session.rollback()
            field = form.schema if exc.message.startswith("schema") else form.name
            field.errors = [*field.errors, exc.message]
        else:
            project_service.add_member(session, project, me(), "curator")
            session.commit()
            flash(f"Project {project.name!r} created.", "success")
            return redirect(url_for("web.project", project_id=project.id))
    return render_template("web/new_project.html", form=form), 400 if form.errors else 200


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id: int) -> Any:
    """Show a project's documents: search (``?q=``) and pages (``?page=``)."""
    project, role = _access(project_id)
    query = request.args.get("q", "").strip()[:200]
    per_page = int(current_app.config.get("DOCUMENTS_PER_PAGE", 50))
    page = document_service.list_documents(
        get_session(), project, me(), query=query, page=_int_arg("page", 1), per_page=per_page
    )
    if page.page > page.pages:
        # A page past the end (an old link, a shorter search): show the last one.
        page = document_service.list_documents(get_session(), project, me(), query=query, page=page.pages, per_page=per_page)
    return _project_page("web/project.html", project, role, "documents", page=page, query=query)


@bp.route("/projects/<int:project_id>/members", methods=["GET", "POST"])
@login_required
def project_members(project_id: int) -> Any:
    """List a project's members; curators and admins add members or change roles."""
    project, role = _access(project_id)
    form = AddMemberForm()
    if request.method == "POST":
        project, role = _access(project_id, "curator")
        if form.validate_on_submit():
            session = get_session()
            try:
                member = project_service.add_member_by_name(session, project, form.username.data or "", form.role.data)
            except WorkbenchError as exc:
                session.rollback()
                form.username.errors = [*form.username.errors, exc.message]
            else:
                session.commit()
                flash(f"{member.user.username} is now {member.role} in {project.name}.", "success")
                return redirect(url_for("web.project_members", project_id=project.id))
    members = project_service.members(get_session(), project)
    status = 400 if form.errors else 200
    return _project_page("web/members.html", project, role, "members", members=members, form=form), status


@bp.route("/projects/<int:project_id>/guidelines", methods=["GET", "POST"])
@login_required
def project_guidelines(project_id: int) -> Any:
    """Show a project's guidelines; curators and admins edit them."""
    project, role = _access(project_id)
    form = GuidelinesForm(data={"guidelines": project.guidelines})
    if request.method == "POST":
        project, role = _access(project_id, "curator")
        form = GuidelinesForm()
        if form.validate_on_submit():
            project_service.set_guidelines(get_session(), project, form.guidelines.data or "")
            get_session().commit()
            flash("Guidelines saved.", "success")
            return redirect(url_for("web.project_guidelines", project_id=project.id))
    html = render_markdown(project.guidelines)
    status = 400 if form.errors else 200
    labels = project_service.project_schema(project).labels
    return _project_page(
        "web/guidelines.html", project, role, "guidelines", guidelines_html=html, form=form, labels=labels
    ), status


@bp.route("/projects/<int:project_id>/import", methods=["GET", "POST"])
@login_required
def project_import(project_id: int) -> Any:
    """Import files into a project (curators and admins): all files or none."""
    project, role = _access(project_id, "curator")
    form = ImportForm()
    if form.validate_on_submit():
        session = get_session()
        report = importing.ImportReport()
        # One savepoint around the whole upload (the importer takes one per file):
        # on SQLite, whose driver sends no BEGIN, releasing a good file's own
        # savepoint would otherwise commit it before a later bad file is read.
        whole = session.begin_nested()
        try:
            for upload in form.files.data:
                if upload.filename:
                    report.files.append(
                        importing.import_stream(
                            session, project, upload.filename, upload.stream, form.fmt.data, user=me(),
                            label_map=form.label_map_value(),
                            as_predictions=(form.as_predictions.data or "").strip() or None,
                        )
                    )
        except WorkbenchError as exc:
            # ImportError_ names the file and line; one bad file rolls back the whole upload.
            session.rollback()
            flash(f"Nothing imported. {exc.message}", "error")
            return redirect(url_for("web.project_import", project_id=project.id))
        except BaseException:
            session.rollback()
            raise
        importing.refresh_statistics(session, report.documents)
        whole.commit()
        session.commit()
        flash(report.summary() + ".", "success")
        for note in report.notes:
            flash(f"Note: {note}.", "info")
        return redirect(url_for("web.project", project_id=project.id))
    status = 400 if form.errors else 200
    return _project_page("web/import.html", project, role, "import", form=form), status


@bp.route("/projects/<int:project_id>/export")
@login_required
def project_export(project_id: int) -> Any:
    """Show how to export the project: download links (curators), CLI and API commands."""
    project, role = _access(project_id)
    return _project_page(
        "web/export.html",
        project,
        role,
        "export",
        layers=EXPORT_LAYERS,
        formats=exporting.available_formats(),
        format_names=EXPORT_FORMAT_NAMES,
        post_form=PostForm(),
        spacy_missing="spacy" not in exporting.available_formats(),
        ready_formats=exporting.ready_formats(project),
    )


@bp.route("/projects/<int:project_id>/export.jsonl")
@login_required
def export_jsonl(project_id: int) -> Any:
    """Stream one layer of the project as JSON lines (curators and admins)."""
    project, _role = _access(project_id, "curator")
    layer = request.args.get("layer", "gold")
    if layer not in EXPORT_LAYERS:
        abort(400, f"layer must be one of {', '.join(EXPORT_LAYERS)}")
    session = get_session()

    def lines() -> Iterator[str]:
        """Yield one JSON line per exported record, then give the connection back.

        The body is sent after the request's app context has ended (and its
        teardown closed the session), so the session takes a connection again
        here and must close it itself.
        """
        try:
            for record in exporting.export_records(session, project, layer):
                yield json.dumps(record, ensure_ascii=False) + "\n"
        finally:
            session.close()

    return Response(
        lines(),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": attachment(download_name(project.name, layer, ".jsonl")), "Cache-Control": "no-store"},
    )


@bp.route("/projects/<int:project_id>/documents/<int:document_id>")
@login_required
def document(project_id: int, document_id: int) -> Any:
    """Show one document read-only: metadata, text and the layers the user may see."""
    project, role = _access(project_id)
    session = get_session()
    doc = document_service.get_document(session, project, document_id)
    prev_id, next_id = document_service.neighbours(session, doc)
    layers = document_service.layer_summaries(session, doc, me(), see_all=_is_curator(role))
    meta = sorted((doc.meta or {}).items())
    # Curators adjudicate a document once an annotator has submitted it (or its gold exists).
    can_adjudicate = _is_curator(role) and any(
        (layer.kind == "annotator" and layer.status == "submitted") or layer.kind == "gold" for layer in layers
    )
    return render_template(
        "web/document.html",
        can_adjudicate=can_adjudicate,
        project=project,
        role=role,
        doc=doc,
        meta=meta,
        layers=layers,
        prev_id=prev_id,
        next_id=next_id,
        is_curator=_is_curator(role),
        length=len(doc.text),
    )


@bp.route("/account")
@login_required
def account() -> Any:
    """Show the user's API tokens and a form to create one."""
    return _account_page(TokenForm(formdata=None))


def _account_page(form: TokenForm, new_token: str | None = None, status: int = 200) -> Any:
    """Render the account page (with a just-created token shown once)."""
    tokens = user_service.list_tokens(get_session(), me())
    response = current_app.make_response(
        (render_template("web/account.html", tokens=tokens, form=form, revoke=PostForm(), new_token=new_token), status)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token() -> Any:
    """Create an API token and show it once.

    The token is rendered in this response instead of after a redirect, so the
    secret never travels through the session cookie; the page is ``no-store``.
    """
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(form, status=400)
    token = user_service.create_token(get_session(), me(), (form.name.data or "").strip())
    get_session().commit()
    return _account_page(TokenForm(formdata=None), new_token=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's API tokens."""
    form = PostForm()
    if not form.validate_on_submit():
        abort(400, "the form expired; reload the page and try again")
    user_service.revoke_token(get_session(), me(), token_id)
    get_session().commit()
    flash("Token revoked.", "success")
    return redirect(url_for("web.account"))


from workbench.web import annotate  # noqa: F401
