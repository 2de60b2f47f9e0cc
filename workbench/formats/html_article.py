"""News HTML, or text with inline tags, as one document with markup hints (pure).

The stored text is the visible text: tags are removed and character
references decoded; in an HTML page (one with ``<html>``, ``<body>``,
``<p>``, ``<div>``, ``<br>`` ... tags) white space is collapsed as a browser
does, block elements end paragraphs (a blank line) and ``<br>`` ends a line,
and ``<head>``, ``<script>``, ``<style>`` and the like are not text; the
page's ``<title>`` is the title and its canonical URL, author and published
date go into meta.  Text with a few inline tags (an article with
``<u>said</u>``) keeps its lines and spaces, and its header lines (headline,
byline, date, "Original url:") are read as plain-text import reads them.

The markup is kept as hints: ``<u>``, ``<b>``/``<strong>``, ``<i>``/``<em>``,
``<a href>`` and ``<q>``, and text between quotation marks, become spans of a
prediction layer from the model ``markup``, which annotators see as
suggestions.  Which label each hint suggests: ``u`` the schema's first cue
label, ``q`` (and quotation marks) its first claim label, ``a``, ``b`` and
``i`` its first entity label; ``--label-map u=CUE,b=PERSON`` chooses others,
and a hint whose kind the schema lacks is not suggested.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import IO
from typing import Any

from workbench.domain.annotations import AnnotationError
from workbench.domain.annotations import check_span
from workbench.domain.offsets import text_sha256
from workbench.domain.schema import Schema
from workbench.formats._common import decode
from workbench.formats._common import stem_id
from workbench.formats._foreign import ReadOptions
from workbench.formats.records import DocumentRecord
from workbench.formats.records import FormatError
from workbench.formats.records import SpanRecord
from workbench.formats.text import normalise
from workbench.formats.text import parse_article

#: The model name of the hints' prediction layer.
MARKUP_MODEL = "markup"
#: Inline tags that give hints, by the name the label map uses.
HINT_TAGS = {"u": "u", "b": "b", "strong": "b", "i": "i", "em": "i", "a": "a", "q": "q"}
#: Which kind of label each hint suggests by default.
HINT_KINDS = {"u": "cue", "q": "claim", "a": "entity", "b": "entity", "i": "entity"}
BLOCK = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
    "tr", "ul", "td", "th", "caption",
}
HIDDEN = {"head", "script", "style", "template", "noscript", "title", "svg", "iframe", "object", "button", "select", "textarea"}
_PAGE_RE = re.compile(r"<(?:!doctype|html|head|body|p|div|br|article|section|h[1-6]|li|table)\b", re.I)
#: Text between quotation marks (straight, curly, «», „“): group 1-4 holds the quoted words.
QUOTES_RE = re.compile(r"\"([^\"\n]+?)\"|“([^”\n]+?)”|«\s?([^»\n]+?)\s?»|„([^“”\n]+?)[“”]")
_SPACE_RE = re.compile(r"[ \t\r\n\f\v]+")


class _Visible(HTMLParser):
    """Collects the visible text and the ranges of hint tags."""

    def __init__(self, page: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.out: list[str] = []
        self.length = 0
        self.hidden = 0
        self.pre = 0
        self.open: list[tuple[str, str, int]] = []  # (tag, hint name, start)
        self.hints: list[tuple[int, int, str]] = []
        self.title = ""
        self.in_title = False
        self.meta: dict[str, str] = {}

    def emit(self, value: str) -> None:
        if value:
            self.out.append(value)
            self.length += len(value)

    def last_char(self) -> str:
        return self.out[-1][-1] if self.out else "\n"

    def trim_spaces(self) -> None:
        while self.out and self.out[-1].endswith(" "):
            piece = self.out.pop()
            kept = piece.rstrip(" ")
            self.length -= len(piece) - len(kept)
            if kept:
                self.out.append(kept)
                break

    def newlines(self, count: int) -> None:
        if not self.page or not self.out:
            return
        self.trim_spaces()
        tail = "".join(self.out[-2:])
        have = len(tail) - len(tail.rstrip("\n"))
        if have < count:
            self.emit("\n" * (count - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self.in_title = True
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and values.get("content"):
                self.meta.setdefault(key, values["content"] or "")
        if tag == "link" and (values.get("rel") or "").lower() == "canonical" and values.get("href"):
            self.meta.setdefault("canonical", values["href"] or "")
        if tag in HIDDEN:
            self.hidden += 1
            return
        if not self.page:
            if tag in HINT_TAGS:
                self.open.append((tag, HINT_TAGS[tag], self.length))
            return
        if tag == "br":
            self.trim_spaces()
            self.emit("\n")
        elif tag in BLOCK:
            self.newlines(2)
            if tag == "pre":
                self.pre += 1
        elif tag in HINT_TAGS and (tag != "a" or values.get("href")):
            self.open.append((tag, HINT_TAGS[tag], self.length))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "meta", "link", "img", "hr", "input"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag in HINT_TAGS:
            for i in range(len(self.open) - 1, -1, -1):
                if self.open[i][0] == tag:
                    _tag, hint, start = self.open.pop(i)
                    if self.length > start:
                        self.hints.append((start, self.length, hint))
                    break
        if self.page and tag in BLOCK:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.newlines(2)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.hidden:
            return
        if not self.page or self.pre:
            self.emit(data)
            return
        data = _SPACE_RE.sub(" ", data)
        if data.startswith(" ") and self.last_char() in " \n":
            data = data[1:]
        self.emit(data)


def read(filename: str, stream: IO[bytes], schema: Schema, options: ReadOptions | None = None) -> Iterator[DocumentRecord]:
    """Yield the document of one HTML (or marked-up text) file, then its ``markup`` prediction layer if it has hints.

    :raise FormatError: a binary, non-UTF-8 or empty file.
    """
    options = options or ReadOptions()
    source = normalise(decode(filename, stream.read()))
    page = _PAGE_RE.search(source) is not None
    parser = _Visible(page)
    parser.feed(source)
    parser.close()
    visible = "".join(parser.out)
    hints = parser.hints
    meta: dict[str, Any] = {}
    if page:
        body = visible.strip()
        shift = len(visible) - len(visible.lstrip())
        title = _SPACE_RE.sub(" ", parser.title).strip()
        if title:
            meta["title"] = title
        url = parser.meta.get("canonical") or parser.meta.get("og:url")
        if url:
            meta["url"] = url
        author = parser.meta.get("author") or parser.meta.get("article:author")
        if author:
            meta["source"] = author
        published = parser.meta.get("article:published_time") or parser.meta.get("date")
        if published and re.match(r"^\d{4}-\d{2}-\d{2}", published):
            meta["published"] = published[:10]
    else:
        if not visible.strip():
            raise FormatError(filename, None, "empty file (no text)")
        title, meta, body = parse_article(filename, visible)
        shift = visible.find(body)
        if shift < 0:
            options.note(f"{filename}: the markup hints were dropped (the article's header could not be told from its text)")
            hints = []
    if not body:
        raise FormatError(filename, None, "no visible text")
    meta["filename"] = filename.replace("\\", "/").rsplit("/", 1)[-1]
    title = meta.get("title", "") if isinstance(meta.get("title"), str) else ""
    external_id = stem_id(filename)
    digest = text_sha256(body)
    yield DocumentRecord(external_id=external_id, text=body, meta=meta, title=title, line=1, text_sha256=digest)
    spans = _hint_spans(schema, options, body, [(s - shift, e - shift, h) for s, e, h in hints])
    if spans:
        yield DocumentRecord(
            external_id=external_id, text=body, meta=meta, title=title, layer="prediction", annotator=MARKUP_MODEL,
            spans=spans, line=1, text_sha256=digest,
        )


def _hint_spans(schema: Schema, options: ReadOptions, text: str, hints: list[tuple[int, int, str]]) -> list[SpanRecord]:
    """Return the hints (tags and quotations) as spans of the schema's labels, trimmed of white space."""
    for match in QUOTES_RE.finditer(text):
        group = next(i for i in range(1, 5) if match.group(i) is not None)
        hints.append((match.start(group), match.end(group), "q"))
    labels: dict[str, str | None] = {}
    for hint, kind in HINT_KINDS.items():
        mapped = options.map(hint)
        if mapped != hint:
            if schema.label(mapped) is None:
                raise FormatError("--label-map", None, f"{hint}={mapped}: {mapped!r} is not in the project's schema")
            labels[hint] = mapped
        else:
            labels[hint] = next((label.name for label in schema.labels if label.kind == kind), None)
    out: list[SpanRecord] = []
    seen: set[tuple[int, int, str]] = set()
    for start, end, hint in sorted(hints):
        label = labels.get(hint)
        start, end = max(0, start), min(len(text), end)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if label is None or start >= end or (start, end, label) in seen:
            continue
        try:
            check_span(schema, text, label, start, end, {})
        except AnnotationError:
            continue  # a hint the schema cannot hold (a label that needs attributes) is no suggestion
        seen.add((start, end, label))
        out.append(SpanRecord(f"M{len(out) + 1}", start, end, label, text[start:end], {}))
    return out
