"""The Evaluate tab: upload an extractor's predictions, see its figures against gold and where it went wrong."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import login_required

from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.errors import WorkbenchError
from workbench.services import evaluation
from workbench.web import bp
from workbench.web.forms import EvaluateForm
from workbench.web.pages import _access
from workbench.web.pages import _project_page

#: How many documents the page marks up, most errors first.
DOCUMENTS_SHOWN = 30


@bp.route("/projects/<int:project_id>/evaluate", methods=["GET", "POST"])
@login_required
def project_evaluate(project_id: int) -> Any:
    """Score an uploaded predictions file against the project's adjudicated gold (curators and admins)."""
    project, role = _access(project_id, "curator")
    session = get_session()
    form = EvaluateForm()
    gold = evaluation.project_gold(session, project)
    result = errors = None
    if request.method == "POST" and form.validate_on_submit():
        upload = form.file.data
        try:
            predicted = evaluation.read_jsonl(upload.stream, upload.filename or "upload")
            if not gold.layers:
                raise InvalidInput("this project has no adjudicated document yet: there is no gold to score against")
            result = evaluation.score(gold, predicted)
            errors = evaluation.document_errors(gold, predicted, mode=form.mode.data, limit=DOCUMENTS_SHOWN)
        except WorkbenchError as exc:
            form.file.errors = [*form.file.errors, exc.message]
    status = 400 if form.errors else 200
    return _project_page(
        "web/evaluate.html", project, role, "evaluate", form=form, result=result, errors=errors,
        gold_documents=len(gold.layers),
    ), status
