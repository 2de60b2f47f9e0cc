"""Exports from the pages: the Export page's background exports (progress, then a download link)
and the streamed download of any layer in any format."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_login import login_required

from workbench import export_jobs
from workbench.auth import me
from workbench.db import get_session
from workbench.services import exporting
from workbench.services import projects as project_service
from workbench.streaming import attachment
from workbench.streaming import download_name
from workbench.streaming import stream_export
from workbench.web import bp
from workbench.web.forms import PostForm


@bp.route("/projects/<int:project_id>/export/download")
@login_required
def export_download(project_id: int) -> Any:
    """Stream one layer of the project in one format (curators and admins).

    Query: ``layer`` (gold, annotators, predictions, documents, all) and
    ``format`` (jsonl, conll, spacy, brat, labelstudio, doccano).
    """
    project, _role = project_service.require_access(get_session(), me(), project_id, "curator")
    layer = request.args.get("layer", "gold")
    fmt = request.args.get("format", "jsonl")
    writer = exporting.require_export(layer, fmt)
    name = download_name(project.name, layer, writer.extension)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(
        stream_export(app, project.id, layer, fmt),
        mimetype=writer.mimetype,
        headers={"Content-Disposition": attachment(name), "Cache-Control": "no-store"},
    )


def _job(project_id: int, job_id: str) -> export_jobs.Job:
    """Return the user's export job in this project (404 for anyone else's)."""
    project_service.require_access(get_session(), me(), project_id, "curator")
    job = export_jobs.get(job_id)
    if job is None or job.project_id != project_id or (job.user_id != me().id and me().role != "admin"):
        abort(404, "no such export (exports are kept for a day)")
    return job


@bp.route("/projects/<int:project_id>/exports", methods=["POST"])
@login_required
def export_start(project_id: int) -> Any:
    """Start an export in the background and show its progress (curators and admins)."""
    project, _role = project_service.require_access(get_session(), me(), project_id, "curator")
    form = PostForm()
    if not form.validate_on_submit():
        abort(400, "the form expired; reload the page and try again")
    layer = request.form.get("layer", "gold")
    fmt = request.form.get("format", "jsonl")
    writer = exporting.require_export(layer, fmt)
    total = exporting.count_records(get_session(), project, layer)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job = export_jobs.start(app, project.id, me().id, layer, fmt, download_name(project.name, layer, writer.extension), total)
    return redirect(url_for("web.export_job", project_id=project.id, job_id=job.id))


@bp.route("/projects/<int:project_id>/exports/<job_id>")
@login_required
def export_job(project_id: int, job_id: str) -> Any:
    """Show an export's progress, and its download link once written."""
    project, role = project_service.require_access(get_session(), me(), project_id, "curator")
    job = _job(project_id, job_id)
    summary = project_service.project_summary(get_session(), me(), project, role)
    return render_template(
        "web/export_job.html", project=project, role=role, tab="export", summary=summary, is_curator=True, job=job
    )


@bp.route("/projects/<int:project_id>/exports/<job_id>/status")
@login_required
def export_job_status(project_id: int, job_id: str) -> Any:
    """Return an export's progress as JSON (the page polls it)."""
    job = _job(project_id, job_id)
    return jsonify(
        status=job.status,
        done=job.done,
        total=job.total,
        error=job.error,
        download=url_for("web.export_job_file", project_id=project_id, job_id=job_id) if job.status == "done" else None,
        manifest=url_for("web.export_job_manifest", project_id=project_id, job_id=job_id) if job.status == "done" else None,
    )


@bp.route("/projects/<int:project_id>/exports/<job_id>/file")
@login_required
def export_job_file(project_id: int, job_id: str) -> Any:
    """Send a finished export's file."""
    job = _job(project_id, job_id)
    if job.status != "done":
        abort(409, "the export is not finished")
    response = send_file(job.path, mimetype=exporting.export_writers()[job.fmt].mimetype, conditional=True)
    response.headers["Content-Disposition"] = attachment(job.filename)
    return response


@bp.route("/projects/<int:project_id>/exports/<job_id>/manifest")
@login_required
def export_job_manifest(project_id: int, job_id: str) -> Any:
    """Send a finished export's manifest."""
    job = _job(project_id, job_id)
    if job.status != "done":
        abort(409, "the export is not finished")
    response = send_file(job.manifest, mimetype="application/json")
    response.headers["Content-Disposition"] = attachment(job.manifest.name)
    return response
