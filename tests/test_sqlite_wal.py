"""SQLite's write-ahead log stays small: truncated after large writes, gone when the process ends."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from factories import FAST_HASH
from factories import PASSWORD
from sqlalchemy import text

from workbench.db import WAL_SIZE_LIMIT
from workbench.db import make_engine
from workbench.testing import free_port


def _wal(path: Path) -> int:
    wal = Path(str(path) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_log_shrinks_after_a_large_write(tmp_path):
    path = tmp_path / "big.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT)"))
    with engine.begin() as conn:  # one large transaction: the log must hold all of it
        conn.execute(text("INSERT INTO blobs (body) VALUES (:b)"), [{"b": "x" * 100_000} for _ in range(300)])
    assert _wal(path) > 3 * WAL_SIZE_LIMIT
    with engine.begin() as conn:  # the next write after the checkpoint truncates the log
        conn.execute(text("INSERT INTO blobs (body) VALUES ('small')"))
    assert _wal(path) <= WAL_SIZE_LIMIT
    engine.dispose()
    assert _wal(path) == 0


def test_no_log_is_left_after_the_server_stops(tmp_path):
    """A large import through a served app, then SIGTERM: the log is checkpointed and gone."""
    path = tmp_path / "served.sqlite3"
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": f"sqlite:///{path}",
        "WORKBENCH_INSTANCE": str(tmp_path / "instance"),
        "WORKBENCH_PASSWORD_HASH_METHOD": FAST_HASH,
    }
    script = str(Path(sys.executable).parent / "workbench")

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run([script, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    run("projects", "create", "news")
    run("users", "create", "cora", "--role", "curator", "--password-stdin", stdin=PASSWORD + "\n")
    token = run("users", "token", "cora")
    run("projects", "add-member", "news", "cora")
    port = free_port()
    server = subprocess.Popen([script, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = "Kai Dorn said the depot will reopen after the floods. " * 400
        records = [{"id": f"a{i}", "text": f"{body} {i}"} for i in range(600)]  # about 13 MB
        payload = json.dumps({"format": "jsonl", "records": records}).encode()
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", "/api/v1/projects/1/import", body=payload,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                assert conn.getresponse().status == 201
                conn.close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert _wal(path) > WAL_SIZE_LIMIT  # the import's pages wait in the log
        server.send_signal(signal.SIGTERM)  # what systemd, docker and kill send
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert _wal(path) == 0
