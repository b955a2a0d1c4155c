"""Text formatting the way the Bot API does it: parse_mode parsing, entity detection, trimming.

Everything here mirrors what Telegram's server (tdlib's ``MessageEntity.cpp``) does closely
enough that bot bugs surface in tests: an unescaped ``.`` in MarkdownV2, an unsupported ``<br>``
tag in HTML or an unclosed ``<b>`` all fail with ``400 Bad Request: can't parse entities: ...``
just like in production. Offsets and lengths of entities are in UTF-16 code units, as on the
wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class EntityParseError(Exception):
    """Raised for text Telegram would reject with ``Bad Request: can't parse entities: ...``."""

    def __init__(self, detail: str, *, description: str | None = None) -> None:
        super().__init__(detail)
        self.description = description or f"Bad Request: can't parse entities: {detail}"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Entity:
    type: str
    start: int  # code point index in the output text
    end: int = -1
    extra: dict[str, Any] = field(default_factory=dict)


def _to_wire(text: str, entities: list[_Entity]) -> list[dict[str, Any]]:
    """Code point spans -> sorted wire entities with UTF-16 offsets; empty ones dropped."""
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    out = []
    for ent in entities:
        if ent.end <= ent.start:
            continue
        item: dict[str, Any] = {
            "offset": prefix[ent.start],
            "length": prefix[ent.end] - prefix[ent.start],
            "type": ent.type,
        }
        item.update(ent.extra)
        out.append(item)
    out.sort(key=lambda e: (e["offset"], -e["length"]))
    return out


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entities(raw: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("#x") or name.startswith("#X"):
            try:
                return chr(int(name[2:], 16))
            except (ValueError, OverflowError):
                return m.group(0)
        if name.startswith("#"):
            try:
                return chr(int(name[1:]))
            except (ValueError, OverflowError):
                return m.group(0)
        return _NAMED_ENTITIES.get(name, m.group(0))

    return re.sub(r"&(#[xX][0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);", repl, raw)


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    out_len = 0
    stack: list[tuple[str, _Entity, int]] = []  # (tag name, entity, byte offset of tag)
    done: list[_Entity] = []
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            m = re.match(r"&(#[xX][0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);", src[i:])
            piece = _decode_html_entities(m.group(0)) if m else "&"
            i += len(m.group(0)) if m else 1
            out.append(piece)
            out_len += len(piece)
            continue
        if ch != "<":
            j = i
            while j < n and src[j] not in "<&":
                j += 1
            out.append(src[i:j])
            out_len += j - i
            i = j
            continue
        tag_start = i
        i += 1
        if i < n and src[i] == "/":
            close = src.find(">", i)
            if close == -1:
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(src, tag_start)}"
                )
            name = src[i + 1 : close].strip().lower()
            i = close + 1
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(src, tag_start)}"
                )
            open_name, ent, _ = stack[-1]
            if name != open_name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, tag_start)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            stack.pop()
            ent.end = out_len
            if ent.type == "code":
                lang = ent.extra.pop("language", None)
                if (
                    lang
                    and stack
                    and stack[-1][1].type == "pre"
                    and stack[-1][1].start == ent.start
                ):
                    stack[-1][1].extra["language"] = lang
                    continue
            if ent.type == "text_link" and not ent.extra.get("url"):
                continue
            done.append(ent)
            continue
        j = i
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(src, tag_start)}"
            )
        name = src[i:j].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, tag_start)}'
            )
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(
                    f'Unclosed start tag "{name}" at byte offset {_byte_offset(src, tag_start)}'
                )
            if src[i] == ">":
                i += 1
                break
            am = re.match(r"[A-Za-z0-9_-]*", src[i:])
            attr = am.group(0).lower() if am else ""
            if not attr:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(src, i)}"
                )
            i += len(attr)
            while i < n and src[i].isspace():
                i += 1
            if i < n and src[i] == "=":
                i += 1
                while i < n and src[i].isspace():
                    i += 1
                if i < n and src[i] in "\"'":
                    quote_end = src.find(src[i], i + 1)
                    if quote_end == -1:
                        raise EntityParseError(
                            f"Unclosed end of an attribute value at byte offset "
                            f"{_byte_offset(src, i)}"
                        )
                    value = src[i + 1 : quote_end]
                    i = quote_end + 1
                else:
                    k = i
                    while k < n and not src[k].isspace() and src[k] != ">":
                        k += 1
                    value = src[i:k]
                    i = k
            else:
                value = ""
            attrs[attr] = _decode_html_entities(value)
        ent = _Entity(_HTML_TAGS[name], out_len)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(src, tag_start)}"
            )
        if name == "a":
            href = attrs.get("href", "")
            um = re.match(r"tg://user\?id=(\d+)$", href)
            if um:
                ent.type = "text_mention"
                ent.extra["user"] = {"id": int(um.group(1)), "is_bot": False, "first_name": ""}
            else:
                ent.extra["url"] = href
        elif name == "code" and attrs.get("class", "").startswith("language-"):
            ent.extra["language"] = attrs["class"][len("language-") :]
        elif name == "blockquote" and "expandable" in attrs:
            ent.type = "expandable_blockquote"
        elif name == "tg-emoji":
            ent.extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        stack.append((name, ent, _byte_offset(src, tag_start)))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), _to_wire("".join(out), done)


