"""parse_mode handling of the fake server, checked against documented Telegram behaviour."""

from __future__ import annotations

import re

import pytest

from tests.telegram_api.formatting import EntityParseError, format_text


def ents(text: str, mode: str | None) -> tuple[str, list[tuple[str, int, int]]]:
    out, entities = format_text(text, mode, None)
    return out, [(e["type"], e["offset"], e["length"]) for e in entities]


def test_html_entities_nesting_and_pre_language() -> None:
    text, entities = format_text(
        '<b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">pass</code></pre>',
        "HTML",
        None,
    )
    assert text == "bold both link pass"
    assert entities == [
        {"offset": 0, "length": 9, "type": "bold"},
        {"offset": 5, "length": 4, "type": "italic"},
        {"offset": 10, "length": 4, "type": "text_link", "url": "https://x.org/?a=1&b=2"},
        {"offset": 15, "length": 4, "type": "pre", "language": "python"},
    ]


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
def test_html_errors(src: str, message: str) -> None:
    with pytest.raises(EntityParseError) as info:
        format_text(src, "HTML", None)
    assert info.value.description.startswith("Bad Request: can't parse entities: ")
    assert message in info.value.description


def test_markdown_v2() -> None:
    assert ents(r"*bold \*text* _it_ __u__ ~s~ ||sp|| `c` end\.", "MarkdownV2") == (
        "bold *text it u s sp c end.",
        [
            ("bold", 0, 10),
            ("italic", 11, 2),
            ("underline", 14, 1),
            ("strikethrough", 16, 1),
            ("spoiler", 18, 2),
            ("code", 21, 1),
        ],
    )
    assert ents(">quoted\nplain", "MarkdownV2") == ("quoted\nplain", [("blockquote", 0, 6)])
    text, entities = format_text("[site](https://x.org/a\\)b)", "MarkdownV2", None)
    assert text == "site" and entities[0]["url"] == "https://x.org/a)b"
    for bad, detail in [
        ("Hello.", "Character '.' is reserved"),
        ("1 + 1", "Character '+' is reserved"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
    ]:
        with pytest.raises(EntityParseError, match=re.escape(detail)):
            format_text(bad, "MarkdownV2", None)


def test_legacy_markdown_and_auto_entities() -> None:
    assert ents("*b* _i_ `c` see https://x.org/p.", "Markdown") == (
        "b i c see https://x.org/p.",
        [("bold", 0, 1), ("italic", 2, 1), ("code", 4, 1), ("url", 10, 15)],
    )
    with pytest.raises(EntityParseError, match="Can't find end of the entity"):
        format_text("*open", "Markdown", None)
    # Telegram trims whitespace and detects commands/mentions/hashtags on its own.
    assert ents("  /help@c2p_test_bot ask @amina_x #urgent \n", None) == (
        "/help@c2p_test_bot ask @amina_x #urgent",
        [("bot_command", 0, 18), ("mention", 23, 8), ("hashtag", 32, 7)],
    )
    # Offsets/lengths are UTF-16 code units.
    assert ents("🙂 <b>x</b>", "HTML") == ("🙂 x", [("bold", 3, 1)])
