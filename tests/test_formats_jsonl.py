"""The JSONL reader and writer and the split helpers (pure: no app, no database)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from factories import jsonl as jsonl_lines

from workbench.domain.offsets import text_sha256
from workbench.domain.schema import news_schema
from workbench.formats import FormatError
from workbench.formats import jsonl
from workbench.formats.records import DocumentRecord
from workbench.formats.split import assign_splits
from workbench.formats.split import parse_split
from workbench.formats.split import split_path

DATA = Path(__file__).parent / "data"
SCHEMA = news_schema()
TEXT = "Anna Berg said the mill will close."
GOOD_GOLD = {
    "id": "d1",
    "text": TEXT,
    "layer": "gold",
    "spans": [
        {"id": "T1", "start": 0, "end": 9, "label": "PERSON", "text": "Anna Berg"},
        {"id": "T2", "start": 10, "end": 14, "label": "CUE", "text": "said"},
        {"id": "T3", "start": 15, "end": 34, "label": "CLAIM", "text": "the mill will close"},
    ],
    "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"]}],
}


def read(name: str, data: bytes):
    """Read all records of ``data`` as the JSONL file ``name``."""
    return list(jsonl.read(name, io.BytesIO(data), SCHEMA))


def with_(base: dict, **changes) -> dict:
    """Return a deep copy of ``base`` with top-level ``changes``."""
    out = json.loads(json.dumps(base))
    out.update(changes)
    return out


def test_reads_layers_sharing_an_id():
    records = read("layers.jsonl", (DATA / "layers.jsonl").read_bytes())
    assert [(r.external_id, r.layer, r.annotator, r.line) for r in records] == [
        ("ostby-mill", None, None, 1),
        ("ostby-mill", "gold", None, 2),
        ("ostby-mill", "annotator", "ingrid", 3),
        ("ostby-mill", "prediction", "ner-small-v2", 4),
        ("kestrel-prices", "gold", None, 5),
    ]
    gold = records[1]
    assert gold.title == "Ostby mill to close"
    assert [(s.id, s.label, s.text) for s in gold.spans][:2] == [("T1", "PERSON", "Lena Varro"), ("T2", "CUE", "said")]
    assert gold.attributions[0].content == ["T3"] and gold.attributions[0].attrs == {"quote": "indirect"}
    assert "\r\n" in records[4].text  # JSONL text is kept verbatim


def test_missing_ids_come_from_the_file_stem_and_line_and_blank_lines_are_skipped():
    records = read("My Batch.jsonl", b"\xef\xbb\xbf" + jsonl_lines({"text": "one"}, "", {"text": "two"}))
    assert [r.external_id for r in records] == ["my-batch-1", "my-batch-3"]


BAD = [
    ("{broken", "not valid JSON"),
    ("[1, 2]", "a record must be a JSON object"),
    (with_(GOOD_GOLD, text=42), "text must be a string, got int"),
    (with_(GOOD_GOLD, text=""), "text is empty"),
    (with_(GOOD_GOLD, id="d2", text="a\u0000b"), "text contains a NUL character"),
    (with_(GOOD_GOLD, layer="silver"), "unknown layer 'silver'"),
    (with_(GOOD_GOLD, layer="annotator"), "an annotator record needs the annotator's name"),
    (with_(GOOD_GOLD, layer="prediction"), "a prediction record needs the model's name"),
    (with_(GOOD_GOLD, layer=None), "needs a layer"),
    (with_(GOOD_GOLD, doc_labels=["sport"]), "no document labels"),
    (with_(GOOD_GOLD, spans=[{"id": "T1", "start": 30, "end": 90, "label": "PERSON"}]), "span T1: span 30-90 lies outside the text (length 35)"),
    (with_(GOOD_GOLD, spans=[{"id": "T1", "start": 0, "end": 9, "label": "PERSON", "text": "Anna Borg"}]), "span T1: span 0-9 covers 'Anna Berg', not 'Anna Borg'"),
    (with_(GOOD_GOLD, spans=[{"id": "T1", "start": 0, "end": 9, "label": "ANIMAL"}]), "span T1: label 'ANIMAL' is not in the project's schema"),
    (with_(GOOD_GOLD, spans=[{"id": "T1", "start": 15, "end": 34, "label": "CLAIM", "attrs": {"factuality": "maybe"}}]), "span T1: span CLAIM attribute 'factuality'"),
    (with_(GOOD_GOLD, relations=[{"id": "R1", "type": "member_of", "head": "T1", "tail": "T9"}]), "relation R1: tail 'T9' is not a span of this record"),
    (with_(GOOD_GOLD, relations=[{"id": "R1", "type": "member_of", "head": "T2", "tail": "T1"}]), "relation R1: a member_of relation cannot go from CUE to PERSON"),
    (with_(GOOD_GOLD, attributions=[{"id": "A1", "source": "T7", "cue": "T2", "content": ["T3"]}]), "attribution A1: source 'T7' is not a span of this record"),
    (with_(GOOD_GOLD, attributions=[{"id": "A1", "source": "T1", "cue": "T2", "content": ["T8"]}]), "attribution A1: content 'T8' is not a span of this record"),
    (with_(GOOD_GOLD, attributions=[{"id": "A1", "source": None, "cue": None, "content": ["T3"]}]), "attribution A1: an attribution needs a source or a cue"),
    (with_(GOOD_GOLD, spans=GOOD_GOLD["spans"] + [{"id": "T1", "start": 0, "end": 4, "label": "PERSON"}]), "span id 'T1' is used twice in this record"),
    (with_(GOOD_GOLD, relations=[{"id": "R1", "type": "about", "head": "T3", "tail": "T1"}] * 2), "relation id 'R1' is used twice"),
    (with_(GOOD_GOLD, attributions=GOOD_GOLD["attributions"] * 2), "attribution id 'A1' is used twice"),
    (with_(GOOD_GOLD, text=TEXT + " Later."), "id 'd1' already has a different text (line 1)"),
    (GOOD_GOLD, "id 'd1' already has a gold layer (line 1)"),
]


@pytest.mark.parametrize("bad, reason", BAD)
def test_bad_lines_are_refused_with_file_line_and_reason(bad, reason):
    data = jsonl_lines(GOOD_GOLD, bad)
    with pytest.raises(FormatError) as info:
        read("batch.jsonl", data)
    assert str(info.value).startswith("batch.jsonl:2: "), str(info.value)
    assert reason in str(info.value)
    assert info.value.line == 2


PLAIN = {"id": "p1", "text": TEXT, "meta": {"title": "Mill", "source": "Wire"}}


@pytest.mark.parametrize(
    "bad, reason",
    [
        (PLAIN, "id 'p1' already has a plain record (line 1)"),
        (with_(PLAIN, text=TEXT + " Later."), "id 'p1' already has a different text (line 1)"),
        (with_(PLAIN, id="p2", spans=3), "spans must be a list"),
        (with_(PLAIN, id="p2", spans=GOOD_GOLD["spans"]), "needs a layer"),
        (with_(PLAIN, id="p2", annotator=" "), "annotator must be a name"),
        (with_(PLAIN, id="p2", meta=[1]), "meta must be an object"),
        (with_(PLAIN, id="p2", doc_labels=["sport"]), "no document labels"),
    ],
)
def test_bad_plain_lines_are_refused_with_file_line_and_reason(bad, reason):
    with pytest.raises(FormatError) as info:
        read("plain.jsonl", jsonl_lines(PLAIN, bad))
    assert str(info.value).startswith("plain.jsonl:2: ") and reason in str(info.value), str(info.value)


def test_plain_records_come_as_tuples_to_the_importer_and_as_records_otherwise():
    exported = with_(PLAIN, id="p2", layer=None, annotator=None, spans=[], relations=[], attributions=[], doc_labels=[])
    data = jsonl_lines(PLAIN, exported, GOOD_GOLD)
    items = list(jsonl.read_items("m.jsonl", io.BytesIO(data), SCHEMA))
    records = read("m.jsonl", data)
    digest = text_sha256(TEXT)
    assert items[:2] == [("p1", TEXT, PLAIN["meta"], "Mill", 1, digest), ("p2", TEXT, PLAIN["meta"], "Mill", 2, digest)]
    assert items[2] == records[2] and records[2].layer == "gold"
    assert records[0] == DocumentRecord(external_id="p1", text=TEXT, meta=PLAIN["meta"], title="Mill", line=1, text_sha256=digest)
    assert records[1] == DocumentRecord(external_id="p2", text=TEXT, meta=PLAIN["meta"], title="Mill", line=2, text_sha256=digest)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "b.jsonl: empty file (no records)"),
        (b"\n \n", "b.jsonl: empty file (no records)"),
        (b'{"text": "a"}\n{"text": "b\x00"}\n', "b.jsonl:2: a binary file (NUL byte), not text"),
        (b'{"text": "a"}\n{"text": "caf\xe9"}\n', "b.jsonl:2: not UTF-8 text (byte 0xe9)"),
    ],
)
def test_bad_files(data, expected):
    with pytest.raises(FormatError) as info:
        read("b.jsonl", data)
    assert str(info.value) == expected


def test_the_reader_streams_records_before_reading_the_rest():
    stream = iter([jsonl_lines(GOOD_GOLD), b"{broken\n"])

    class Lines(io.RawIOBase):
        def __iter__(self):
            """Hand out the lines one at a time."""
            return stream

    records = jsonl.read("s.jsonl", Lines(), SCHEMA)
    assert next(records).external_id == "d1"
    with pytest.raises(FormatError, match=r"^s\.jsonl:2: not valid JSON"):
        next(records)


def test_write_then_read_round_trip(tmp_path):
    original = read("layers.jsonl", (DATA / "layers.jsonl").read_bytes())
    out = io.StringIO()
    assert jsonl.write((jsonl.record_to_dict(r, SCHEMA) for r in original), out) == len(original)
    written = out.getvalue()
    assert written.endswith("}\n") and written.count("\n") == len(original)
    assert "😀" in written  # UTF-8 kept, not \u escapes
    first = json.loads(written.splitlines()[1])
    assert first["format_version"] == 1 and first["schema"] == {"name": "news", "version": 1}
    again = read("layers.jsonl", written.encode("utf-8"))
    assert again == original


def test_parse_split():
    assert parse_split("train=0.8, dev=0.1,test=0.1") == [("train", 0.8), ("dev", 0.1), ("test", 0.1)]
    for bad, message in [("train=0.8,dev=0.1", "add up to 0.9"), ("train", "must look like"), ("a=0.5,a=0.5", "named twice")]:
        with pytest.raises(ValueError, match=message):
            parse_split(bad)


def test_assign_splits_is_deterministic_and_proportional():
    ids = [f"doc-{i:03d}" for i in range(100)]
    parts = parse_split("train=0.8,dev=0.1,test=0.1")
    first = assign_splits(ids, parts, seed=7)
    assert first == assign_splits(list(reversed(ids)), parts, seed=7)
    assert first != assign_splits(ids, parts, seed=8)
    counts = {name: list(first.values()).count(name) for name, _ in parts}
    assert counts == {"train": 80, "dev": 10, "test": 10}
    assert set(first) == set(ids)


def test_split_path():
    assert split_path("out/data.jsonl", "train") == str(Path("out/data.train.jsonl"))
    assert split_path("data", "dev") == "data.dev"


# -- the export's JSONL lines, built from the documents, against dumping the records ------------------

from hypothesis import given  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from workbench.formats.records import ExportDocument  # noqa: E402
from workbench.formats.records import ExportLayer  # noqa: E402
from workbench.formats.records import export_dicts  # noqa: E402

_TEXTS = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)
_NAMES = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=6)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _NAMES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=3),
    max_leaves=6,
)
_OBJECTS = st.dictionaries(st.sampled_from(["note", "factuality", "ü", "a\"b"]) | _NAMES, _JSON, max_size=3)
_NOTES = st.none() | st.just("") | _NAMES


@st.composite
def _documents(draw):
    """An export document with random layers over a random text (escapes, emoji, notes, provenance)."""
    text = draw(st.one_of(_TEXTS, st.sampled_from(["plain ascii text here", 'say "x"\r\n\ttab 😀 ok'])))
    ids = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=4)

    def span():
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        return (draw(ids), start, end, draw(_NAMES), draw(_OBJECTS), draw(st.none() | _OBJECTS), draw(_NOTES))

    layers = []
    for _ in range(draw(st.integers(0, 3))):
        spans = [span() for _ in range(draw(st.integers(0, 3)))]
        uids = [s[0] for s in spans] or ["T1"]
        relations = [
            (draw(ids), draw(_NAMES), draw(st.sampled_from(uids)), draw(st.sampled_from(uids)), draw(_OBJECTS), draw(st.none() | _OBJECTS))
            for _ in range(draw(st.integers(0, 2)))
        ]
        attributions = [
            (draw(ids), draw(st.none() | st.sampled_from(uids)), draw(st.none() | st.sampled_from(uids)),
             draw(st.lists(st.sampled_from(uids), max_size=2)), draw(_OBJECTS), draw(st.none() | _OBJECTS),
             draw(st.none() | ids), draw(_NOTES))
            for _ in range(draw(st.integers(0, 2)))
        ]
        layers.append(ExportLayer(
            draw(st.sampled_from(["gold", "annotator", "prediction"])), draw(st.none() | _NAMES),
            draw(st.sampled_from(["adjudicated", "submitted", "in_progress"])), draw(st.just("") | _NAMES),
            spans, relations, attributions,
        ))
    return ExportDocument(draw(ids), text, draw(_OBJECTS), "ab" * 32, draw(st.booleans()), layers)


@settings(max_examples=150, deadline=None)
@given(_documents())
def test_encoder_lines_are_the_bytes_of_dumping_the_records(document):
    schema_ref = {"name": "news ✓", "version": 2}
    expected = [json.dumps(jsonl.with_notes(r), ensure_ascii=False) for r in export_dicts(document, schema_ref, jsonl.FORMAT_VERSION)]
    assert jsonl.Encoder(schema_ref).lines(document) == expected
