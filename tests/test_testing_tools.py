"""The test tools' own guarantees (workbench/testing.py)."""

from __future__ import annotations

import gc
from typing import Any

from workbench.testing import _closing


class Body:
    """A response body that records whether it was closed (as a file sent by send_file would be)."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Any:
        yield b"first"
        yield b"second"

    def close(self) -> None:
        self.closed = True


def test_a_response_dropped_while_it_is_sent_is_closed() -> None:
    body = Body()
    app = _closing(lambda environ, start_response: body)
    it = app({}, lambda *a: None)
    assert next(iter(it)) == b"first"  # the server wrote the first chunk, then the client went away
    del it
    gc.collect()
    assert body.closed


def test_a_response_sent_whole_is_closed_and_passes_every_chunk() -> None:
    body = Body()
    app = _closing(lambda environ, start_response: body)
    assert list(app({}, lambda *a: None)) == [b"first", b"second"]
    assert body.closed
