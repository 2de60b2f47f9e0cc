"""Markdown for the project guidelines: one renderer for the pages and the API."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _renderer():  # type: ignore[no-untyped-def]
    # Imported on first use: a server that never shows guidelines never loads it.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@lru_cache(maxsize=64)
def render_markdown(text: str) -> str:
    """Return ``text`` (markdown) as HTML.

    Raw HTML in the markdown is escaped and unsafe links (``javascript:``)
    are dropped, so the result may be inserted as HTML.  Cached: guidelines
    rarely change and every annotate page shows them.
    """
    return _renderer().render(text or "")
