"""People named in a command's arguments: ``/match Bea Hon. Otieno``, ``/unmatch "María José" Paul``.

Aliases may hold spaces, dots, dashes and apostrophes, so the arguments are split into the people a
command takes by trying every split and keeping the ones where each part is a known alias of the
right role. Names compare without case, accents or punctuation; a name may be quoted in any quotes
(``"Bea"``, ``'Bea'``, ``“Bea”``, ``«Bea»``), and ``#12`` is person 12 (what buttons send, so a
payload stays within Telegram's 64 bytes).

Only an exact name acts. Otherwise the sender gets buttons: for a name that fits several people or
only starts a name, the people it could mean; for a name that is missing, the people the command
suggests; an unknown name is named, with an example. A button's payload is the command completed,
so pressing it runs the command again with people by number. Only a sender the command already
admits (its roles) gets here, and only people of the roles it takes are ever named.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlmodel import select

from c2p_bot.core.context import Context
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.roles import Role
from storage.models import Person

MAX_BUTTONS = 10
MAX_TOKENS = 40
NAME_SHOWN = 40  # characters of a typed name repeated in a reply
OPENING = "\"'“”„«»‘’‚‹›「『"
CLOSING = {'"': '"“”', "'": "'‘’", "“": "”“\"", "”": "”“\"", "„": "“”\"", "«": "»", "»": "«»",
           "‘": "’‘'", "’": "’‘'", "‚": "‘’'", "‹": "›", "›": "‹›", "「": "」", "『": "』"}
_ID = re.compile(r"#(\d{1,18})")

FITS_MANY = N_("“{name}” could mean more than one person. Which did you mean?")
STARTS_ONLY = N_("Nobody is called exactly “{name}”. Which did you mean?")
UNPLACED = N_("I couldn't find the people you named in “{name}”.")
EXAMPLE = N_("For example: {example}")
MORE = N_("Not everyone fits on the buttons: type a name instead.")


@dataclass(frozen=True)
class Slot:
    """One person a command takes: their role, what to say, and whom to suggest.

    Messages are catalog msgids; ``choose`` and ``none`` may name the people already chosen by their
    slot's ``key`` (``{hrd}``). ``suggest`` lists the people to offer, best first, given those chosen.
    """

    key: str
    role: Role
    unknown: str  # "... called “{name}”."
    choose: str
    none: str
    suggest: Callable[[Context, tuple[Person, ...]], list[Person]]
    label: Callable[[Translate, Person], str] = field(default=lambda _, person: person.alias or f"#{person.id}")
    # The ids the sender may name (None: everyone of the role), e.g. a partner's own defenders: no
    # one else is found, offered or told apart from an unknown name.
    among: Callable[[Context], Collection[int] | None] = field(default=lambda ctx: None)


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool


@dataclass(frozen=True)
class _Parse:
    ids: tuple[int, ...]
    texts: tuple[str, ...]
    exact: tuple[bool, ...]


def key(text: str) -> str:
    """A name as compared: no case, accents, dots, dashes or apostrophes; single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"['’‘`´ʼ]", "", plain)
    return " ".join(re.sub(r"[.\-_]", " ", plain).split())


def tokens(args: str) -> list[_Token]:
    """Words, where a quoted run (“Hon. Otieno”) is one word; a stray quote is dropped."""
    out: list[_Token] = []
    i, text = 0, args.strip()
    while i < len(text) and len(out) < MAX_TOKENS:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in OPENING:
            closers = CLOSING.get(text[i], text[i])
            end = next((j for j in range(i + 1, len(text)) if text[j] in closers
                        and (j + 1 == len(text) or text[j + 1].isspace())), -1)
            if end > i + 1:
                out.append(_Token(" ".join(text[i + 1:end].split()), True))
                i = end + 1
                continue
        j = i
        while j < len(text) and not text[j].isspace():
            j += 1
        word = text[i:j].strip(OPENING)
        if word:
            out.append(_Token(word, False))
        i = j
    return out


