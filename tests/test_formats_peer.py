"""Other tools' formats both ways: Label Studio, doccano, brat, CoNLL, spaCy, HTML (SQLite and PostgreSQL).

Round trips: export, import into a new project, export again gives the same
file, for every format that can be read back, with the real Label Studio and
doccano exports of ../shared/reference/peer-exports and with text holding
emoji, combining marks and CRLF.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from factories import make_project
from workbench.domain.schema import NEWS_SCHEMA
from workbench.domain.schema import news_schema
from workbench.errors import ImportError_
from workbench.errors import InvalidInput
from workbench.formats import FormatError
from workbench.formats import brat
from workbench.formats import detect_format
from workbench.formats._foreign import LabelMapError
from workbench.formats._foreign import parse_label_map
from workbench.formats._foreign import read_label_map_file
from workbench.formats.records import ExportContext
from workbench.services import exporting
from workbench.services import importing

DATA = Path(__file__).parent / "data"
PEER = Path(__file__).resolve().parents[2] / "shared" / "reference" / "peer-exports"
LS_FILE = PEER / "label-studio-1.23-export-JSON.json"
DOCCANO_FILE = PEER / "doccano-1.8.4-export-JSONL.jsonl"
needs_peer = pytest.mark.skipif(not LS_FILE.exists(), reason="the peer-exports reference files are not beside the checkout")

#: The news schema, whose SOURCE label (kind source) the peer exports use.
PEER_SCHEMA = json.loads(json.dumps(NEWS_SCHEMA))
assert any(label["name"] == "SOURCE" for label in PEER_SCHEMA["labels"])
PEER_MAP = {"PER": "PERSON", "affiliated_with": "member_of", "based_in": "located_in"}
READABLE = ["jsonl", "labelstudio", "doccano", "brat"]


def export_bytes(db, project, layer: str, fmt: str) -> bytes:
    """Return an export as bytes."""
    out = io.BytesIO()
    exporting.write_export(db, project, layer, fmt, out)
    return out.getvalue()


def records(db, project, layer: str = "all") -> list[dict]:
    """Return the JSONL records of an export, without the layer status (formats other than JSONL do not carry it)."""
    out = []
    for record in exporting.export_records(db, project, layer):
        record.pop("status", None)
        out.append(record)
    return out


def assert_spans_match(recs: list[dict]) -> None:
    """Every span covers exactly its text."""
    for record in recs:
        for span in record["spans"]:
            assert record["text"][span["start"] : span["end"]] == span["text"], (record["id"], span)


def round_trip(db, first, fmt: str, layer: str = "all", label_map=None) -> tuple[bytes, bytes]:
    """Export ``first`` in ``fmt``, import that into a new project, export again; return both exports."""
    one = export_bytes(db, first, layer, fmt)
    second = make_project(db, f"second-{fmt}-{layer}", schema=first.label_schema)
    name = {"labelstudio": "x.json", "doccano": "x.jsonl", "brat": "x.zip", "jsonl": "x.jsonl"}[fmt]
    importing.import_stream(db, second, name, one, fmt, label_map=label_map)
    db.commit()
    return one, export_bytes(db, second, layer, fmt)


# -- Label Studio ------------------------------------------------------------------


@needs_peer
def test_label_studio_sample_imports_with_a_label_map_and_exports_back(db):
    project = make_project(db, "ls", schema=PEER_SCHEMA)
    with pytest.raises(ImportError_, match=r"label 'PER' is not in the project's schema \(map it with --label-map PER=LABEL\)"):
        importing.import_stream(db, project, LS_FILE.name, LS_FILE.read_bytes())
    db.rollback()
    report = importing.import_stream(db, project, LS_FILE.name, LS_FILE.read_bytes(), label_map=PEER_MAP)
    db.commit()
    assert (report.format, report.documents, report.layers) == ("labelstudio", 3, 3)
    recs = records(db, project, "annotators")
    assert [(r["id"], r["annotator"]) for r in recs] == [("1001", "labelstudio-1"), ("1002", "labelstudio-1"), ("1003", "labelstudio-1")]
    assert_spans_match(recs)
    first = recs[0]
    source = json.loads(LS_FILE.read_text(encoding="utf-8"))[0]
    regions = [r for r in source["annotations"][0]["result"] if r["type"] == "labels"]
    assert len(first["spans"]) == len(regions)
    assert first["meta"] == {"title": source["data"]["title"], "article_id": source["data"]["article_id"]}
    by_id = {s["id"]: s for s in first["spans"]}
    assert by_id["t1s1"]["label"] == "PERSON" and by_id["t1s1"]["text"] == "Elena Petrova"
    # affiliated_with became member_of; attributed_to / introduces became attributions
    assert {"type": "member_of", "head": "t1s1", "tail": "t1s2"}.items() <= first["relations"][0].items()
    att = next(a for a in first["attributions"] if a["content"] == ["t1s4"])
    assert (att["source"], att["cue"]) == ("t1s1", "t1s3")
    # ... and back: export, import into a new project, export again gives the same file
    one, two = round_trip(db, project, "labelstudio", "annotators")
    assert one == two
    tasks = json.loads(one)
    assert tasks[0]["data"]["text"] == source["data"]["text"]
    assert tasks[0]["annotations"][0]["result"][0]["value"]["text"] == "Elena Petrova"


@needs_peer
def test_doccano_sample_imports_with_a_label_map_and_exports_back(db):
    project = make_project(db, "dc", schema=PEER_SCHEMA)
    report = importing.import_stream(db, project, DOCCANO_FILE.name, DOCCANO_FILE.read_bytes(), label_map=PEER_MAP)
    db.commit()
    assert (report.format, report.documents, report.layers) == ("doccano", 3, 3)
    recs = records(db, project, "annotators")
    assert_spans_match(recs)
    assert recs[0]["annotator"] == "doccano-1.8.4-export-JSONL"
    source = json.loads(DOCCANO_FILE.read_text(encoding="utf-8").splitlines()[0])
    assert len(recs[0]["spans"]) == len(source["entities"])
    assert recs[0]["meta"]["title"] == source["title"]
    assert any(a["source"] and a["cue"] for a in recs[0]["attributions"])
    one, two = round_trip(db, project, "doccano", "annotators")
    assert one == two
    unannotated = PEER / "doccano-1.8.4-export-JSONL-unannotated.jsonl"
    report = importing.import_stream(db, project, unannotated.name, unannotated.read_bytes(), label_map=PEER_MAP)
    assert report.layers == 0 and report.documents + report.unchanged == 1


@needs_peer
def test_label_studio_unannotated_task_is_a_plain_document(db):
    project = make_project(db, "ls", schema=PEER_SCHEMA)
    path = PEER / "label-studio-1.23-export-JSON-unannotated.json"
    report = importing.import_stream(db, project, path.name, path.read_bytes())
    assert (report.documents, report.layers) == (1, 0)


@needs_peer
def test_peer_sample_round_trips_through_every_readable_format(db):
    project = make_project(db, "peer", schema=PEER_SCHEMA)
    importing.import_stream(db, project, LS_FILE.name, LS_FILE.read_bytes(), label_map=PEER_MAP)
    db.commit()
    for fmt in READABLE:
        one, two = round_trip(db, project, fmt)
        assert one == two, fmt


def test_unmapped_relation_type_and_bad_map_target_are_named(db):
    project = make_project(db)
    task = {"data": {"text": "Ana Berg works for Kestrel."}, "annotations": [{"completed_by": 3, "result": [
        {"id": "a", "type": "labels", "value": {"start": 0, "end": 8, "text": "Ana Berg", "labels": ["PERSON"]}},
        {"id": "b", "type": "labels", "value": {"start": 19, "end": 26, "text": "Kestrel", "labels": ["ORG"]}},
        {"from_id": "a", "to_id": "b", "type": "relation", "labels": ["works_for"]},
    ]}]}
    data = json.dumps([task]).encode()
    with pytest.raises(ImportError_, match=r"relation type 'works_for' is not in the project's schema"):
        importing.import_stream(db, project, "ls.json", data)
    db.rollback()
    with pytest.raises(ImportError_, match=r"label 'PERSON' is mapped to 'HUMAN', which is not in the project's schema"):
        importing.import_stream(db, project, "ls.json", data, label_map={"PERSON": "HUMAN", "works_for": "member_of"})
    db.rollback()
    report = importing.import_stream(db, project, "ls.json", data, label_map={"works_for": "member_of"})
    assert report.layers == 1


# -- offsets: UTF-16 units and CRLF ---------------------------------------------------

TRICKY = "Zoë 😀 Ferrand said:\r\n\"Cafe\u0301 prices rise 𝕏 today,\" told 🇳🇴 Radio."
PIECES = [("Zoë 😀 Ferrand", "PERSON"), ("said", "CUE"), ("Cafe\u0301 prices rise 𝕏 today", "CLAIM"), ("Radio", "ORG")]


def utf16(text: str, index: int) -> int:
    """Return the UTF-16 index of a code-point index."""
    return len(text[:index].encode("utf-16-le")) // 2


def test_label_studio_utf16_offsets_are_converted_and_noted(db):
    project = make_project(db)
    result = []
    for i, (piece, label) in enumerate(PIECES, 1):
        start = TRICKY.index(piece)
        result.append({"id": f"r{i}", "type": "labels", "value": {"start": utf16(TRICKY, start), "end": utf16(TRICKY, start + len(piece)), "text": piece, "labels": [label]}})
    data = json.dumps([{"data": {"text": TRICKY, "id": "tricky"}, "annotations": [{"completed_by": 1, "result": result}]}]).encode()
    report = importing.import_stream(db, project, "tricky.json", data)
    db.commit()
    assert report.notes == ["tricky.json: offsets counted in UTF-16 units were converted to code points"]
    (record,) = records(db, project, "annotators")
    assert record["text"] == TRICKY
    assert [s["text"] for s in record["spans"]] == [p for p, _ in PIECES]
    assert_spans_match([record])
    one, two = round_trip(db, project, "labelstudio", "annotators")
    assert one == two
    exported = json.loads(one)[0]["annotations"][0]["result"]
    assert [r["value"]["start"] for r in exported if r["type"] == "labels"] == [r["value"]["start"] for r in result]


def test_doccano_offsets_over_lf_text_are_converted_to_the_crlf_text(db):
    project = make_project(db)
    lf = TRICKY.replace("\r\n", "\n")
    entities = []
    for i, (piece, label) in enumerate(PIECES, 1):
        start = lf.index(piece)
        entities.append({"id": i, "label": label, "start_offset": start, "end_offset": start + len(piece)})
    line = json.dumps({"id": "tricky", "text": TRICKY, "entities": entities, "relations": []})
    report = importing.import_stream(db, project, "ana.jsonl", (line + "\n").encode(), "doccano")
    db.commit()
    assert report.notes == ["ana.jsonl: offsets counted in code points of the text with CRLF read as LF were converted to code points"]
    (record,) = records(db, project, "annotators")
    assert record["annotator"] == "ana"
    assert [s["text"] for s in record["spans"]] == [p for p, _ in PIECES]


def test_a_span_whose_text_matches_in_no_unit_is_refused(db):
    project = make_project(db)
    task = {"data": {"text": TRICKY}, "annotations": [{"completed_by": 1, "result": [
        {"id": "x", "type": "labels", "value": {"start": 0, "end": 3, "text": "Ana", "labels": ["PERSON"]}}]}]}
    with pytest.raises(ImportError_, match=r"span x \(PERSON 0-3\): span 0-3 covers 'Zoë', not 'Ana'"):
        importing.import_stream(db, project, "bad.json", json.dumps([task]).encode())


@pytest.mark.parametrize("fmt", READABLE)
def test_emoji_and_crlf_round_trip_in_every_readable_format(db, fmt):
    project = make_project(db)
    spans = []
    for i, (piece, label) in enumerate(PIECES, 1):
        start = TRICKY.index(piece)
        spans.append({"id": f"T{i}", "start": start, "end": start + len(piece), "label": label, "attrs": {}})
    spans[2]["attrs"] = {"factuality": "hedged"}
    layers = [
        {"id": "tricky", "text": TRICKY, "meta": {"source": "wire"}, "layer": "gold", "spans": spans,
         "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"], "attrs": {"quote": "direct"}}]},
        {"id": "tricky", "text": TRICKY, "layer": "annotator", "annotator": "ana", "spans": spans[:2]},
        {"id": "tricky", "text": TRICKY, "layer": "prediction", "annotator": "ner-v1", "spans": spans[3:]},
        {"id": "plain", "text": "Nothing here 🙂.\r\nAt all."},
    ]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in layers).encode()
    importing.import_stream(db, project, "tricky.jsonl", data)
    db.commit()
    before = records(db, project)
    one, two = round_trip(db, project, fmt)
    assert one == two
    second = make_project(db, f"third-{fmt}")
    importing.import_stream(db, second, {"brat": "t.zip", "labelstudio": "t.json"}.get(fmt, "t.jsonl"), one, fmt)
    db.commit()
    after = records(db, second)
    assert_spans_match(after)
    assert [(r["id"], r["text"], r["layer"], r["annotator"]) for r in after] == [
        (r["id"], r["text"], r["layer"], r["annotator"]) for r in before
    ]
    strip = lambda recs: [[(s["start"], s["end"], s["label"], s["text"], s["attrs"]) for s in r["spans"]] for r in recs]  # noqa: E731
    assert strip(after) == strip(before)
    gold = after[next(i for i, r in enumerate(after) if r["layer"] == "gold")]
    (att,) = gold["attributions"]
    labels = {s["id"]: s["label"] for s in gold["spans"]}
    assert (labels[att["source"]], labels[att["cue"]], [labels[c] for c in att["content"]]) == ("PERSON", "CUE", ["CLAIM"])
    assert att["attrs"] == {"quote": "direct"}


# -- brat ---------------------------------------------------------------------------


def brat_zip(files: dict[str, str]) -> bytes:
    """Return a zip holding ``files``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode("utf-8"))
    return out.getvalue()


