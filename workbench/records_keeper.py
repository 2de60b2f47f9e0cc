"""Keeps the stored export records of changed layers up to date, so an export copies them instead of building them.

Every change to a layer (a save, a decision, a status change, an import)
records a ``Change`` row. A listener on the app's sessions collects the
layers of the ``Change`` rows a transaction writes (an import, which writes
them without the ORM, names its layers with
``services.exporting.note_changed_layers``); once the
transaction commits, those layers' records in the formats their project
keeps ready (``services.exporting.ready_formats``: JSONL unless it says
otherwise) are built and stored (``services.exporting.refresh_stored_lines``),
the way an export stores the records it builds. Only a saving: what is
not done here, the next export builds, and a stored record is copied only
while the database finds it made of what the layer is made of now.

``EXPORT_RECORDS`` in the app's config says when:

- ``background`` (the default): in one thread of the process, a moment
  after the commit (changes coming together are built together), so no
  request waits for it; :func:`wait` waits for it (``workbench import``
  does, and says so), and the process waits for the batch under way when
  it exits;
- ``now``: in the committing thread, right after the commit;
- ``off``: never (the export builds them).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)

#: The ``EXPORT_RECORDS`` choices.
MODES = ("background", "now", "off")
#: Seconds the background thread waits after a commit for more changes to build with it.
SETTLE = 0.2


class Keeper:
    """Builds the stored records of the layers changed by the commits of one app's sessions."""

    def __init__(self, engine: Engine, mode: str) -> None:
        """Keep the records of ``engine``'s database, in ``mode`` (one of :data:`MODES`)."""
        if mode not in MODES:
            raise ValueError(f"EXPORT_RECORDS must be one of {', '.join(MODES)}, not {mode!r}")
        self.engine = engine
        self.mode = mode
        #: Records built so far, every format counted (for the tests and the commands' messages).
        self.built = 0
        self._fresh_state()

    def _fresh_state(self) -> None:
        """Start with no thread and nothing pending (also in a process forked from one that had them)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._busy = False
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopping = False

    def install(self, maker: sessionmaker[Session]) -> None:
        """Listen to the sessions ``maker`` makes."""
        if self.mode == "off":
            return
        event.listen(maker, "after_flush", self._collect)
        event.listen(maker, "after_commit", self._committed)
        event.listen(maker, "after_rollback", self._rolled_back)

    @staticmethod
    def _collect(session: Session, _context: Any) -> None:
        """Note the layers of the ``Change`` rows this flush wrote."""
        from workbench.models import Change
        from workbench.services.exporting import note_changed_layers

        ids = [item.set_id for item in session.new if isinstance(item, Change)]
        if ids:
            note_changed_layers(session, ids)

    @staticmethod
    def _rolled_back(session: Session) -> None:
        """Forget what a rolled-back transaction changed (a SAVEPOINT rolled back forgets nothing: building a line again is harmless)."""
        from workbench.services.exporting import CHANGED_LAYERS

        if session.get_nested_transaction() is None:
            session.info.pop(CHANGED_LAYERS, None)

    def _committed(self, session: Session) -> None:
        """Build, now or in the thread, the records of the layers the committed transaction changed."""
        from workbench.services.exporting import CHANGED_LAYERS

        if session.get_nested_transaction() is not None:
            return  # a SAVEPOINT released (SQLAlchemy calls that a commit too): the transaction goes on
        ids = session.info.pop(CHANGED_LAYERS, None)
        if not ids:
            return
        if self.mode == "now":
            self._build(ids)
            return
        if self._pid != os.getpid():  # a forked child: the parent's thread and lock are not its own
            self._fresh_state()
        with self._lock:
            self._pending.update(ids)
            if self._thread is None or not self._thread.is_alive():
                if self._thread is None:
                    atexit.register(self.stop)
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="export-records", daemon=True)
                self._thread.start()
            self._wake.notify()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every change noted so far is built; return False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._wake.wait(left)  # the thread notifies when it is done with a batch
        return True

    def stop(self) -> None:
        """Stop the thread after the batch under way (at exit: the next export builds the rest)."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        """The thread: build what is pending, a moment after the last commit, until stopped."""
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    self._pending.clear()
                    self._wake.notify_all()
                    return
            time.sleep(SETTLE)  # more commits of the same burst join this one
            with self._lock:
                ids, self._pending = self._pending, set()
                self._busy = True
            try:
                self._build(ids)
            finally:
                with self._lock:
                    self._busy = False
                    self._wake.notify_all()

    def _build(self, ids: set[int]) -> None:
        """Build and store the records of layers ``ids`` in a session of their own; log, never raise."""
        from workbench.services.exporting import refresh_stored_lines

        try:
            with Session(self.engine) as session:
                self.built += refresh_stored_lines(session, ids, stop=lambda: self._stopping)
        except Exception:  # noqa: BLE001 - only a saving: the next export builds what is missing
            log.exception("export records: could not store the records of %d changed layers", len(ids))
