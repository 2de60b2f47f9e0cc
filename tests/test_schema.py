"""Label schemas: the built-in news schema and one-line errors for bad ones."""

from __future__ import annotations

import copy

import pytest

from workbench.domain.annotations import AnnotationError
from workbench.domain.annotations import check_attribution
from workbench.domain.annotations import check_relation
from workbench.domain.annotations import check_span
from workbench.domain.schema import NEWS_SCHEMA
from workbench.domain.schema import SchemaError
from workbench.domain.schema import news_schema
from workbench.domain.schema import parse_schema


def test_news_schema_has_the_issue_labels():
    schema = news_schema()
    names = [label.name for label in schema.labels]
    assert names[:8] == ["PERSON", "ORG", "GPE", "LOC", "NORP", "DATE", "WEAPON", "EVENT"]
    assert schema.label("CLAIM").kind == "claim"
    assert schema.label("CLAIM").attribute("factuality").values[0] == "asserted"
    assert schema.label("CUE").kind == "cue"
    assert schema.attributions is True
    hotkeys = [label.hotkey for label in schema.labels]
    assert len(set(hotkeys)) == len(hotkeys)


def test_schema_round_trips_through_its_json_form():
    schema = news_schema()
    assert parse_schema(schema.to_dict()) == schema


def _with(**changes):
    raw = copy.deepcopy(NEWS_SCHEMA)
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    "raw, reason",
    [
        ([], "must be a JSON object"),
        ({"labels": []}, "non-empty list of labels"),
        ({"labels": [{"name": "1BAD"}]}, "must be letters"),
        ({"labels": [{"name": "A"}, {"name": "A"}]}, "defined twice"),
        ({"labels": [{"name": "A", "kind": "topic"}]}, "kind 'topic'"),
        ({"labels": [{"name": "A", "color": "red"}]}, "colour 'red'"),
        ({"labels": [{"name": "A", "hotkey": "ab"}]}, "one letter or digit"),
        ({"labels": [{"name": "A", "hotkey": "a"}, {"name": "B", "hotkey": "A"}]}, "share the hotkey"),
        ({"labels": [{"name": "A", "attributes": [{"name": "x", "values": ["y"], "default": "z"}]}]}, "not among its values"),
        (_with(relation_types=[{"name": "r", "head": ["NOPE"]}]), "head label 'NOPE'"),
    ],
)
def test_bad_schemas_get_one_line_reasons(raw, reason):
    with pytest.raises(SchemaError, match=reason) as info:
        parse_schema(raw)
    assert "\n" not in str(info.value)


def test_check_span_accepts_and_rejects():
    schema = news_schema()
    text = "Anna Berg said the mill will close."
    check_span(schema, text, "PERSON", 0, 9, {}, "Anna Berg")
    check_span(schema, text, "CLAIM", 15, 34, {"factuality": "hedged"})
    with pytest.raises(AnnotationError, match="not in the project's schema"):
        check_span(schema, text, "PLANET", 0, 4)
    with pytest.raises(AnnotationError, match="allowed: asserted"):
        check_span(schema, text, "CLAIM", 15, 34, {"factuality": "maybe"})
    with pytest.raises(AnnotationError, match="outside the text"):
        check_span(schema, text, "PERSON", 30, 99)


def test_check_relation_uses_allowed_labels():
    schema = news_schema()
    check_relation(schema, "member_of", "PERSON", "ORG")
    with pytest.raises(AnnotationError, match="cannot go from ORG to PERSON"):
        check_relation(schema, "member_of", "ORG", "PERSON")
    with pytest.raises(AnnotationError, match="not in the project's schema"):
        check_relation(schema, "married_to", "PERSON", "PERSON")


def test_check_attribution_shape():
    schema = news_schema()
    check_attribution(schema, "T1", "T2", ["T3"], {"quote": "direct"})
    check_attribution(schema, None, "T2", ["T3", "T4"])
    check_attribution(schema, "T1", None, ["T3"])
    with pytest.raises(AnnotationError, match="at least one content"):
        check_attribution(schema, "T1", "T2", [])
    with pytest.raises(AnnotationError, match="a source or a cue"):
        check_attribution(schema, None, None, ["T3"])
    with pytest.raises(AnnotationError, match="same content span twice"):
        check_attribution(schema, "T1", None, ["T3", "T3"])
    with pytest.raises(AnnotationError, match="both the content and"):
        check_attribution(schema, "T3", None, ["T3"])
    with pytest.raises(AnnotationError, match="allowed: direct"):
        check_attribution(schema, "T1", None, ["T3"], {"quote": "sarcastic"})
