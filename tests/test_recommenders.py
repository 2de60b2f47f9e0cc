"""The built-in recommenders (pure): learned strings, gazetteer, attribution rules in English and Russian; the registry."""

from __future__ import annotations

import pytest

from workbench import recommenders
from workbench.domain.offsets import tokens
from workbench.domain.schema import news_schema
from workbench.recommenders import Context
from workbench.recommenders import SpanSuggestion
from workbench.recommenders.attribution import suggest_attributions
from workbench.recommenders.dictionary import GazetteerError
from workbench.recommenders.dictionary import Gazetteer
from workbench.recommenders.dictionary import LearnedStrings
from workbench.recommenders.dictionary import parse_gazetteer

SCHEMA = news_schema()


def context(text: str, **kwargs) -> Context:
    return Context(text=text, schema=SCHEMA, tokens=tokens(text), **kwargs)


def found(text: str, items) -> set[tuple[str, str, float]]:
    return {(s.label, text[s.start : s.end], round(s.score, 2)) for s in items}


def test_learned_strings_are_found_at_token_edges_only_and_scored_by_label_share():
    text = "Lind met Lindqvist; then Anna Lind and the Lind family left. 👩‍👩‍👧 Lind."
    examples = {"Lind": {"PERSON": 3, "ORG": 1}, "Anna Lind": {"PERSON": 2}, "NOT IN TEXT": {"ORG": 1}}
    items = LearnedStrings().suggest(context(text, examples=examples))
    assert found(text, items) == {("PERSON", "Lind", 0.75), ("ORG", "Lind", 0.25), ("PERSON", "Anna Lind", 1.0)}
    lind = [s for s in items if s.label == "PERSON" and text[s.start : s.end] == "Lind"]
    # Four occurrences of the word, none inside "Lindqvist"; the last one after a family emoji (1 code point each part).
    assert len(lind) == 4
    assert lind[-1].start == text.rindex("Lind")


def test_learned_strings_skip_labels_the_schema_lacks_and_match_case():
    text = "Grey Harbour and grey harbour."
    items = LearnedStrings().suggest(context(text, examples={"Grey Harbour": {"GPE": 1, "OLDLABEL": 5}}))
    assert [(s.label, s.start, s.end) for s in items] == [("GPE", 0, 12)]


def test_a_gazetteer_suggests_its_strings_with_score_one_including_cyrillic_and_combining_marks():
    text = "Café de Flore (Cafe\u0301 de Flore) hosted Пётр Смирнов."
    items = Gazetteer().suggest(context(text, gazetteer={"Пётр Смирнов": ["PERSON"], "Cafe\u0301 de Flore": ["ORG"]}))
    assert found(text, items) == {("PERSON", "Пётр Смирнов", 1.0), ("ORG", "Cafe\u0301 de Flore", 1.0)}


def test_parse_gazetteer_reads_tsv_and_names_the_bad_line():
    data = "# comment\nAnna Berg\tPERSON\n\nAnna Berg\tPERSON\nTallow Mills\tORG\n"
    assert parse_gazetteer("g.tsv", data, {"PERSON", "ORG"}) == [("Anna Berg", "PERSON"), ("Tallow Mills", "ORG")]
    with pytest.raises(GazetteerError, match=r"^g.tsv:2: expected 'text<TAB>LABEL'"):
        parse_gazetteer("g.tsv", "ok\tORG\nno tab here\n", {"ORG"})
    with pytest.raises(GazetteerError, match=r"^g.tsv:1: label 'PER' is not in the project's schema$"):
        parse_gazetteer("g.tsv", "Anna\tPER\n", {"ORG"})
    with pytest.raises(GazetteerError, match="more than 8 tokens"):
        parse_gazetteer("g.tsv", "a b c d e f g h i\tORG\n", {"ORG"})