class _Pool:
    """The active people of one role, by compared name."""

    def __init__(self, rows: Sequence[tuple[int | None, str | None]]) -> None:
        self.ids = {pid for pid, _alias in rows if pid is not None}
        self.names = sorted((key(alias), pid) for pid, alias in rows if pid is not None and alias)
        self.keys = [name for name, _pid in self.names]

    def find(self, text: str) -> tuple[bool, list[int]]:
        """(exact?, ids): people called ``text``, else people whose name starts with it."""
        number = _ID.fullmatch(text.strip())
        if number:
            found = int(number.group(1))
            return True, [found] if found in self.ids else []
        wanted = key(text)
        if not wanted:
            return False, []
        start = bisect.bisect_left(self.keys, wanted)
        exact = [pid for name, pid in self.names[start:bisect.bisect_right(self.keys, wanted)]]
        if exact:
            return True, exact
        starts: list[int] = []
        for name, pid in self.names[start:]:
            if not name.startswith(wanted) or len(starts) > MAX_BUTTONS:
                break
            starts.append(pid)
        return False, starts


def _pool(ctx: Context, slot: Slot) -> _Pool:
    rows = ctx.session.exec(select(Person.id, Person.alias).where(
        Person.role == slot.role.value, Person.status == "active")).all()
    among = slot.among(ctx)
    return _Pool(rows if among is None else [row for row in rows if row[0] in among])


def _parses(words: list[_Token], pools: list[_Pool], start: int = 0, slot: int = 0) -> list[_Parse]:
    """Every way of reading ``words[start:]`` as one name per slot from ``slot`` on (each name known,
    or the start of a known one); the last slot may be left unread (a shorter parse)."""
    if slot == len(pools) or start == len(words):
        return [_Parse((), (), ())] if start == len(words) else []
    found: list[_Parse] = []
    for end in range(start + 1, len(words) + 1):
        part = words[start:end]
        if any(w.quoted for w in part) and len(part) > 1:
            break
        text = " ".join(w.text for w in part)
        exact, ids = pools[slot].find(text)
        if not ids:
            continue
        for rest in _parses(words, pools, end, slot + 1):
            found += [_Parse((pid, *rest.ids), (text, *rest.texts), (exact, *rest.exact)) for pid in ids]
    return found


def take(ctx: Context, command: str, args: str, slots: Sequence[Slot]) -> tuple[Person, ...] | None:
    """The people ``args`` names, one per slot; otherwise reply (naming what was wrong, with buttons
    that complete the command) and return None."""
    words = tokens(args)
    if not words:
        _choose(ctx, command, slots, ())
        return None
    pools = [_pool(ctx, slot) for slot in slots]
    parses = _parses(words, pools)
    longest = max((len(p.ids) for p in parses), default=0)
    read = [p for p in parses if len(p.ids) == longest]
    exact = [p for p in read if all(p.exact)]
    if len({p.ids for p in exact}) == 1:
        people = _load(ctx, exact[0].ids, slots)
        if people is not None and longest == len(slots):
            return people
        if people is not None:
            _choose(ctx, command, slots, people)
            return None
    elif read:
        _ask(ctx, command, slots, exact or read, args)
        return None
    _unknown(ctx, command, slots, words, pools)
    return None


def take_leading(ctx: Context, command: str, args: str, slot: Slot) -> tuple[Person, str] | None:
    """One person named at the start of ``args`` and the words after the name (``/detained Amina held
    at the airport``): the longest start that names exactly one person. Otherwise reply as
    :func:`take` does for the first word (buttons, or the unknown name) and return None."""
    pool = _pool(ctx, slot)
    for cut in reversed([m.end() for m in re.finditer(r"\S+", args)][:MAX_TOKENS]):
        exact, ids = pool.find(" ".join(w.text for w in tokens(args[:cut])))
        people = _load(ctx, ids, [slot]) if exact and len(ids) == 1 else None
        if people:
            return people[0], args[cut:].strip()
    take(ctx, command, args.split(maxsplit=1)[0] if args.strip() else "", [slot])
    return None


def _load(ctx: Context, ids: Sequence[int], slots: Sequence[Slot]) -> tuple[Person, ...] | None:
    """The people, read as rows (so their integrity is checked), if each is still active in its role."""
    people = [ctx.session.get(Person, pid) for pid in ids]
    found = tuple(p for p, slot in zip(people, slots, strict=False)
                  if p is not None and p.status == "active" and p.role == slot.role.value)
    return found if len(found) == len(ids) else None


def _alias(person: Person) -> str:
    return person.alias or f"#{person.id}"


def _payload(command: str, people: Sequence[Person]) -> str:
    return " ".join([f"/{command}", *(f"#{p.id}" for p in people)])


