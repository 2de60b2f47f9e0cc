"""static/js/offsets.js in Chromium, checked against Python's own offsets (workbench.domain.offsets)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workbench.domain.offsets import astral_positions
from workbench.domain.offsets import cp_to_utf16
from workbench.domain.offsets import tokens
from workbench.domain.offsets import utf16_to_cp

pytestmark = pytest.mark.browser

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧
FLAG = "\U0001f1e9\U0001f1ea"  # 🇩🇪
SAMPLES = [
    f"{FAMILY} at the start, then text",
    f"Trip with {FAMILY} and {FLAG} in the middle.",
    "Post on \U0001d54f today: \U0001d54f\U0001d54f!",
    "Москва заявила, что переговоры продолжатся.",
    "The cafe\u0301 near the station closed.",
    "First line\r\nSecond line\r\n\r\nFourth",
    "Old Mac\rline two\rline three",
    f"Ends with an astral letter \U0001d54f and {FLAG}",
    "Tabs\tand  double  spaces\u00a0and soft\u00adhyphen",
    "",
]


@pytest.fixture
def js(page: Any, live: Any) -> Any:
    """A page on the live server with offsets.js imported as window.O."""
    page.goto(f"{live.url}/login")
    page.evaluate("async () => { window.O = await import('/static/js/offsets.js'); }")
    return page


def u16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("text", SAMPLES)
def test_conversions_match_python(js: Any, text: str) -> None:
    astral = astral_positions(text)
    got = js.evaluate(
        """(t) => {
            const a = O.astralPositions(t);
            const n = t.length;
            const cp2u = [], u2cp = [];
            const cpLen = O.cpLength(t);
            for (let i = 0; i <= cpLen; i++) cp2u.push(O.cpToU16(i, a));
            for (let i = 0; i <= n; i++) u2cp.push(O.u16ToCp(i, a));
            return {a, cp2u, u2cp, cpLen, lines: O.splitLines(t)};
        }""",
        text,
    )
    assert got["a"] == astral
    assert got["cpLen"] == len(text)
    assert got["cp2u"] == [cp_to_utf16(i, astral) for i in range(len(text) + 1)]
    assert got["u2cp"] == [utf16_to_cp(i, astral) for i in range(u16_len(text) + 1)]
    # Lines: split on \r\n, \n or \r; compare in code points.
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", text)]
    ends = [m.start() for m in re.finditer(r"\r\n|\n|\r", text)] + [len(text)]
    assert [(utf16_to_cp(ln["start"], astral), utf16_to_cp(ln["end"], astral)) for ln in got["lines"]] == list(zip(starts, ends))


def normalize(js: Any, text: str, start_cp: int, end_cp: int, snap: bool = True, u16: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """Run the whole selection pipeline in the browser on a code-point (or raw UTF-16) range."""
    astral = astral_positions(text)
    s16, e16 = u16 if u16 else (cp_to_utf16(start_cp, astral), cp_to_utf16(end_cp, astral))
    r = js.evaluate(
        """([t, toks, s, e, snap]) => {
            const astral = O.astralPositions(t);
            const opts = {astral, lines: O.splitLines(t), toks: snap ? O.tokensToU16(toks, astral) : null};
            return O.normalizeRange(t, s, e, opts);
        }""",
        [text, [list(t) for t in tokens(text)], s16, e16, snap],
    )
    return None if r is None else (r["start"], r["end"])


def test_token_snapping_uses_the_server_tokens(js: Any) -> None:
    text = "Mara Lindqvist said it, twice."
    # A selection cutting both words grows to whole tokens.
    assert normalize(js, text, 2, 9) == (0, 14)
    # Surrounding spaces are dropped, with or without snapping.
    assert normalize(js, text, 4, 15) == (5, 14)
    assert normalize(js, text, 4, 15, snap=False) == (5, 14)
    # Punctuation is its own token: selecting "it," keeps the comma only if selected.
    s = text.index("it")
    assert normalize(js, text, s, s + 1) == (s, s + 2)
    assert normalize(js, text, s, s + 3) == (s, s + 3)
    # Only white space selected: nothing.
    assert normalize(js, text, 4, 5) is None


def test_cyrillic_snaps_like_python(js: Any) -> None:
    text = "Москва заявила, что переговоры продолжатся."
    assert normalize(js, text, 1, 5) == (0, 6)
    start, end = normalize(js, text, 9, 10)
    assert text[start:end] == "заявила"


def test_grapheme_widening(js: Any) -> None:
    text = f"Trip with {FAMILY} and {FLAG} in the middle."
    fam = text.index(FAMILY)
    astral = astral_positions(text)
    # Half of the family emoji in UTF-16 (inside the first surrogate pair), character mode.
    s16 = cp_to_utf16(fam, astral) + 1
    got = normalize(js, text, 0, 0, snap=False, u16=(s16, s16 + 3))
    assert got is not None and text[got[0] : got[1]] == FAMILY
    # One regional indicator of the flag widens to the whole flag (with token snapping too).
    flag = text.index(FLAG)
    for snap in (False, True):
        got = normalize(js, text, flag, flag + 1, snap=snap)
        assert got is not None and text[got[0] : got[1]] == FLAG
    # A decomposed é: "caf" snaps to the token "cafe", then widens over the combining accent.
    text2 = "The cafe\u0301 near the station closed."
    c = text2.index("caf")
    got = normalize(js, text2, c, c + 3)
    assert got is not None and text2[got[0] : got[1]] == "cafe\u0301"
    # An astral letter: half a surrogate pair widens to the letter.
    text3 = "Post on \U0001d54f today"
    x16 = cp_to_utf16(text3.index("\U0001d54f"), astral_positions(text3))
    got = normalize(js, text3, 0, 0, snap=False, u16=(x16, x16 + 1))
    assert got is not None and text3[got[0] : got[1]] == "\U0001d54f"


def build_layer(js: Any, text: str) -> None:
    """Build a text layer like the annotate page's in a container #t."""
    js.evaluate(
        """(t) => {
            const c = document.createElement('div'); c.id = 't';
            for (const ln of O.splitLines(t)) {
                const line = document.createElement('div'); line.className = 'wb-line';
                const b = document.createElement('div'); b.className = 'wb-block'; b.dataset.u16 = String(ln.start);
                b.appendChild(document.createTextNode(t.slice(ln.start, ln.end)));
                const ov = document.createElement('div'); ov.className = 'wb-lanes';
                line.append(b, ov); c.appendChild(line);
            }
            c.dataset.u16Length = String(t.length);
            document.body.prepend(c);
        }""",
        text,
    )