BRAT_TEXT = "“The talks,” Ana Berg said, “will resume.”\nKestrel denied it."
BRAT_ANN = (
    "T1\tPERSON 13 21\tAna Berg\n"
    "T2\tCUE 22 26\tsaid\n"
    "T3\tCLAIM 1 10;29 40\tThe talks will resume\n"
    "T4\tORG 43 50\tKestrel\n"
    "T5\tCLAIM 51 60\tdenied it\n"
    "E1\tCUE:T2 Source:T1 Content:T3\n"
    "R1\tattributed_to Arg1:T5 Arg2:T4\n"
    "A1\tquote E1 direct\n"
    "A2\tfactuality T5 denied\n"
    "#1\tAnnotatorNotes T1\tchecked\\tagainst the\\nwire copy\n"
    "N1\tReference T4 Wikidata:Q1\tKestrel\n"
)


def test_brat_zip_reads_t_r_a_e_lines_and_discontinuous_content(db):
    project = make_project(db)
    data = brat_zip({"corpus/talks.txt": BRAT_TEXT, "corpus/talks.ann": BRAT_ANN, "corpus/other.txt": "Just text."})
    report = importing.import_stream(db, project, "corpus.zip", data)
    db.commit()
    assert (report.format, report.documents, report.layers) == ("brat", 2, 1)
    assert report.notes == ["talks.ann: brat normalisations, equivalences and notes other than AnnotatorNotes were skipped"]
    (record,) = records(db, project, "gold")
    assert_spans_match([record])
    texts = {s["id"]: s["text"] for s in record["spans"]}
    assert texts["T3"] == "The talks" and texts["T3-2"] == "will resume"
    by_source = {a["source"]: a for a in record["attributions"]}
    assert (by_source["T1"]["cue"], by_source["T1"]["content"], by_source["T1"]["attrs"]) == ("T2", ["T3", "T3-2"], {"quote": "direct"})
    assert (by_source["T4"]["cue"], by_source["T4"]["content"]) == (None, ["T5"])
    assert next(s for s in record["spans"] if s["id"] == "T5")["attrs"] == {"factuality": "denied"}
    # an AnnotatorNotes line is the span's note, its escapes undone
    assert next(s for s in record["spans"] if s["id"] == "T1").get("note") == "checked\tagainst the\nwire copy"