def _reply(ctx: Context, lines: list[str], buttons: list[Button]) -> None:
    if len(buttons) > MAX_BUTTONS:
        lines.append(ctx._(MORE))
    ctx.reply("\n".join(lines), [[button] for button in buttons[:MAX_BUTTONS]])


def _choose(ctx: Context, command: str, slots: Sequence[Slot], chosen: tuple[Person, ...]) -> None:
    """Ask for the next person, with the command's suggestions as buttons."""
    slot = slots[len(chosen)]
    offered = slot.suggest(ctx, chosen)
    names = {s.key: _alias(person) for s, person in zip(slots, chosen, strict=False)}
    if not offered:
        ctx.reply(ctx._(slot.none).format(**names))
        return
    _reply(ctx, [ctx._(slot.choose).format(**names)],
           [Button(slot.label(ctx._, p), _payload(command, (*chosen, p))) for p in offered])


def _ask(ctx: Context, command: str, slots: Sequence[Slot], parses: list[_Parse], args: str) -> None:
    """A name that fits several people, or only starts one: each reading as a button."""
    options: list[tuple[Person, ...]] = []
    for parse in parses:
        people = _load(ctx, parse.ids, slots)
        if people is not None and people not in options:
            options.append(people)
    fits_many = all(all(p.exact) for p in parses)
    if fits_many:  # name the part that varies, if the readings differ in one part only
        varying = [i for i in range(len(parses[0].ids)) if len({p.ids[i] for p in parses}) > 1]
        same_split = len({p.texts for p in parses}) == 1
        name = parses[0].texts[varying[0]] if same_split and len(varying) == 1 else args
    else:
        name = next(text for p in parses for text, exact in zip(p.texts, p.exact, strict=True) if not exact)
    options.sort(key=lambda people: [key(_alias(p)) for p in people])
    buttons = [Button(" ↔ ".join(_alias(p) for p in people) if len(people) > 1
                      else slots[0].label(ctx._, people[0]), _payload(command, people)) for people in options]
    _reply(ctx, [ctx._(FITS_MANY if fits_many else STARTS_ONLY).format(name=name[:NAME_SHOWN])], buttons)


def _exactly(ctx: Context, pool: _Pool, words: list[_Token], slot: Slot) -> Person | None:
    exact, ids = pool.find(" ".join(w.text for w in words))
    people = _load(ctx, ids, [slot]) if exact and len(ids) == 1 else None
    return people[0] if people else None


def _unknown(ctx: Context, command: str, slots: Sequence[Slot], words: list[_Token], pools: list[_Pool]) -> None:
    """Name the part that names nobody, with an example; buttons suggest people in its place (the
    people named before it, or the one after it, stay as named)."""
    before: tuple[Person, ...] = ()
    after: tuple[Person, ...] = ()
    rest = words
    while len(before) < len(slots) - 1:  # the longest known names at the start, slot by slot
        index = len(before)
        found = next(((person, end) for end in range(len(rest) - 1, 0, -1)
                      if (person := _exactly(ctx, pools[index], rest[:end], slots[index])) is not None), None)
        if found is None:
            break
        before, rest = (*before, found[0]), rest[found[1]:]
    if len(slots) > 1 and not before:
        for start in range(1, len(words)):  # else the longest known name at the end
            if (last := _exactly(ctx, pools[-1], words[start:], slots[-1])) is not None:
                after, rest = (last,), words[:start]
                break
    name = " ".join(w.text for w in rest)[:NAME_SHOWN]
    slot = slots[len(before)]
    unplaced = len(slots) > 1 and not before and not after and len(rest) > 1
    lines = [ctx._(UNPLACED if unplaced else slot.unknown).format(name=name)]
    offered = slot.suggest(ctx, before)
    example = list(before)
    for index in range(len(before), len(slots) - len(after)):
        more = offered if index == len(before) else slots[index].suggest(ctx, tuple(example))
        if not more:
            break
        example.append(more[0])
    example += after
    if len(example) == len(slots):
        shown = " ".join([f"/{command}", *(_alias(p) for p in example)])
    else:
        spec = ctx.core.commands.lookup(command)
        shown = f"/{command} {ctx._(spec.usage) if spec and spec.usage else ''}".strip()
    lines.append(ctx._(EXAMPLE).format(example=shown))
    _reply(ctx, lines, [Button(slot.label(ctx._, p), _payload(command, (*before, p, *after))) for p in offered])
