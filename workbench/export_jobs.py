"""Exports the Export page runs in the background: a thread per export, progress, a file to download.

A job writes with ``services.exporting.export_to_path`` (the command's path:
temporary file renamed into place, a manifest beside it) into its own folder
under the instance folder's ``exports/``, in a thread with its own app
context and database session, so a page request never waits for it and
nothing times out.  Jobs live in this process's memory; their files are
removed a day after they finish (checked whenever a job starts).
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from flask import Flask

#: Seconds a finished job's files are kept.
KEEP_FOR = 24 * 3600
_lock = threading.Lock()
_jobs: dict[str, Job] = {}


@dataclass
class Job:
    """One background export and how far it got."""

    id: str
    project_id: int
    user_id: int
    layer: str
    fmt: str
    folder: Path
    filename: str
    total: int
    done: int = 0
    status: str = "running"  # running, done, failed
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def path(self) -> Path:
        """Return the exported file's path."""
        return self.folder / self.filename

    @property
    def manifest(self) -> Path:
        """Return the manifest's path."""
        from workbench.services.exporting import manifest_path

        return manifest_path(self.path)


def start(app: Flask, project_id: int, user_id: int, layer: str, fmt: str, filename: str, total: int) -> Job:
    """Start exporting ``layer`` in ``fmt`` in a background thread; return the job."""
    _clean(app)
    job_id = secrets.token_urlsafe(12)
    folder = Path(app.instance_path) / "exports" / job_id
    folder.mkdir(parents=True)
    job = Job(job_id, project_id, user_id, layer, fmt, folder, filename, total)
    with _lock:
        _jobs[job_id] = job
    threading.Thread(target=_run, args=(app, job), name=f"export-job-{job_id}", daemon=True).start()
    return job


def get(job_id: str) -> Job | None:
    """Return the job with this id, or None."""
    with _lock:
        return _jobs.get(job_id)


def _run(app: Flask, job: Job) -> None:
    """Write the export (in the job's thread)."""
    from workbench.db import get_session
    from workbench.errors import WorkbenchError
    from workbench.models import Project
    from workbench.services import exporting

    def progress(done: int) -> None:
        job.done = done

    try:
        with app.app_context():
            session = get_session()
            try:
                project = session.get(Project, job.project_id)
                exporting.export_to_path(
                    session, project, job.path, layer=job.layer, fmt=job.fmt, force=True,
                    command=f"Export page: layer {job.layer}, format {job.fmt}", progress=progress,
                )
            finally:
                session.close()
        job.status = "done"
    except WorkbenchError as exc:
        job.status, job.error = "failed", exc.message
    except Exception as exc:  # reported on the page, never lost
        app.logger.exception("export job %s failed", job.id)
        job.status, job.error = "failed", f"the export failed ({type(exc).__name__})"
    job.finished = time.time()


def _clean(app: Flask) -> None:
    """Forget jobs that finished more than :data:`KEEP_FOR` seconds ago, and remove their files."""
    now = time.time()
    with _lock:
        old = [j for j in _jobs.values() if j.finished is not None and now - j.finished > KEEP_FOR]
        for job in old:
            del _jobs[job.id]
    for job in old:
        shutil.rmtree(job.folder, ignore_errors=True)
