"""The schema's overlap rules: parsing, the one domain check, the ops (PATCH and PUT), imports
(JSONL and peer formats), adjudication's gold writes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import jsonl
from factories import make_document
from factories import make_project
from factories import make_team
from sqlalchemy import func
from sqlalchemy import select

from workbench.domain import annotations as rules
from workbench.domain.schema import NEWS_SCHEMA
from workbench.domain.schema import SchemaError
from workbench.domain.schema import news_schema
from workbench.domain.schema import parse_schema
from workbench.errors import ImportError_
from workbench.errors import InvalidAnnotation
from workbench.models import Document
from workbench.models import Span
from workbench.services import annotation
from workbench.services import importing

#       0         1         2         3         4         5         6         7
#       0123456789012345678901234567890123456789012345678901234567890123456789012
TEXT = "Aide to Mayor Lena Varro said the Ostby mill will close in May, he said."
# Lena Varro 14-24; Mayor Lena Varro 8-24; Aide to Mayor Lena Varro 0-24; said 25-29;
# the Ostby mill will close in May 30-62; the Ostby mill 30-44


def span(uid: str, label: str, start: int, end: int) -> tuple[str, str, int, int]:
    return (uid, label, start, end)


# -- the schema field ------------------------------------------------------------------


def test_defaults_keep_old_schemas_valid_and_free():
    schema = parse_schema({"labels": [{"name": "A"}, {"name": "B", "kind": "claim"}]})
    assert [(lb.overlap, lb.contains) for lb in schema.labels] == [("any", None), ("any", None)]
    assert not rules.has_overlap_rules(schema)
    # Anything goes: same label crossing, one inside the other.
    rules.check_overlaps(schema, "abcdefgh", [span("1", "A", 0, 5), span("2", "A", 3, 8), span("3", "B", 1, 2)])
    assert schema.to_dict()["labels"][0]["overlap"] == "any" and "contains" not in schema.to_dict()["labels"][0]


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ({"name": "A", "overlap": "some"}, "label 'A': overlap 'some' is not one of any, nest, none"),
        ({"name": "A", "contains": "entity"}, "label 'A': contains must be a list of label names or kinds"),
        ({"name": "A", "contains": ["NOPE"]}, "label 'A': contains 'NOPE', which is neither a label of the schema nor a kind"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(label, message):
    with pytest.raises(SchemaError) as err:
        parse_schema({"labels": [label]})
    assert str(err.value) == message


def test_news_schema_rules_and_round_trip():
    schema = news_schema()
    assert schema.label("PERSON").overlap == "none" and schema.label("PERSON").contains is None
    assert schema.label("CLAIM").overlap == "nest"
    assert schema.label("SOURCE").contains == ("entity",)
    assert parse_schema(schema.to_dict()) == schema
    assert schema.label("SOURCE").rule_text() == "Two SOURCE spans never overlap. It may contain or overlap only entity spans."
    assert schema.label("CLAIM").rule_text() == "CLAIM spans may nest (one inside another) but not cross. It may contain or overlap spans of any other label."


# -- the one check --------------------------------------------------------------------


def test_news_rules_allow_what_the_guidelines_ask():
    schema = news_schema()
    rules.check_overlaps(
        schema,
        TEXT,
        [
            span("p", "PERSON", 14, 24),  # Lena Varro
            span("s", "SOURCE", 0, 24),  # Aide to Mayor Lena Varro: contains the PERSON
            span("s2", "SOURCE", 30, 44),  # the Ostby mill, inside a claim
            span("o", "ORG", 34, 44),  # Ostby mill
            span("g", "GPE", 38, 58),  # crosses the ORG: another label, allowed
            span("c", "CLAIM", 30, 62),
            span("c2", "CLAIM", 30, 50),  # nests in the claim, holds the SOURCE
            span("u", "CUE", 25, 29),
        ],
    )


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        (
            [span("a", "PERSON", 8, 24), span("b", "PERSON", 14, 24)],
            "PERSON “Mayor Lena Varro” (8-24) and PERSON “Lena Varro” (14-24) overlap, "
            "but spans of PERSON may not overlap (schema rule: overlap \"none\")",
        ),
        (
            [span("a", "CLAIM", 30, 62), span("b", "CLAIM", 44, 72)],
            "CLAIM “the Ostby mill will close in May” (30-62) and CLAIM “ will close in May, he said.” (44-72) cross, "
            "but spans of CLAIM may only nest (schema rule: overlap \"nest\")",
        ),
        (
            [span("s", "SOURCE", 0, 29), span("u", "CUE", 25, 29)],
            "SOURCE “Aide to Mayor Lena Varro said” (0-29) contains CUE “said” (25-29), "
            "but a SOURCE span may contain or overlap only entity (schema rule: contains)",
        ),
        (
            [span("c", "CLAIM", 8, 40), span("s", "SOURCE", 0, 24)],
            "SOURCE “Aide to Mayor Lena Varro” (0-24) overlaps CLAIM “Mayor Lena Varro said the Ostby ” (8-40), "
            "but a SOURCE span may contain or overlap only entity (schema rule: contains)",
        ),
    ],
)
def test_each_rule_is_named(spans, message):
    with pytest.raises(rules.OverlapError) as err:
        rules.check_overlaps(news_schema(), TEXT, spans)
    assert str(err.value) == message


def test_offsets_and_quotes_count_code_points():
    text = "👩‍👩‍👧 Ольга Ки́ра\r\nsaid"
    # 👩‍👩‍👧 is 5 code points, a space: Ольга 6-11, Ки́ра 12-17 (the accent is a code point)
    assert text[6:11] == "Ольга" and text[12:17] == "Ки́ра"
    with pytest.raises(rules.OverlapError) as err:
        rules.check_overlaps(news_schema(), text, [span("a", "PERSON", 6, 17), span("b", "PERSON", 12, 23)])
    assert str(err.value).startswith("PERSON “Ольга Ки́ра” (6-17) and PERSON “Ки́ра said” (12-23) overlap")


def test_only_changed_pairs_are_checked_and_long_quotes_are_cut():
    schema = news_schema()
    old = [span("a", "PERSON", 0, 5), span("b", "PERSON", 3, 8)]  # stored before the rule: not re-checked
    rules.check_overlaps(schema, "x" * 80, [*old, span("c", "PERSON", 20, 30)], changed={"c"})
    with pytest.raises(rules.OverlapError) as err:
        rules.check_overlaps(schema, "y" * 80, [span("a", "CUE", 0, 60), span("c", "CUE", 10, 12)], changed={"c"})
    assert str(err.value).startswith(f"CUE “{'y' * 39}…” (0-60) and CUE “yy” (10-12) overlap")


# -- the ops ---------------------------------------------------------------------------


@pytest.fixture
def world(db) -> dict[str, Any]:
    ann, bob, cur, project = make_team(db)
    doc = make_document(db, project, TEXT, external_id="d1")
    layer = annotation.open_annotator_layer(db, ann, doc)
    db.commit()
    return {"ann": ann, "cur": cur, "project": project, "doc": doc, "layer": layer}


def create(uid: str, label: str, start: int, end: int) -> dict[str, Any]:
    return {"op": "span.create", "id": uid, "label": label, "start": start, "end": end}


def test_ops_refuse_a_span_that_breaks_a_rule_and_keep_the_previous_state(db, world):
    ann, layer = world["ann"], world["layer"]
    annotation.apply_ops(db, ann, layer.id, 0, "b1", [create("p", "PERSON", 14, 24), create("c", "CLAIM", 30, 62)])
    db.commit()
    with pytest.raises(InvalidAnnotation) as err:
        annotation.apply_ops(db, ann, layer.id, 1, "b2", [create("u", "CUE", 25, 29), create("p2", "PERSON", 8, 24)])
    db.rollback()
    assert str(err.value) == (
        "op 1 (span.create): PERSON “Mayor Lena Varro” (8-24) and PERSON “Lena Varro” (14-24) overlap, "
        "but spans of PERSON may not overlap (schema rule: overlap \"none\")"
    )
    assert err.value.details == [{"index": 1, "op": "span.create", "reason": str(err.value).split(": ", 1)[1]}]
    db.expire_all()
    assert sorted(db.scalars(select(Span.uid).where(Span.set_id == layer.id))) == ["c", "p"]
    # Moving a span into a clash is refused too, blamed on the update.
    with pytest.raises(InvalidAnnotation, match=r"^op 1 \(span.update\): CLAIM “the Ostby mill will close in May” \(30-62\) and CLAIM .* cross"):
        annotation.apply_ops(
            db, ann, layer.id, 1, "b3",
            [create("c2", "CLAIM", 30, 44), {"op": "span.update", "id": "c2", "start": 40, "end": 70}],
        )
    db.rollback()
    # Nesting claims, a SOURCE around the PERSON: allowed.
    result = annotation.apply_ops(
        db, ann, layer.id, 1, "b4", [create("c2", "CLAIM", 30, 44), create("s", "SOURCE", 0, 24)]
    )
    db.commit()
    assert result["counts"]["spans"] == 4


def test_a_span_moved_away_and_another_put_in_its_place_in_one_batch_is_fine(db, world):
    ann, layer = world["ann"], world["layer"]
    annotation.apply_ops(db, ann, layer.id, 0, "b1", [create("p", "PERSON", 14, 24)])
    annotation.apply_ops(
        db, ann, layer.id, 1, "b2", [{"op": "span.update", "id": "p", "label": "ORG"}, create("p2", "PERSON", 8, 24)]
    )
    db.commit()
    assert db.scalar(select(func.count(Span.id)).where(Span.set_id == layer.id)) == 2


def test_replace_layer_checks_every_span(db, world):
    ann, layer = world["ann"], world["layer"]
    spans = [
        {"id": "a", "label": "CUE", "start": 25, "end": 29},
        {"id": "b", "label": "CUE", "start": 26, "end": 29},
    ]
    with pytest.raises(InvalidAnnotation, match=r"^spans\[1\] \(b\): CUE “said” \(25-29\) and CUE “aid” \(26-29\) overlap"):
        annotation.replace_layer(db, ann, layer.id, 0, spans, [], [])
    db.rollback()
    assert db.scalar(select(func.count(Span.id)).where(Span.set_id == layer.id)) == 0


def test_patch_over_http_answers_400_naming_the_rule(api, db, world):
    from workbench.services import users as user_service

    token = user_service.create_token(db, world["ann"], "t")
    db.commit()
    response = api.open(
        "PATCH", f"/api/v1/layers/{world['layer'].id}/ops", token,
        json={"base_version": 0, "batch_id": "x1", "ops": [create("a", "DATE", 59, 62), create("b", "DATE", 56, 62)]},
    )
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"].startswith("op 1 (span.create): DATE “in May” (56-62) and DATE “May” (59-62) overlap")
    assert "schema rule: overlap \"none\"" in body["error"]
    db.expire_all()
    assert db.scalar(select(func.count(Span.id)).where(Span.set_id == world["layer"].id)) == 0


def test_gold_writes_follow_the_rules(db, world):
    """Adjudication writes the gold layer through the same ops."""
    from workbench.services import adjudication

    gold = adjudication.open_gold_layer(db, world["doc"])
    db.commit()
    with pytest.raises(InvalidAnnotation, match=r"spans of ORG may not overlap"):
        annotation.apply_ops(db, world["cur"], gold.id, gold.version, "g1", [create("a", "ORG", 34, 44), create("b", "ORG", 30, 44)])
    db.rollback()


# -- imports ---------------------------------------------------------------------------


def record(spans: list[dict[str, Any]], layer: str = "annotator", **extra: Any) -> dict[str, Any]:
    return {"id": "d9", "text": TEXT, "layer": layer, "annotator": "ann" if layer == "annotator" else None, "spans": spans, **extra}


def test_jsonl_import_refuses_the_file_naming_file_line_and_rule(db, world):
    project = world["project"]
    good = {"id": "d8", "text": TEXT}
    bad = record([
        {"id": "T1", "start": 30, "end": 62, "label": "CLAIM"},
        {"id": "T2", "start": 44, "end": 72, "label": "CLAIM"},
    ])
    with pytest.raises(ImportError_) as err:
        importing.import_stream(db, project, "batch.jsonl", jsonl(good, bad))
    db.rollback()
    assert str(err.value) == (
        "batch.jsonl:2: document 'd9': CLAIM “the Ostby mill will close in May” (30-62) and "
        "CLAIM “ will close in May, he said.” (44-72) cross, but spans of CLAIM may only nest (schema rule: overlap \"nest\")"
    )
    assert db.scalar(select(func.count(Document.id)).where(Document.external_id.in_(["d8", "d9"]))) == 0


def test_gold_import_is_checked_and_predictions_are_kept_as_they_came(db, world):
    project = world["project"]
    crossing = [
        {"id": "T1", "start": 8, "end": 24, "label": "PERSON"},
        {"id": "T2", "start": 14, "end": 24, "label": "PERSON"},
    ]
    with pytest.raises(ImportError_, match=r"^gold.jsonl:1: document 'd9': PERSON .* may not overlap"):
        importing.import_stream(db, project, "gold.jsonl", jsonl(record(crossing, "gold")))
    db.rollback()
    report = importing.import_stream(db, project, "model.jsonl", jsonl(record(crossing, "prediction", annotator="m1")))
    db.commit()
    assert report.layers == 1


def test_peer_format_import_is_checked(db, world):
    project = world["project"]
    line = {
        "id": 5, "text": TEXT,
        "entities": [
            {"id": 1, "label": "SOURCE", "start_offset": 0, "end_offset": 29},
            {"id": 2, "label": "CUE", "start_offset": 25, "end_offset": 29},
        ],
        "relations": [],
    }
    with pytest.raises(ImportError_) as err:
        importing.import_stream(db, project, "admin.jsonl", (json.dumps(line) + "\n").encode(), "doccano")
    db.rollback()
    assert str(err.value).startswith("admin.jsonl:1: document '5': SOURCE “Aide to Mayor Lena Varro said” (0-29) contains CUE")
    assert str(err.value).endswith("(schema rule: contains)")


def test_the_demo_data_and_a_project_with_free_rules_still_import(db):
    """Schemas stored before the rules existed (no overlap fields) take anything, as before."""
    old = json.loads(json.dumps(NEWS_SCHEMA))
    for label in old["labels"]:
        label.pop("overlap", None)
        label.pop("contains", None)
    project = make_project(db, "old", schema=old)
    crossing = [
        {"id": "T1", "start": 8, "end": 24, "label": "PERSON"},
        {"id": "T2", "start": 14, "end": 24, "label": "PERSON"},
    ]
    report = importing.import_stream(db, project, "old.jsonl", jsonl(record(crossing, "gold")))
    db.commit()
    assert report.layers == 1


def test_auto_merge_flags_a_document_whose_agreed_items_break_a_rule(db, world):
    """Two annotators agree on PERSON “Lena Varro”; gold already holds PERSON “Mayor Lena Varro”
    (a curator's edit): the merge writes nothing for that document and says why."""
    from workbench.services import adjudication
    from workbench.services import assignment

    from workbench.models import AnnotationSet
    from workbench.models import User

    ann, cur, project, doc = world["ann"], world["cur"], world["project"], world["doc"]
    bob = db.scalar(select(User).where(User.username == "bob"))
    assignment.update_settings(db, project, {"annotators_per_document": 2})
    db.commit()
    for user in (ann, bob):
        layer = assignment.claim_document(db, user, doc)
        db.commit()
        annotation.apply_ops(db, user, layer.id, layer.version, "b", [create("p", "PERSON", 14, 24)])
        annotation.set_status(db, user, layer.id, "submitted")
        db.commit()
    gold = adjudication.open_gold_layer(db, doc)
    db.commit()
    annotation.apply_ops(db, cur, gold.id, gold.version, "g", [create("m", "PERSON", 8, 24)])
    db.commit()
    report = adjudication.auto_merge(db, project, cur, "majority", finish=True)
    db.commit()
    assert report.flagged == ["d1"] and report.finished == 0
    db.expire_all()
    gold = db.get(AnnotationSet, gold.id)
    assert gold.status_note.startswith(
        "auto-merge refused: op 0 (span.create): PERSON “Mayor Lena Varro” (8-24) and PERSON “Lena Varro” (14-24) overlap"
    )
    assert gold.status_note.endswith("; a curator must decide")
    assert sorted(db.scalars(select(Span.uid).where(Span.set_id == gold.id))) == ["m"]