# --------------------------------------------------------------------------------------------
# MarkdownV2
# --------------------------------------------------------------------------------------------

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    stack: list[tuple[_Entity, int]] = []  # entity, byte offset of the opening marker
    done: list[_Entity] = []
    quote: _Entity | None = None
    i = 0
    n = len(src)

    def pos() -> int:
        return sum(len(p) for p in out)

    def reserved(c: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < n:
        ch = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if at_line_start and quote is not None and ch != ">":
            quote.end = pos() - 1 if out and out[-1].endswith("\n") else pos()
            done.append(quote)
            quote = None
        if ch == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.append(src[i + 1])
            i += 2
            continue
        code_like = stack and stack[-1][0].type in ("code", "pre")
        if code_like:
            ent = stack[-1][0]
            if ent.type == "pre" and src.startswith("```", i):
                ent.end = pos()
                done.append(ent)
                stack.pop()
                i += 3
                continue
            if ent.type == "code" and ch == "`":
                ent.end = pos()
                done.append(ent)
                stack.pop()
                i += 1
                continue
            out.append(ch)
            i += 1
            continue
        if ch == ">" and at_line_start:
            if quote is None:
                quote = _Entity("blockquote", pos())
            i += 1
            continue
        if src.startswith("```", i):
            ent = _Entity("pre", pos())
            j = i + 3
            nl = src.find("\n", j)
            if nl != -1 and re.fullmatch(r"[A-Za-z0-9_+#-]*", src[j:nl]):
                if src[j:nl]:
                    ent.extra["language"] = src[j:nl]
                j = nl + 1
            ent.start = pos()
            stack.append((ent, _byte_offset(src, i)))
            i = j
            continue
        marker = None
        if src.startswith("||", i):
            marker, kind = "||", "spoiler"
        elif src.startswith("__", i):
            marker, kind = "__", "underline"
        elif ch in "*_~`":
            marker, kind = ch, {"*": "bold", "_": "italic", "~": "strikethrough", "`": "code"}[ch]
        if marker is not None:
            if stack and stack[-1][0].type == kind:
                ent = stack.pop()[0]
                ent.end = pos()
                done.append(ent)
            else:
                stack.append((_Entity(kind, pos()), _byte_offset(src, i)))
            i += len(marker)
            continue
        if ch == "[":
            stack.append((_Entity("text_link", pos()), _byte_offset(src, i)))
            i += 1
            continue
        if ch == "]" and stack and stack[-1][0].type == "text_link":
            ent = stack.pop()[0]
            ent.end = pos()
            if i + 1 < n and src[i + 1] == "(":
                j = i + 2
                url: list[str] = []
                while j < n and src[j] != ")":
                    if src[j] == "\\" and j + 1 < n:
                        j += 1
                    url.append(src[j])
                    j += 1
                if j >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(src, i + 1)}"
                    )
                ent.extra["url"] = "".join(url)
                um = re.match(r"tg://user\?id=(\d+)$", ent.extra["url"])
                if um:
                    ent.type = "text_mention"
                    ent.extra = {
                        "user": {"id": int(um.group(1)), "is_bot": False, "first_name": ""}
                    }
                done.append(ent)
                i = j + 1
            else:
                i += 1
            continue
        if ch in _MDV2_RESERVED:
            raise reserved(ch)
        out.append(ch)
        i += 1
    if stack:
        ent, offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[ent.type]} entity at byte offset {offset}"
        )
    if quote is not None:
        quote.end = pos()
        done.append(quote)
    text = "".join(out)
    return text, _to_wire(text, done)


