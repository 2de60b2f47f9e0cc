"""rebaseOps (static/js/model.js) in Chromium: how unsaved ops land on a layer another tab changed."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SCHEMA = {
    "labels": [{"name": "PERSON", "kind": "entity"}, {"name": "ORG", "kind": "entity"}, {"name": "CLAIM", "kind": "claim"}, {"name": "CUE", "kind": "cue"}],
    "relation_types": [{"name": "member_of", "head": ["PERSON"], "tail": ["ORG"]}],
}


def span(uid: str, label: str, start: int, end: int, **attrs: Any) -> dict[str, Any]:
    """A span as the API returns it."""
    return {"id": uid, "label": label, "start": start, "end": end, "attrs": attrs}


def layer(spans: list[dict[str, Any]], relations: list[dict[str, Any]] | None = None, attributions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A layer as the API returns it."""
    return {"id": 1, "version": 1, "status": "in_progress", "spans": spans, "relations": relations or [], "attributions": attributions or []}


@pytest.fixture
def rebase(page: Any, live: Any) -> Any:
    """Run rebaseOps(current, ops, base) in the page; returns {ops, dropped, message, layer}."""
    page.goto(f"{live.url}/login")
    page.evaluate("async () => { window.M = await import('/static/js/model.js'); }")

    def run(base: dict[str, Any] | None, current: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Rebase ``ops`` (made on ``base``) onto ``current``."""
        return page.evaluate(
            """([schema, base, current, ops]) => {
                const model = new M.Model(current, schema);
                const r = M.rebaseOps(model, ops, base ? new M.Model(base, schema) : null);
                return {ops: r.ops, dropped: r.dropped.map(d => d.reason), message: M.describeDropped(r.dropped), layer: model.snapshot()};
            }""",
            [SCHEMA, base, current, ops],
        )

    return run


def test_creates_reapply_and_existing_ids_are_no_ops(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5)])
    current = layer([span("x", "PERSON", 0, 5), span("y", "ORG", 6, 9), span("mine-landed", "CLAIM", 20, 30)])
    ops = [
        {"op": "span.create", "id": "z", "label": "CLAIM", "start": 10, "end": 15, "attrs": {}},
        {"op": "span.create", "id": "mine-landed", "label": "CLAIM", "start": 20, "end": 30, "attrs": {}},
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [ops[0]] and r["dropped"] == [] and r["message"] == ""
    assert sorted(s["id"] for s in r["layer"]["spans"]) == ["mine-landed", "x", "y", "z"]


def test_deletes_of_ids_already_gone_are_no_ops(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    current = layer([span("o", "ORG", 6, 9)])
    ops = [{"op": "relation.delete", "id": "r"}, {"op": "span.delete", "id": "x"}]
    r = rebase(base, current, ops)
    assert r["ops"] == [] and r["dropped"] == []


def test_updates_to_deleted_items_and_links_to_deleted_spans_are_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9), span("c", "CLAIM", 10, 20)])
    current = layer([span("o", "ORG", 6, 9), span("c", "CLAIM", 10, 20)])
    ops = [
        {"op": "span.update", "id": "x", "label": "ORG"},
        {"op": "relation.create", "id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}},
        {"op": "attribution.create", "id": "a", "source": "x", "cue": None, "content": ["c"], "attrs": {}},
        {"op": "span.update", "id": "o", "attrs": {"note": "kept"}},
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [{"op": "span.update", "id": "o", "attrs": {"note": "kept"}}]
    assert r["dropped"] == ["span-deleted", "relation-span-deleted", "attribution-span-deleted"]
    assert r["message"] == (
        "1 change to a span deleted elsewhere was dropped; 1 relation to a span deleted elsewhere was dropped; "
        "1 attribution with a span deleted elsewhere was dropped"
    )


def test_a_span_delete_takes_links_made_elsewhere_with_it(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)])
    current = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    r = rebase(base, current, [{"op": "span.delete", "id": "x"}])
    assert r["ops"] == [{"op": "relation.delete", "id": "r"}, {"op": "span.delete", "id": "x"}]
    assert r["layer"]["relations"] == [] and [s["id"] for s in r["layer"]["spans"]] == ["o"]


def test_updates_merge_field_by_field_and_clashes_are_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5, factuality="asserted"), span("y", "CLAIM", 10, 20)])
    # Elsewhere: x moved its end and got another attr; y was relabelled.
    current = layer([span("x", "PERSON", 0, 6, factuality="asserted", polarity="neg"), span("y", "CUE", 10, 20)])
    ops = [
        {"op": "span.update", "id": "x", "label": "ORG"},  # a field nobody else changed
        {"op": "span.update", "id": "x", "attrs": {"factuality": "denied"}},  # another key of attrs than elsewhere
        {"op": "span.update", "id": "y", "label": "ORG"},  # the same field, changed elsewhere too
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [
        {"op": "span.update", "id": "x", "label": "ORG"},
        {"op": "span.update", "id": "x", "attrs": {"factuality": "denied", "polarity": "neg"}},
    ]
    assert r["dropped"] == ["span-changed"]
    assert r["message"] == "1 change to a span also changed elsewhere was dropped"
    x = next(s for s in r["layer"]["spans"] if s["id"] == "x")
    assert (x["label"], x["end"], x["attrs"]) == ("ORG", 6, {"factuality": "denied", "polarity": "neg"})


def test_a_relabel_that_breaks_a_relation_made_elsewhere_is_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)])
    current = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    r = rebase(base, current, [{"op": "span.update", "id": "x", "label": "CLAIM"}])
    assert r["ops"] == [] and r["dropped"] == ["no-fit"]
    assert next(s for s in r["layer"]["spans"] if s["id"] == "x")["label"] == "PERSON"


def _chain_layer() -> dict[str, Any]:
    """Two attributions of one claim, A relayed by B, and a third, C."""
    spans = [span("p", "PERSON", 0, 5), span("o", "ORG", 6, 9), span("c", "CLAIM", 10, 20), span("u", "CUE", 21, 25), span("c2", "CLAIM", 30, 40)]
    atts = [
        {"id": "B", "source": "o", "cue": "u", "content": ["c"], "attrs": {}},
        {"id": "A", "source": "p", "cue": None, "content": ["c"], "attrs": {}, "parent": "B"},
        {"id": "C", "source": "p", "cue": None, "content": ["c2"], "attrs": {}},
    ]
    return layer(spans, attributions=atts)


def test_an_attribution_delete_made_elsewhere_unlinks_what_it_relays_and_a_parent_that_would_loop_is_dropped(rebase: Any) -> None:
    cur = _chain_layer()
    # This tab deletes B: spelled out against the current layer, A loses its parent first.
    r = rebase(cur, cur, [{"op": "attribution.delete", "id": "B"}])
    assert r["ops"] == [{"op": "attribution.update", "id": "A", "parent": None}, {"op": "attribution.delete", "id": "B"}]
    assert [a.get("parent") for a in r["layer"]["attributions"] if a["id"] == "A"] == [None]
    # This tab made B relayed by A while another made... A is relayed by B already: the loop is dropped.
    r = rebase(None, cur, [{"op": "attribution.update", "id": "B", "parent": "A"}])
    assert r["ops"] == [] and r["dropped"] == ["no-fit"]
    # A create naming a parent deleted elsewhere is dropped.
    gone = _chain_layer()
    gone["attributions"] = [a for a in gone["attributions"] if a["id"] != "C"]
    r = rebase(None, gone, [{"op": "attribution.create", "id": "D", "source": "o", "cue": None, "content": ["c2"], "attrs": {}, "parent": "C"}])
    assert r["ops"] == [] and r["dropped"] == ["no-fit"]


def test_the_model_spells_out_chain_links_and_finds_loops(page: Any, live: Any) -> None:
    page.goto(f"{live.url}/login")
    got = page.evaluate(
        """async ([schema, layer]) => {
            const M = await import('/static/js/model.js');
            const m = new M.Model(layer, schema);
            const ops = m.deleteSpanOps('c');  // both B and A lose their only content
            const inverse = m.applyOps(ops);
            const after = Array.from(m.attributions.keys()).sort();
            m.applyOps(inverse);
            return {ops, after, restored: m.attributions.get('A').parent, loop: m.chainLoop('B', 'A'), fine: m.chainLoop('C', 'A'),
                    order: m.inReadingOrder(['c2', 'c'])};
        }""",
        [SCHEMA, _chain_layer()],
    )
    assert got["ops"] == [
        {"op": "attribution.update", "id": "A", "parent": None},
        {"op": "attribution.delete", "id": "B"},
        {"op": "attribution.delete", "id": "A"},
        {"op": "span.delete", "id": "c"},
    ]
    assert got["after"] == ["C"] and got["restored"] == "B"
    assert got["loop"] == ["B", "A", "B"] and got["fine"] is None
    assert got["order"] == ["c", "c2"]
