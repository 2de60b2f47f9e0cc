"""Streaming an export as an HTTP response body, for the pages and the API alike.

Writers write into a file; a response body is an iterator.  ``stream_export``
runs the writer in a thread of its own (with its own app context, so its own
database session) that writes into a small bounded queue the response
iterates over: memory stays flat whatever the size, and a client that goes
away stops the writer.  ``attachment`` gives a download's header for any
project name (non-ASCII names as RFC 6266 ``filename*``).
"""

from __future__ import annotations

import io
import queue
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from flask import Flask

#: Bytes per chunk of the response body.
CHUNK = 64 * 1024
#: Chunks the writer may run ahead of the client.
AHEAD = 16


class _Closed(Exception):
    """The client went away; the writer stops."""


class _Sink(io.RawIOBase):
    """A write-only file whose writes go into a bounded queue."""

    def __init__(self, chunks: queue.Queue[Any], stop: threading.Event) -> None:
        super().__init__()
        self.chunks = chunks
        self.stop = stop

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        # A writer may hand over a whole batch at once: queue it a CHUNK at a time, so the queue holds AHEAD chunks at most.
        view = memoryview(data).cast("B")
        for start in range(0, len(view), CHUNK):
            piece = bytes(view[start : start + CHUNK])
            while True:
                if self.stop.is_set():
                    raise _Closed()
                try:
                    self.chunks.put(piece, timeout=0.5)
                    break
                except queue.Full:
                    continue
        return len(view)


def stream_export(app: Flask, project_id: int, layer: str, fmt: str) -> Iterator[bytes]:
    """Yield the bytes of an export of ``layer`` in ``fmt`` as a writer thread produces them."""
    chunks: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()
    done = object()

    def work() -> None:
        from workbench.db import get_session
        from workbench.models import Project
        from workbench.services import exporting

        try:
            with app.app_context():
                session = get_session()
                project = session.get(Project, project_id)
                sink = io.BufferedWriter(_Sink(chunks, stop), CHUNK)
                exporting.write_export(session, project, layer, fmt, sink)
                sink.flush()
                session.close()
            chunks.put(done)
        except _Closed:
            return
        except BaseException as exc:  # handed to the response, which raises it
            if not stop.is_set():
                chunks.put(exc)

    thread = threading.Thread(target=work, name=f"export-{project_id}-{fmt}", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def attachment(filename: str) -> str:
    """Return a ``Content-Disposition`` value for ``filename``, whatever its characters."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.") or "export"
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_name(project_name: str, layer: str, extension: str) -> str:
    """Return a download's file name: the project's name reduced to letters, digits and dashes, the layer, the extension."""
    slug = "".join(c if c.isalnum() else "-" for c in project_name.lower())
    slug = "-".join(part for part in slug.split("-") if part) or "project"
    return f"{slug}-{layer}{extension}"
