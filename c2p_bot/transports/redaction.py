"""Keep message text out of the chat libraries' log records, at every level.

The libraries log what they receive: python-telegram-bot logs an update it cannot parse whole
at CRITICAL ("Error while parsing updates! Received data was %r"), its DEBUG records carry
request parameters and answers, the webhook server logs the body it was posted, matrix-nio logs
events that fail validation ("Error validating event: {error}", which quotes the event), httpx
logs URLs holding the bot token. Filtering by level cannot stop that; this module filters by
what a record could carry.

A record from one of the :data:`LIBRARY_LOGGERS` (or any logger below them) keeps its logger,
level, time and place, and is rewritten so that nothing the library received or sent survives:

- arguments (``%s``/``%r``) are withheld unless they are numbers, booleans or None: the message
  becomes the library's own format string with ``<withheld>`` in their place;
- a message text without arguments (which a library may have built with an f-string) is cut at
  the first character that opens quoted or structured data (quotes, brackets, braces,
  ``<``, ``=``, a line break), and longer messages at :data:`MAX_MESSAGE` characters;
- an exception (``exc_info``) is reduced to its class name: its text and traceback may quote
  the data (a parse error), so they are dropped; ``stack_info`` too.

Mechanism: a ``logging.Filter`` on a logger only sees records created on that very logger, not
on its children ("telegram.ext.Updater" is not filtered by a filter on "telegram"), and the
libraries create loggers lazily. :func:`install_library_log_redaction` therefore wraps the
process's log record factory, which every ``Logger`` calls for every record it emits: a record
whose logger name is a library logger or below one is rewritten as it is created, before any
filter or handler sees it, whichever logger made it and whenever that logger was created.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

# Logger names (and everything below them) of the libraries that see message content.
LIBRARY_LOGGERS: tuple[str, ...] = (
    "telegram",  # python-telegram-bot: telegram.Bot, telegram.ext.Updater, telegram.ext.Application, ...
    "httpx",
    "httpcore",
    "h11",
    "h2",
    "hpack",  # HTTP/2 header decoding (access tokens)
    "nio",  # matrix-nio: nio.responses, nio.rooms, nio.crypto.*, nio.client.*, ...
    "aiohttp",  # matrix-nio's HTTP client
    "tornado",  # python-telegram-bot's webhook server
)
WITHHELD = "<withheld>"
MAX_MESSAGE = 200
# Characters that start quoted or structured data in a message: everything from there is cut.
_DATA_START = re.compile(r"[\"'`{}\[\]()<>=\n\r\\]")
_SAFE_ARG_TYPES = (int, float, bool, type(None))

_lock = threading.Lock()
_installed = False


def _is_library(name: str, prefixes: Iterable[str] = LIBRARY_LOGGERS) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _cut(text: str) -> str:
    found = _DATA_START.search(text)
    kept = text[: found.start()] if found else text
    if len(kept) > MAX_MESSAGE:
        kept = kept[:MAX_MESSAGE]
    if kept != text:
        kept = kept.rstrip() + " [details withheld]"
    return kept


class _Withheld:
    """Stands in for an argument: prints as ``<withheld>`` with %s and %r alike."""

    def __str__(self) -> str:
        return WITHHELD

    __repr__ = __str__


class _WithheldMapping(dict[str, Any]):
    """Every ``%(key)s`` of a template reads as ``<withheld>``."""

    def __missing__(self, key: str) -> _Withheld:
        return _Withheld()


def _render(record: logging.LogRecord) -> str:
    template = str(record.msg)
    args = record.args
    if not args:
        return _cut(template)
    if _DATA_START.search(template):
        return _cut(template)
    if isinstance(args, tuple):
        safe: Any = tuple(a if isinstance(a, _SAFE_ARG_TYPES) else _Withheld() for a in args)
    else:  # a lone mapping argument: "%r" of it, or "%(key)s" from it
        safe = (_Withheld(),)
    for candidate in (safe, _WithheldMapping()):
        try:
            return template % candidate
        except (TypeError, ValueError, KeyError):
            continue
    return _cut(template) + " [arguments withheld]"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite ``record`` in place (see the module docstring) and return it."""
    if getattr(record, "_c2p_redacted", False):
        return record
    text = _render(record)
    if record.exc_info and record.exc_info[0] is not None:
        text = f"{text} ({record.exc_info[0].__name__}; details withheld)"
    record.msg, record.args = text, None
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    record._c2p_redacted = True  # type: ignore[attr-defined]
    return record


def install_library_log_redaction() -> None:
    """Rewrite every record the chat libraries create from now on (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _is_library(record.name):
                redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