def test_brat_folder_imports_as_one_unit_and_bad_lines_name_file_and_line(db, tmp_path):
    project = make_project(db)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "talks.txt").write_text(BRAT_TEXT, encoding="utf-8")
    (folder / "talks.ann").write_text(BRAT_ANN, encoding="utf-8")
    report = importing.import_paths(db, project, [folder])
    assert (report.documents, report.layers) == (1, 1)
    db.rollback()
    (folder / "talks.ann").write_text("T1\tPERSON 13 21\tAna Berg\nT2\tCUE 22 x\tsaid\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"talks.ann:2: T2: offsets '22 x' must be START END"):
        importing.import_paths(db, project, [folder])
    db.rollback()
    (folder / "talks.ann").write_text("T1\tPERSON 13 21\tAna Bergx\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"span T1 \(PERSON 13-21\): span 13-21 covers 'Ana Berg', not 'Ana Bergx'"):
        importing.import_paths(db, project, [folder])


def test_brat_export_is_a_zip_with_annotation_conf(db):
    project = make_project(db)
    importing.import_stream(db, project, "corpus.zip", brat_zip({"talks.txt": BRAT_TEXT, "talks.ann": BRAT_ANN}))
    db.commit()
    with zipfile.ZipFile(io.BytesIO(export_bytes(db, project, "all", "brat"))) as archive:
        names = sorted(archive.namelist())
        conf = archive.read("annotation.conf").decode()
        ann = archive.read("gold/talks.ann").decode()
    assert names == ["annotation.conf", "documents/talks.txt", "gold/talks.ann", "gold/talks.txt"]
    assert "[entities]" in conf and "member_of\tArg1:PERSON, Arg2:ORG|GPE|NORP" in conf
    assert "E1\tCUE:T" in ann and "quote E1 direct" in ann



# -- brat: the zip writer ------------------------------------------------------------

#: Text with emoji (outside the BMP), a combining mark and CRLF line ends.
ZIP_TEXT = "Zoë said: “prices 📈 will rise”.\r\nCafe\u0301 owners 🤷 disagreed.\r\n"


def zip_records(count: int = 3) -> list[dict]:
    """Return brat records of every layer folder, ids needing percent-encoding, an annotator with a non-ASCII name."""
    span = {"id": "s1", "start": 0, "end": 3, "label": "PERSON", "text": "Zoë", "attrs": {}}
    out = []
    for i in range(count):
        base = {"id": f"doc {i}/é😀", "text": ZIP_TEXT * (i + 1), "relations": [], "attributions": []}
        out.append({**base, "layer": None, "spans": []})
        out.append({**base, "layer": "gold", "spans": [span]})
        out.append({**base, "layer": "annotator", "annotator": "zoë", "spans": [span]})
    return out


class _PlainZip(zipfile.ZipFile):
    """What the brat writer wrote before: a plain ``zipfile.ZipFile`` and ``writestr``."""

    def __init__(self, fh, compression):
        super().__init__(fh, "w", compression=compression)

    add = zipfile.ZipFile.writestr

    def add_compressed(self, zinfo, crc, size, body):
        """What the writer wrote before for a file: its bytes, deflated by ``writestr``."""
        data = zlib.decompress(body, -15)
        assert (zlib.crc32(data), len(data)) == (crc, size)
        self.writestr(zinfo, data)


class _Unseekable(io.RawIOBase):
    """A stream that cannot seek (as the streamed download's), collecting what is written."""

    def __init__(self):
        super().__init__()
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.data += data
        return len(data)


def brat_zip_bytes(records_: list[dict], seekable: bool = True) -> bytes:
    """Return the brat writer's zip of ``records_``, written to a seekable file or to a stream."""
    context = ExportContext(schema=news_schema())
    if seekable:
        out = io.BytesIO()
        brat.write(iter(records_), out, context)
        return out.getvalue()
    sink = _Unseekable()
    buffered = io.BufferedWriter(sink)
    brat.write(iter(records_), buffered, context)
    buffered.flush()
    return bytes(sink.data)


@pytest.mark.parametrize("zip64", [False, True], ids=["zip", "zip64"])
@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_brat_zip_is_byte_for_byte_what_plain_zipfile_writes(monkeypatch, seekable, zip64):
    with monkeypatch.context() as patch:
        if zip64:
            # Limits lowered so a small zip takes every ZIP64 path: ZIP64 local headers for files over 190 bytes,
            # ZIP64 offsets in the central directory, the ZIP64 end records for more than 5 entries.
            patch.setattr(zipfile, "ZIP64_LIMIT", 200)
            patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 5)
        ours = brat_zip_bytes(zip_records(), seekable)
        patch.setattr(brat, "CompactZipWriter", _PlainZip)
        plain = brat_zip_bytes(zip_records(), seekable)
    assert ours == plain
    assert (b"PK\x06\x06" in ours) is zip64  # the ZIP64 end record
    with zipfile.ZipFile(io.BytesIO(ours)) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == 1 + 3 * 5
        assert archive.read("annotators/zoë/doc 0%2F%C3%A9%F0%9F%98%80.txt").decode() == ZIP_TEXT
    # and the brat reader reads it back: texts kept exactly (CRLF, emoji), every layer
    back = list(brat.read("x.zip", io.BytesIO(ours), news_schema()))
    assert sorted((r.external_id, r.layer or "", r.annotator or "", r.text, len(r.spans)) for r in back) == sorted(
        (r["id"], r["layer"] or "", r.get("annotator") or "", r["text"], len(r["spans"])) for r in zip_records()
    )


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_brat_zip_from_stored_parts_is_the_zip_from_the_records(seekable):
    """An export that copies each record's stored part (compressed once) writes the very zip the records give."""
    context = ExportContext(schema=news_schema())
    parts = [brat.record_part(record, context) for record in zip_records()]
    assert all(isinstance(part, str) and part.isascii() for part in parts)  # a text column holds them
    if seekable:
        out = io.BytesIO()
        brat.write_parts(parts, out, ExportContext(schema=news_schema()))
        copied = out.getvalue()
    else:
        sink = _Unseekable()
        buffered = io.BufferedWriter(sink)
        brat.write_parts(parts, buffered, ExportContext(schema=news_schema()))
        buffered.flush()
        copied = bytes(sink.data)
    assert copied == brat_zip_bytes(zip_records(), seekable)


def test_brat_zip_writer_keeps_no_zipinfo_per_entry():
    out = io.BytesIO()
    with brat.CompactZipWriter(out) as archive:
        for i in range(3):
            archive.add(zipfile.ZipInfo(f"gold/{i}.txt", date_time=(1980, 1, 1, 0, 0, 0)), b"text")
            assert archive.filelist == [] and archive.NameToInfo == {}
        archive.writestr("other.txt", b"written the standard library's way")  # packed at close, in order
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["gold/0.txt", "gold/1.txt", "gold/2.txt", "other.txt"]
        assert archive.testzip() is None


def test_brat_export_memory_grows_by_under_200_bytes_a_document(tmp_path):
    """A zip's central directory is kept until the end, but packed: about 65 bytes per file here, 2 files a document.

    zipfile's own ZipInfo objects cost about 670 bytes a document here.
    """

    def peak(count: int) -> int:
        docs = ({"id": f"doc-{i:06d}", "text": ZIP_TEXT, "layer": "gold", "spans": [], "relations": [], "attributions": []}
                for i in range(count))
        with (tmp_path / f"{count}.zip").open("wb") as fh:
            tracemalloc.start()
            try:
                assert brat.write(docs, fh) == count
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    small, large = peak(1_000), peak(8_000)
    assert (large - small) / 7_000 < 200, (small, large)


# -- CoNLL and spaCy (write only) ----------------------------------------------------


def test_conll_has_one_column_per_label_kind_and_reports_spans_that_cut_a_token(db):
    project = make_project(db)
    text = "Ana Berg said prices in Oslo will rise."
    record = {"id": "d1", "text": text, "layer": "gold", "spans": [
        {"id": "T1", "start": 0, "end": 8, "label": "PERSON"},
        {"id": "T2", "start": 9, "end": 13, "label": "CUE"},
        {"id": "T3", "start": 14, "end": 38, "label": "CLAIM"},
        {"id": "T4", "start": 24, "end": 28, "label": "GPE"},
        {"id": "T5", "start": 0, "end": 2, "label": "ORG"},
    ]}
    importing.import_stream(db, project, "d.jsonl", (json.dumps(record) + "\n").encode())
    db.commit()
    context = exporting.ExportContext(schema=exporting.project_service.project_schema(project))
    out = io.StringIO()
    exporting.write_export(db, project, "gold", "conll", out, context=context)
    lines = out.getvalue().splitlines()
    # One column per label kind of the schema (the news schema's SOURCE is a kind of its own).
    assert lines[0] == "# columns = TOKEN\tENTITY\tCLAIM\tCUE\tSOURCE"
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    assert rows[0] == ["Ana", "B-PERSON", "O", "O", "O"]
    assert rows[2] == ["said", "O", "O", "B-CUE", "O"]
    assert rows[5] == ["Oslo", "B-GPE", "I-CLAIM", "O", "O"]
    assert rows[-1] == [".", "O", "O", "O", "O"]
    assert context.problems == ["d1 (gold): span T5 ORG 0-2 cuts a token; left out of the CoNLL file"]


def test_spacy_docbin_keeps_text_and_spans(db):
    spacy = pytest.importorskip("spacy", reason="spaCy is the optional extra workbench[spacy]; without it the export says how to get it")
    from spacy.tokens import DocBin

    project = make_project(db)
    spans = []
    for i, (piece, label) in enumerate(PIECES, 1):
        start = TRICKY.index(piece)
        spans.append({"id": f"T{i}", "start": start, "end": start + len(piece), "label": label})
    importing.import_stream(db, project, "t.jsonl", (json.dumps({"id": "t", "text": TRICKY, "layer": "gold", "spans": spans}) + "\n").encode())
    db.commit()
    (doc,) = DocBin().from_bytes(export_bytes(db, project, "gold", "spacy")).get_docs(spacy.blank("xx").vocab)
    assert doc.text == TRICKY
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [(p, label) for p, label in PIECES]
    assert [e.text for e in doc.ents] == ["Zoë 😀 Ferrand", "Radio"]
    assert doc.user_data["id"] == "t"


@pytest.mark.parametrize("count", [0, 1, 5])
def test_spacy_docbin_written_a_chunk_at_a_time_is_what_docbin_writes(monkeypatch, count):
    """The spooled DocBin (two documents in memory at a time here) is DocBin.to_bytes' file, byte for byte."""
    spacy = pytest.importorskip("spacy", reason="spaCy is the optional extra workbench[spacy]; without it the export says how to get it")
    from spacy.tokens import Doc
    from spacy.tokens import DocBin

    from workbench import spacy_docbin

    texts = [TRICKY, "Пётр said «да».\r\nNo.", "", "Café 😀 crème", "One two three"]
    records = []
    for i, text in enumerate(texts[:count]):
        spans = [{"id": "T1", "start": 0, "end": len(text.split()[0]), "label": "PERSON"}] if text else []
        if i == 1:
            spans.append({"id": "T2", "start": 1, "end": 3, "label": "ORG"})  # cuts a token: left out, reported
        records.append({"id": f"d{i}", "text": text, "layer": "gold", "annotator": None, "meta": {"n": i}, "spans": spans,
                        "relations": [], "attributions": []})
    monkeypatch.setattr(spacy_docbin, "CHUNK", 2)
    monkeypatch.setattr(spacy_docbin, "BLOCK", 7)  # inflated seven bytes at a time
    context = ExportContext(schema=news_schema())
    out = io.BytesIO()
    assert spacy_docbin.write(iter(records), out, context) == count

    vocab = spacy.blank("xx").vocab
    whole = DocBin(store_user_data=True)
    for record in records:
        whole.add(spacy_docbin._doc(Doc, vocab, record, {label.name: label.kind for label in news_schema().labels}, ExportContext()))
    assert out.getvalue() == whole.to_bytes()
    docs = list(DocBin().from_bytes(out.getvalue()).get_docs(vocab))
    assert [doc.text for doc in docs] == texts[:count]
    assert [doc.user_data["id"] for doc in docs] == [f"d{i}" for i in range(count)]
    assert context.problems == (["d1 (gold): span T2 ORG 1-3 cuts a token; left out of the .spacy file"] if count > 1 else [])


def test_spacy_docbin_too_large_for_msgpack_says_so(db, monkeypatch, tmp_path):
    """Token arrays past what a msgpack binary holds stop the export with a reason, and leave no file behind."""
    pytest.importorskip("spacy", reason="spaCy is the optional extra workbench[spacy]; without it the export says how to get it")
    from spacy.tokens import DocBin

    from workbench import spacy_docbin

    project = make_project(db)
    lines = "".join(json.dumps({"id": f"d{i}", "text": "One two three.", "layer": "gold", "spans": []}) + "\n" for i in range(3))
    importing.import_stream(db, project, "d.jsonl", lines.encode())
    db.commit()
    monkeypatch.setattr(spacy_docbin, "CHUNK", 1)
    monkeypatch.setattr(spacy_docbin, "MOST_BYTES", 2 * 4 * len(DocBin().attrs) * 8)  # two documents of four tokens
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(InvalidInput, match=r"holds at most [\d,]+ bytes of token arrays, which this export passes after 2 documents: export it in parts \(--split\)"):
        exporting.export_to_path(db, project, folder / "out.spacy", layer="gold", fmt="spacy")
    assert list(folder.iterdir()) == []


def test_spacy_without_spacy_says_how_to_get_it(db, monkeypatch):
    from workbench import spacy_docbin

    monkeypatch.setattr(spacy_docbin, "available", lambda: False)
    project = make_project(db)
    with pytest.raises(InvalidInput, match=r"needs spaCy, which is not installed: pip install 'workbench\[spacy\]'"):
        exporting.write_export(db, project, "gold", "spacy", io.BytesIO())
    assert "spacy" not in exporting.available_formats()


# -- HTML ----------------------------------------------------------------------------


def test_marked_up_text_keeps_visible_text_and_suggests_markup(db):
    project = make_project(db)
    article = "Mill to close\n\nBy Wire Staff\n\nMarch 3, 2025\n\nThe mayor <u>said</u> the mill would close &amp; “jobs will go”.\n"
    report = importing.import_stream(db, project, "mill.txt", article.encode(), "html")
    db.commit()
    assert (report.documents, report.layers) == (1, 1)
    (doc,) = records(db, project, "documents")
    assert doc["text"] == "The mayor said the mill would close & “jobs will go”."
    assert doc["meta"]["title"] == "Mill to close" and doc["meta"]["published"] == "2025-03-03"
    (pred,) = records(db, project, "predictions")
    assert pred["annotator"] == "markup"
    assert [(s["text"], s["label"]) for s in pred["spans"]] == [("said", "CUE"), ("jobs will go", "CLAIM")]
    # plain-text import keeps the markup as literal characters
    other = make_project(db, "plain")
    importing.import_stream(db, other, "mill.txt", article.encode())
    db.commit()
    assert "<u>said</u>" in records(db, other, "documents")[0]["text"]


def test_html_page_text_is_the_visible_text_with_exact_offsets(db):
    project = make_project(db)
    page = (
        "<!DOCTYPE html><html><head><title>Port strike</title><style>p{color:red}</style>"
        '<link rel="canonical" href="https://news.example/port"></head><body>'
        "<h1>Port   strike</h1><p>Dock workers <b>Union&nbsp;X</b> <u>told</u> <a href='/x'>Radio 🙂</a>:"
        "<q>We stay out</q>.</p><script>var x = '<u>no</u>';</script><p>Line one<br>line two</p></body></html>"
    )
    importing.import_stream(db, project, "port.html", page.encode())
    db.commit()
    (doc,) = records(db, project, "documents")
    assert doc["text"] == "Port strike\n\nDock workers Union\u00a0X told Radio 🙂:We stay out.\n\nLine one\nline two"
    assert doc["meta"]["title"] == "Port strike" and doc["meta"]["url"] == "https://news.example/port"
    (pred,) = records(db, project, "predictions")
    assert_spans_match([pred])
    assert [(s["text"], s["label"]) for s in pred["spans"]] == [
        ("Union\u00a0X", "PERSON"), ("told", "CUE"), ("Radio 🙂", "PERSON"), ("We stay out", "CLAIM")
    ]
    mapped = make_project(db, "mapped")
    importing.import_stream(db, mapped, "port.html", page.encode(), label_map={"a": "ORG", "b": "ORG"})
    db.commit()
    assert [s["label"] for s in records(db, mapped, "predictions")[0]["spans"]] == ["ORG", "CUE", "ORG", "CLAIM"]


# -- detection and label maps ----------------------------------------------------------


def test_detect_format_tells_peer_files_apart():
    assert detect_format("x.json", b'[{"id": 1, "data": {}}]') == "labelstudio"
    assert detect_format("admin.jsonl", b'{"id": 1, "text": "a", "entities": []}') == "doccano"
    assert detect_format("x.jsonl", b'{"id": 1, "text": "a", "layer": "gold", "spans": []}') == "jsonl"
    assert detect_format("x.zip", b"PK\x03\x04") == "brat"
    assert detect_format("page", b"<!DOCTYPE html>") == "html"
    with pytest.raises(FormatError, match="cannot tell the format"):
        detect_format("x.bin", b"\x00\x01")


def test_label_maps_inline_and_from_files():
    assert parse_label_map("PER=PERSON, LOC = GPE") == {"PER": "PERSON", "LOC": "GPE"}
    with pytest.raises(LabelMapError, match="part .PER.: must look like THEIRS=OURS"):
        parse_label_map("PER")
    with pytest.raises(LabelMapError, match="'PER' is mapped twice"):
        parse_label_map("PER=PERSON,PER=ORG")
    assert read_label_map_file("m.json", b'{"PER": "PERSON"}') == {"PER": "PERSON"}
    assert read_label_map_file("m.txt", b"# ours\nPER=PERSON\nLOC\tGPE\n") == {"PER": "PERSON", "LOC": "GPE"}
    with pytest.raises(LabelMapError, match=r"m.txt:2: must look like THEIRS=OURS"):
        read_label_map_file("m.txt", b"PER=PERSON\nnonsense\n")


def test_a_label_map_for_jsonl_is_refused(db):
    project = make_project(db)
    with pytest.raises(InvalidInput, match="--label-map applies to"):
        importing.import_stream(db, project, "x.jsonl", (DATA / "layers.jsonl").read_bytes(), label_map={"A": "B"})


@needs_peer
def test_label_studio_json_min_is_refused_with_what_to_do_instead(db):
    project = make_project(db, "ls", schema=PEER_SCHEMA)
    path = PEER / "label-studio-1.23-export-JSON_MIN.json"
    with pytest.raises(ImportError_, match=r"task 1: this is Label Studio's JSON_MIN export, which drops relations: export the project as JSON"):
        importing.import_stream(db, project, path.name, path.read_bytes(), label_map=PEER_MAP)
