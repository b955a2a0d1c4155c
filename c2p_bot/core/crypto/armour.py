"""ASCII armour for sealed messages relayed through chat.

::

    -----BEGIN C2P SEALED MESSAGE-----
    context: note:1234:reader:56
    note: 1234
    kind: checkin
    written: 2026-03-02T08:00Z
    reader-key: 3f9a0c12d4e5
    <base64, 64 columns>
    -----END C2P SEALED MESSAGE-----

A context that is not printable ASCII without spaces is written as
``context-b64: <base64url>``. Other ``name: value`` lines (values without spaces) describe the
message for ``c2p-bot decrypt``; only the context is authenticated (bound into the ciphertext),
the others are what the bot said when it sent it. Parsing tolerates surrounding chat text,
quote markers (``>``), changed line breaks and extra whitespace.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import ArmourError
from .keytext import (
    decode_public_key,
    encode_public_key,
    read_private_key,
    write_private_key,
)

__all__ = [
    "BEGIN",
    "END",
    "Armoured",
    "armour",
    "dearmour",
    "parse_armour",
    "decode_public_key",
    "encode_public_key",
    "read_private_key",
    "write_private_key",
]

BEGIN = "-----BEGIN C2P SEALED MESSAGE-----"
END = "-----END C2P SEALED MESSAGE-----"
LINE_WIDTH = 64

_DASH = "[-\u2010\u2011\u2012\u2013\u2014]+"
_BEGIN_RE = re.compile(_DASH + r"\s*BEGIN C2P SEALED MESSAGE\s*" + _DASH, re.IGNORECASE)
_END_RE = re.compile(_DASH + r"\s*END C2P SEALED MESSAGE\s*" + _DASH, re.IGNORECASE)
_CONTEXT_RE = re.compile(r"context(-b64)?:\s*(\S+)", re.IGNORECASE)
_HEADER_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]*):[ \t]*([^\s:][^\s]*)")
_HEADER_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_B64 = frozenset(string.ascii_letters + string.digits + "+/=")
_IGNORED = frozenset(">\u200b\u200c\u200d\u2060\ufeff")


def _plain_context(context: bytes) -> bool:
    return all(0x21 <= b <= 0x7E for b in context)


@dataclass(frozen=True)
class Armoured:
    """A parsed armoured block: the sealed blob, its (authenticated) context, and the other,
    descriptive header lines."""

    blob: bytes
    context: bytes
    headers: dict[str, str] = field(default_factory=dict)


def armour(blob: bytes, context: bytes, headers: Sequence[tuple[str, str]] = ()) -> str:
    """Return the text form of a sealed ``blob`` with its ``context`` and descriptive
    ``headers`` (lower-case names, values without whitespace)."""
    if not context:
        raise ValueError("context must be non-empty bytes")
    if _plain_context(context):
        header = "context: " + context.decode("ascii")
    else:
        header = "context-b64: " + base64.urlsafe_b64encode(context).decode("ascii")
    extra = []
    for name, value in headers:
        if (not _HEADER_NAME.match(name) or name.startswith("context") or not value
                or not _plain_context(value.encode("utf-8", "replace")) or ":" in value[:1]):
            raise ValueError(f"bad armour header {name!r}")
        extra.append(f"{name}: {value}")
    body = base64.b64encode(blob).decode("ascii")
    lines = [body[i : i + LINE_WIDTH] for i in range(0, len(body), LINE_WIDTH)]
    return "\n".join([BEGIN, header, *extra, *lines, END]) + "\n"


def dearmour(text: str) -> tuple[bytes, bytes]:
    """Extract ``(blob, context)`` from the first armoured block in ``text``."""
    found = parse_armour(text)
    return found.blob, found.context


def parse_armour(text: str) -> Armoured:
    """The first armoured block in ``text``, with its descriptive headers."""
    begin = _BEGIN_RE.search(text)
    if begin is None:
        raise ArmourError("No sealed message found in the text", code="no_armour")
    end = _END_RE.search(text, begin.end())
    if end is None:
        raise ArmourError("The sealed message is incomplete (no END line)", code="armour_truncated")
    inner = text[begin.end() : end.start()]
    match = _CONTEXT_RE.search(inner)
    if match is None:
        raise ArmourError("The sealed message has no context line", code="armour_no_context")
    context = _decode_context(match.group(2), encoded=match.group(1) is not None)
    rest = inner[: match.start()] + " " + inner[match.end() :]
    headers: dict[str, str] = {}
    for found in _HEADER_RE.finditer(rest):
        headers.setdefault(found.group(1).lower(), found.group(2))
    body = _HEADER_RE.sub(" ", rest)
    return Armoured(_decode_body(body), context, headers)


def _decode_context(value: str, encoded: bool) -> bytes:
    try:
        context = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)) if encoded else value.encode("ascii")
    except (binascii.Error, ValueError):
        raise ArmourError("The context line is corrupted", code="armour_corrupt") from None
    if not context:
        raise ArmourError("The context line is empty", code="armour_corrupt")
    return context


def _decode_body(body: str) -> bytes:
    chars = []
    for ch in body:
        if ch in _B64:
            chars.append(ch)
        elif not (ch.isspace() or ch in _IGNORED):
            raise ArmourError(
                "The sealed message contains unexpected characters", code="armour_corrupt"
            )
    try:
        blob = base64.b64decode("".join(chars), validate=True)
    except (binascii.Error, ValueError):
        raise ArmourError("The sealed message is corrupted", code="armour_corrupt") from None
    if not blob:
        raise ArmourError("The sealed message is empty", code="armour_corrupt")
    return blob