@pytest.mark.parametrize("text", ["First line\r\nSecond line", "Old Mac\rline two", f"{FAMILY} one\nand {FLAG} two"])
def test_dom_points_and_line_gaps(js: Any, text: str) -> None:
    build_layer(js, text)
    astral = astral_positions(text)
    got = js.evaluate(
        """() => {
            const c = document.getElementById('t');
            const blocks = c.querySelectorAll('.wb-block');
            const lines = c.querySelectorAll('.wb-line');
            const pt = (n, o) => O.domPointToU16(c, n, o);
            const r = document.createRange();
            // From the very end of line 1 to the start of line 2's text: an empty selection after the gap rules.
            r.setStart(blocks[0].firstChild, blocks[0].firstChild.length);
            r.setEnd(blocks[1].firstChild, 3);
            const r2 = document.createRange();
            r2.setStart(blocks[0].firstChild, 0);
            r2.setEnd(blocks[1], 0);
            const r3 = document.createRange();
            r3.setStart(c, 0);
            r3.setEnd(c, c.childNodes.length);
            return {
                textStart: pt(blocks[1].firstChild, 0),
                blockEl0: pt(blocks[1], 0), blockEl1: pt(blocks[1], 1),
                lineEl: pt(lines[1], 0), lineAfterBlock: pt(lines[0], 1), containerEnd: pt(c, c.childNodes.length),
                gap: O.rangeToU16(c, r), backToLine1: O.rangeToU16(c, r2), whole: O.rangeToU16(c, r3),
            };
        }"""
    )
    line2 = [m.end() for m in re.finditer(r"\r\n|\n|\r", text)][0]
    end1 = re.search(r"\r\n|\n|\r", text).start()
    s2 = cp_to_utf16(line2, astral)
    e1 = cp_to_utf16(end1, astral)
    assert got["textStart"] == s2
    assert got["blockEl0"] == s2
    assert got["lineEl"] == s2
    assert got["blockEl1"] == u16_len(text)  # the end of line 2, the last line
    assert got["lineAfterBlock"] == s2  # between blocks: the next block's start (rangeToU16 moves an end back)
    assert got["containerEnd"] == u16_len(text)
    # A start at the end of line 1 moves to the start of line 2: never inside the terminator.
    assert got["gap"] == {"start": s2, "end": s2 + 3}
    # An end at the start of line 2 moves back to the end of line 1.
    assert got["backToLine1"] == {"start": 0, "end": e1}
    assert got["whole"] == {"start": 0, "end": u16_len(text)}


def test_edge_points_and_ranges(js: Any) -> None:
    text = f"Trip with {FAMILY} and {FLAG}\r\nJonas Weber agreed."
    build_layer(js, text)
    start = text.index("Jonas")
    got = js.evaluate(
        """([s, e]) => {
            const c = document.getElementById('t');
            const p = O.edgePoints(c, s, e);
            return {p, str: O.rangeForCp(c, s, e).toString()};
        }""",
        [start, start + len("Jonas Weber")],
    )
    assert got["str"] == "Jonas Weber"
    p = got["p"]
    assert p["x1"] > p["x0"] and abs(p["y0"] - p["y1"]) < 1
