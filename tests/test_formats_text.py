"""The plain-text / markdown article reader (pure: no app, no database)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from workbench.formats import FormatError
from workbench.formats import detect_format
from workbench.formats import text

DATA = Path(__file__).parent / "data"


def read_one(name: str, data: bytes):
    """Read ``data`` as the text file ``name`` and return its one record."""
    records = list(text.read(name, io.BytesIO(data)))
    assert len(records) == 1
    return records[0]


def test_reads_the_header_block_into_title_and_meta():
    path = DATA / "wire-article.txt"
    record = read_one(str(path), path.read_bytes())
    assert record.external_id == "wire-article"
    assert record.title == "Harbour Council Approves New Ferry Link to Skarra Island"
    assert record.layer is None and record.spans == []
    assert record.meta == {
        "title": "Harbour Council Approves New Ferry Link to Skarra Island",
        "byline": "By Lowland News Service",
        "source": "Lowland News Service",
        "published": "2025-01-17",
        "url": "https://lowland-news.example/2025/01/17/harbour-council-approves-ferry-link-a1234",
        "filename": "wire-article.txt",
    }
    assert record.text.startswith("A ferry landing at Skarra Island. Photo: council archive\n\nThe Halmstead")
    assert record.text.endswith("it would bid for the contract.")
    assert "Original url" not in record.text and "lowland-news" not in record.text
    assert "<u>said</u>" in record.text


@pytest.mark.parametrize(
    "line, expected",
    [
        ("December 05, 2024", "2024-12-05"),
        ("December 5, 2024", "2024-12-05"),
        ("Dec. 5, 2024", "2024-12-05"),
        ("5 December 2024", "2024-12-05"),
        ("05 Dec 2024", "2024-12-05"),
        ("2024-12-05", "2024-12-05"),
        ("Thursday, December 5, 2024", "2024-12-05"),
        ("Sunday, 9 November 2025", "2025-11-09"),
        ("December 5, 2024 10:42 a.m.", "2024-12-05"),
        ("February 30, 2024", None),
        ("Smarch 3, 2024", None),
        ("The talks resumed on December 5, 2024.", None),
        ("2024", None),
    ],
)
def test_date_lines(line, expected):
    assert text.parse_date(line) == expected


def test_bom_and_crlf_are_normalised_before_offsets_exist():
    data = "\ufeff# Title\r\n\r\nBy Test Agency\r\n2025-01-02\r\n\r\nFirst line.\r\nSecond\rthird.\r\n".encode("utf-8")
    record = read_one("x.md", data)
    assert record.title == "Title"
    assert record.meta["published"] == "2025-01-02"
    assert record.text == "First line.\nSecond\nthird."


def test_a_file_without_a_header_keeps_every_line():
    record = read_one("plain notes.txt", b"Anna Berg said the mill will close.\n\nBy then it was too late.\n")
    assert record.external_id == "plain-notes"
    assert record.title == "Anna Berg said the mill will close."
    assert record.text == "Anna Berg said the mill will close.\n\nBy then it was too late."
    assert "byline" not in record.meta


def test_url_on_the_same_line_and_markup_kept_literally():
    data = b"## Head\n\nBy AP\n\nBody <b>one</b>.\n\nOriginal url: https://example.org/a b\n"
    record = read_one("a.txt", data)
    assert record.meta["url"] == "https://example.org/ab"
    assert record.text == "Body <b>one</b>."


def test_first_line_is_the_headline_when_a_byline_follows():
    record = read_one("b.txt", "Mill To Close\nBy Ёлка News\nMarch 3, 2025\n\nBody.".encode("utf-8"))
    assert record.title == "Mill To Close"
    assert record.meta["source"] == "Ёлка News"
    assert record.text == "Body."


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"## Title\n\nabc\x00def\n", "bin.txt:3: a binary file (NUL byte), not text"),
        (b"## Title\n\nna\xefve \xff\n", "bin.txt:3: not UTF-8 text (byte 0xef)"),
        (b"", "bin.txt: empty file (no text)"),
        (b"  \n\n\t\n", "bin.txt: empty file (no text)"),
        (b"## Only a title\n\nBy AFP\n", "bin.txt:4: no article text after the header"),
    ],
)
def test_bad_files_are_refused_with_file_and_line(data, expected):
    with pytest.raises(FormatError) as info:
        read_one("bin.txt", data)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    "name, head, expected",
    [
        ("a.jsonl", b"", "jsonl"),
        ("a.JSON-LINES", b"", "jsonl"),
        ("a.txt", b"{not json}", "text"),
        ("a.md", b"# x", "text"),
        ("a.markdown", b"x", "text"),
        ("export.data", b"\n  {\"id\": 1}", "jsonl"),
        ("export.data", b"\xef\xbb\xbf{\"id\": 1}", "jsonl"),
    ],
)
def test_detect_format(name, head, expected):
    assert detect_format(name, head) == expected


def test_detect_format_refuses_what_it_cannot_tell():
    with pytest.raises(FormatError, match=r"^notes\.doc: cannot tell the format"):
        detect_format("notes.doc", b"PK\x03\x04")


def test_ids_from_long_file_names_fit_the_id_column():
    record = read_one("x" * 400 + ".txt", b"Body.")
    assert record.external_id == "x" * 200