def triples(text: str) -> list[tuple]:
    out = []
    for a in suggest_attributions(text, SCHEMA):
        part = lambda s: None if s is None else (s.label, text[s.start : s.end])  # noqa: E731
        out.append((part(a.source), part(a.cue), [part(c) for c in a.content]))
    return out


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "The harbour will reopen on Monday, the port authority said on Tuesday.",
            [(("SOURCE", "the port authority"), ("CUE", "said"), [("CLAIM", "The harbour will reopen on Monday")])],
        ),
        (
            "Mayor Anna Lind said that the bridge would stay closed until May.",
            [(("PERSON", "Mayor Anna Lind"), ("CUE", "said"), [("CLAIM", "the bridge would stay closed until May")])],
        ),
        (
            "\u201cWe will not give up,\u201d said Tomas Berg.",
            [(("PERSON", "Tomas Berg"), ("CUE", "said"), [("CLAIM", "We will not give up")])],
        ),
        (
            "According to the ministry, three ferries were cancelled.",
            [(("SOURCE", "the ministry"), ("CUE", "According to"), [("CLAIM", "three ferries were cancelled")])],
        ),
        (
            "Brown's spokesman told reporters that the talks would resume.",
            [(("SOURCE", "Brown's spokesman"), ("CUE", "told"), [("CLAIM", "the talks would resume")])],
        ),
        (
            'Officials in Velmora warned: "Water levels are still rising".',
            [(("SOURCE", "Officials in Velmora"), ("CUE", "warned"), [("CLAIM", "Water levels are still rising")])],
        ),
        (
            "The new pier, citing a spokesperson for the Harbour Board, will open.",
            [(("SOURCE", "a spokesperson for the Harbour Board"), ("CUE", "citing"), [("CLAIM", "The new pier")])],
        ),
        (
            "Ivanov, the port's director, said the ferry will stop.",
            [(("PERSON", "Ivanov"), ("CUE", "said"), [("CLAIM", "the ferry will stop")])],
        ),
        (
            "Ivanov told Reuters the ferry will stop.",
            [(("PERSON", "Ivanov"), ("CUE", "told"), [("CLAIM", "the ferry will stop")])],
        ),
        (
            "It was reported that the ferry will stop.",
            [(None, ("CUE", "reported"), [("CLAIM", "the ferry will stop")])],
        ),
        ("Nobody here reports anything", []),
        ("The ferry sailed at dawn.", []),
    ],
)
def test_english_attribution_rules(text, expected):
    assert triples(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "По словам Иванова, переговоры продолжатся в среду.",
            [(("PERSON", "Иванова"), ("CUE", "По словам"), [("CLAIM", "переговоры продолжатся в среду")])],
        ),
        (
            "Мэр Петрова заявила, что мост откроют в мае.",
            [(("PERSON", "Мэр Петрова"), ("CUE", "заявила"), [("CLAIM", "мост откроют в мае")])],
        ),
        (
            "«Мы не сдадимся», — сказал Семёнов.",
            [(("PERSON", "Семёнов"), ("CUE", "сказал"), [("CLAIM", "Мы не сдадимся")])],
        ),
        (
            "Цены вырастут, сообщил представитель Минфина.",
            [(("SOURCE", "представитель Минфина"), ("CUE", "сообщил"), [("CLAIM", "Цены вырастут")])],
        ),
        (
            "Иванов, директор порта, заявил, что паром остановится.",
            [(("PERSON", "Иванов"), ("CUE", "заявил"), [("CLAIM", "паром остановится")])],
        ),
        (
            "Иванов сказал журналистам, что паром остановится.",
            [(("PERSON", "Иванов"), ("CUE", "сказал"), [("CLAIM", "паром остановится")])],
        ),
        (
            "По данным „Росстата“ безработица снизилась.",
            [(("PERSON", "Росстата"), ("CUE", "По данным"), [("CLAIM", "безработица снизилась")])],
        ),
    ],
)
def test_russian_attribution_rules(text, expected):
    assert triples(text) == expected


def test_attribution_offsets_are_code_points_after_emoji_and_crlf():
    text = "🚢🚢 Notes.\r\nThe captain said the ship was safe."
    [(source, cue, content)] = [
        (a.source, a.cue, a.content) for a in suggest_attributions(text, SCHEMA)
    ]
    assert text[cue.start : cue.end] == "said" and cue.start == text.index("said")
    assert text[source.start : source.end] == "The captain"


def test_no_attribution_suggestions_when_the_schema_has_attributions_off():
    schema = SCHEMA.__class__(**{**SCHEMA.__dict__, "attributions": False, "_by_name": {}})
    assert suggest_attributions("Anna said the mill will close.", schema) == []


def test_a_plugged_in_recommender_runs_with_the_built_ins_and_bad_offsets_are_dropped():
    class Upper:
        name = "upper"

        def suggest(self, ctx):
            yield SpanSuggestion("ORG", 0, 3, 0.9)
            yield SpanSuggestion("ORG", 0, 999, 0.9)  # past the text: dropped

    recommenders.register("upper", Upper)
    try:
        assert isinstance(recommenders.get("upper"), recommenders.Recommender)
        out = recommenders.run_all(context("NATO met."), only=["upper", "attribution"])
        assert out == [("upper", SpanSuggestion("ORG", 0, 3, 0.9))]
        assert {"recommender", "gazetteer", "attribution", "upper"} <= set(recommenders.names())
    finally:
        recommenders._REGISTRY.pop("upper", None)
        recommenders._loaded.pop("upper", None)
