"""Helpers for tests, benchmarks and scripts: a free port, the app served in a thread, Debian's Chromium.

Like ``click.testing``: part of the package, but nothing here is used by the
app itself, and importing it loads no test-only dependency (Playwright is
imported inside :func:`chromium`, the servers inside :meth:`LiveServer.start`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Debian's Chromium: the browser tests, benchmarks and screenshots never download one.
CHROMIUM = "/usr/bin/chromium"

#: Flags for a quiet, headless Chromium in a container (no sandbox, GPU or background traffic).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (for servers started in another process)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class LiveServer:
    """Serve a WSGI ``app`` on 127.0.0.1 in a daemon thread; use it as a context manager.

    :param port: 0 (the default) lets the system pick a free port when the
        server binds, so there is no race with another process.
    :param server: ``"werkzeug"`` (threaded development server) or
        ``"waitress"`` (the production server, with ``threads`` workers).
    """

    def __init__(self, app: Any, *, port: int = 0, server: str = "werkzeug", threads: int = 4):
        """Remember what to serve; nothing runs until :meth:`start`."""
        if server not in ("werkzeug", "waitress"):
            raise ValueError(f"unknown server {server!r}: werkzeug or waitress")
        self.app = app
        self.port = port
        self.kind = server
        self.threads = threads
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash (``http://127.0.0.1:<port>``)."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> LiveServer:
        """Bind the port and serve in a daemon thread; return self."""
        if self.kind == "waitress":
            from waitress import create_server

            self._server = create_server(self.app, host=HOST, port=self.port, threads=self.threads)
            self.port = self._server.effective_port
            target = self._server.run
        else:
            from werkzeug.serving import make_server

            self._server = make_server(HOST, self.port, _closing(self.app), threaded=True)
            self.port = self._server.server_port
            target = self._server.serve_forever
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wait for the thread and release the port."""
        if self._server is None:
            return
        if self.kind == "waitress":
            time.sleep(0.1)  # let waitress finish with connections a client just closed
            self._server.close()
        else:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.kind == "werkzeug":
            self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveServer:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop serving."""
        self.stop()


def launch_chromium(playwright: Any, executable_path: str = CHROMIUM, **kwargs: Any) -> Any:
    """Launch Debian's Chromium, headless with :data:`CHROMIUM_ARGS`, through a started Playwright."""
    return playwright.chromium.launch(executable_path=executable_path, headless=True, args=CHROMIUM_ARGS, **kwargs)


@contextmanager
def chromium(executable_path: str = CHROMIUM) -> Iterator[Any]:
    """Start Playwright, launch Chromium (:func:`launch_chromium`) and yield the browser; close both after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable_path)
        try:
            yield browser
        finally:
            browser.close()


def _closing(app: Any) -> Any:
    """``app`` with every response closed, even when the client drops the connection while it is sent.

    Werkzeug's development server skips ``close()`` of the response when a
    write fails (a browser closed while a static file was on its way): the
    file is then left to the garbage collector, whose ResourceWarning fails
    whichever test it happens in. The generator's ``finally`` runs when it is
    closed or collected, and closes the response first.
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        response = app(environ, start_response)

        def body() -> Iterator[bytes]:
            try:
                yield from response
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()

        return body()

    return wrapped


class TcpProxy:
    """Forward 127.0.0.1:<port> to ``upstream`` (a database server), so a fault test can cut the line.

    :meth:`cut` drops every connection and stops listening (the database
    "goes away"); :meth:`start` listens again on the same port.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        """Listen on :attr:`port` and forward every connection in daemon threads."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Both directions end here (the other pump's recv returns once the sockets are shut down); closing
            # them too means no socket is left to the garbage collector's ResourceWarning in a later test.
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        """Stop listening and drop every forwarded connection."""
        assert self.listener is not None
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in another thread
        except OSError:
            pass
        self.listener.close()
        self.listener = None
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.sockets = []