# --------------------------------------------------------------------------------------------
# Legacy Markdown
# --------------------------------------------------------------------------------------------


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    done: list[_Entity] = []
    i = 0
    n = len(src)

    def pos() -> int:
        return sum(len(p) for p in out)

    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            i += 2
            continue
        if ch in "*_`[":
            start_byte = _byte_offset(src, i)
            if src.startswith("```", i):
                end = src.find("```", i + 3)
                if end == -1:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {start_byte}"
                    )
                body = src[i + 3 : end]
                ent = _Entity("pre", pos())
                first_nl = body.find("\n")
                if first_nl != -1 and re.fullmatch(r"[A-Za-z0-9_+#-]+", body[:first_nl]):
                    ent.extra["language"] = body[:first_nl]
                    body = body[first_nl + 1 :]
                ent.start = pos()
                out.append(body)
                ent.end = pos()
                done.append(ent)
                i = end + 3
                continue
            close_char = "]" if ch == "[" else ch
            end = src.find(close_char, i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {start_byte}"
                )
            body = src[i + 1 : end]
            if ch == "[":
                if end + 1 < n and src[end + 1] == "(":
                    url_end = src.find(")", end + 2)
                    if url_end == -1:
                        raise EntityParseError(
                            f"Can't find end of the entity starting at byte offset {start_byte}"
                        )
                    ent = _Entity("text_link", pos(), extra={"url": src[end + 2 : url_end]})
                    out.append(body)
                    ent.end = pos()
                    done.append(ent)
                    i = url_end + 1
                else:
                    out.append(body)
                    i = end + 1
                continue
            kind = {"*": "bold", "_": "italic", "`": "code"}[ch]
            ent = _Entity(kind, pos())
            out.append(body)
            ent.end = pos()
            done.append(ent)
            i = end + 1
            continue
        out.append(ch)
        i += 1
    text = "".join(out)
    return text, _to_wire(text, done)


# --------------------------------------------------------------------------------------------
# Automatic entity detection and final fix-ups
# --------------------------------------------------------------------------------------------

_AUTO_PATTERNS = [
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?(?![\w/])")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]*\w\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram adds on its own: bot commands, URLs, e-mails, mentions, hashtags."""
    found: list[_Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            found.append(_Entity(kind, s, e))
    return _to_wire(text, found)


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["offset"] < b["offset"] + b["length"] and b["offset"] < a["offset"] + a["length"]


def merge_entities(
    explicit: list[dict[str, Any]], auto: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    merged = list(explicit)
    merged.extend(a for a in auto if not any(_overlaps(a, e) for e in explicit))
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace the way Telegram does, moving/clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed = []
    for ent in entities:
        start = max(ent["offset"] - lead, 0)
        end = min(ent["offset"] + ent["length"] - lead, total)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    return stripped, fixed


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """What Telegram stores for ``text`` + ``parse_mode``/``entities``. Raises EntityParseError."""
    mode = (parse_mode or "").lower()
    if entities:
        explicit = list(entities)
    elif mode == "html":
        text, explicit = parse_html(text)
    elif mode == "markdownv2":
        text, explicit = parse_markdown_v2(text)
    elif mode == "markdown":
        text, explicit = parse_markdown(text)
    elif mode:
        raise EntityParseError(
            "unsupported parse_mode", description="Bad Request: unsupported parse_mode"
        )
    else:
        explicit = []
    text, explicit = trim(text, explicit)
    return text, merge_entities(explicit, detect_entities(text))
