"""Property (DESIGN invariants 3 and 5): random command sequences by an HRD with a PIN.

An HRD with a check-in PIN and a duress PIN, a partner and a coordinator. Hypothesis plays
sequences of what a coercer holding the phone could type — /pause, /resume, /schedule, /forget,
/pin, /checkin with no PIN, a wrong PIN, the duress PIN or the real one, PINs sent alone, the
"I'm safe" button, /panic — with time passing, the partner acknowledging and the coordinator
resolving. The real PIN is only ever used to check in. After every step:

* without the duress PIN, protection never weakens: the longest time between check-ins and the
  grace never grow, check-ins are never paused, the HRD is not forgotten, the check-in PIN is
  the same;
* whenever the duress PIN let a command through, a duress alert has reached the coordinator;

and at the end, with time run on, every alert reached a coordinator, unless a coordinator
resolved it, the real PIN's check-in was its all-clear, or it was folded into a duress alert.

Fast and deterministic: a template database is set up once and copied per example, PIN hashes
use argon2's minimum cost, the clock is fake, and examples are derandomized.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import Kek, PinHashParams
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Alert, AlertRecipient, CheckinClock, Person
from tests.support.people import pins, trio
from tests.support.transcript import Chat

CHECKIN_PIN, DURESS_PIN, WRONG_PIN = "2468", "1357", "9999"
FAST_PINS = PinHashParams(opslimit=1, memlimit=8192)
KEK = Kek.generate()
MINUTE = timedelta(minutes=1)


def longest_gap(kind: str, interval_s: int, daily_times: str) -> int:
    """The longest time a schedule lets pass between two check-ins (seconds)."""
    if kind != "daily":
        return interval_s
    minutes = sorted(int(t[:2]) * 60 + int(t[3:]) for t in daily_times.split(",") if t)
    gaps = [b - a for a, b in zip(minutes, minutes[1:], strict=False)] + [24 * 60 - minutes[-1] + minutes[0]]
    return max(gaps) * 60


def checkin_verifier(person: Person) -> bytes:
    """The check-in PIN's verifier, from the sealed value (or the bare hash rows had before)."""
    assert person.pin_hash is not None
    plain = KEK.unwrap(person.pin_hash, f"pin:checkin:{person.id}".encode())
    if plain.startswith(b"c2p-pins1\n"):
        return str(json.loads(plain.split(b"\n", 1)[1])["c"]).encode()
    return plain


def _bot(url: str) -> Chat:
    engine = make_engine(url)
    runtime = build_runtime(parse_config({}, env={}), engine, FakeClock(), Keyring(engine, KEK))
    runtime.core.services["pin_params"] = FAST_PINS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    return Chat(runtime, transport)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with Cora, Amina (PINs set) and Paul matched, made once."""
    path = tmp_path_factory.mktemp("protection") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(make_engine(url))

    async def setup() -> None:
        chat = _bot(url)
        await trio(chat)
        await pins(chat)
        await chat.runtime.stop()
        chat.core.engine.dispose()

    asyncio.run(setup())
    return path


# -- what the phone (and the people around it) can do --------------------------------------

PIN_CHOICES = st.sampled_from(["none", "wrong", "duress", "text"])
DURATIONS = st.sampled_from(["30m", "8h", "1d", "3d", "14d"])
SCHEDULES = st.sampled_from(["every 6h", "every 1d", "every 2d", "every 30d grace 7d", "every 1d grace 5h",
                             "daily 09:00", "daily 09:00,21:00", "every 12h grace 30m", "daily 23:00 grace 2h"])

OPS = st.one_of(
    st.tuples(st.just("pause"), DURATIONS, PIN_CHOICES),
    st.tuples(st.just("schedule"), SCHEDULES, PIN_CHOICES),
    st.tuples(st.just("forget"), st.just(""), PIN_CHOICES),
    st.tuples(st.just("pin"), st.sampled_from(["wrong", "duress", "none"]), st.just("")),
    st.tuples(st.just("checkin"), st.sampled_from(["none", "note", "wrong", "duress", "real", "button-wrong",
                                                   "button-duress", "button-real"]), st.just("")),
    st.tuples(st.just("resume"), st.just(""), st.just("")),
    st.tuples(st.just("panic"), st.just(""), st.just("")),
    st.tuples(st.just("bare"), st.sampled_from([WRONG_PIN, DURESS_PIN]), st.just("")),
    st.tuples(st.just("time"), st.sampled_from([5, 20, 45, 90, 600, 1500, 2900]), st.just("")),
    st.tuples(st.just("ack"), st.just(""), st.just("")),
    st.tuples(st.just("resolve"), st.just(""), st.just("")),
)

PIN_TEXT = {"none": None, "wrong": WRONG_PIN, "duress": DURESS_PIN, "text": "later"}


class Model:
    """What the sequence so far allows."""

    def __init__(self) -> None:
        self.duress_commands = 0  # commands the duress PIN let through (pause, schedule, forget, pin)
        self.real_checkins: list[tuple[int, int]] = []  # (first alert id after it, time index)


async def _play(chat: Chat, op: tuple[str, str, str], model: Model) -> None:
    kind, arg, pin = op
    if kind in ("pause", "schedule", "forget"):
        command = {"pause": f"/pause {arg}", "schedule": f"/schedule {arg}", "forget": "/forget confirm"}[kind]
        await chat.say("amina", command)
        text = PIN_TEXT[pin]
        if text is not None:
            await chat.say("amina", text)
            if pin == "duress":
                model.duress_commands += 1
    elif kind == "pin":
        await chat.say("amina", "/pin")
        if arg != "none":
            await chat.say("amina", WRONG_PIN if arg == "wrong" else DURESS_PIN)
            await chat.say("amina", "1111")
            await chat.say("amina", "2222")
            if arg == "duress":
                model.duress_commands += 1
    elif kind == "checkin":
        if arg.startswith("button"):
            await chat.say("amina", "/checkin", button=True)
            pin_text = {"button-wrong": WRONG_PIN, "button-duress": DURESS_PIN, "button-real": CHECKIN_PIN}[arg]
            await chat.say("amina", pin_text)
        else:
            text = {"none": "/checkin", "note": "/checkin all fine", "wrong": f"/checkin {WRONG_PIN}",
                    "duress": f"/checkin {DURESS_PIN} ok", "real": f"/checkin {CHECKIN_PIN} ok"}[arg]
            await chat.say("amina", text)
    elif kind == "resume":
        await chat.say("amina", "/resume")
    elif kind == "panic":
        await chat.say("amina", "/panic")
    elif kind == "bare":
        await chat.say("amina", arg)
    elif kind == "time":
        chat.clock.advance(arg * MINUTE)
        await chat.tick()
    elif kind in ("ack", "resolve"):
        with Session(chat.core.engine) as session:
            open_alert = session.exec(select(Alert).where(Alert.status.in_(("open", "acked")))  # type: ignore[attr-defined]
                                      .order_by(Alert.id)).first()
        if open_alert is not None:
            who = "paul" if kind == "ack" else "cora"
            await chat.say(who, f"/{kind} {open_alert.id}")


def _check(chat: Chat, model: Model, baseline: tuple[int, int, bytes]) -> None:
    gap, grace, verifier = baseline
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).first()
        cora = session.exec(select(Person).where(Person.alias == "Cora")).one()
        assert amina is not None, "the HRD was forgotten without the PIN"
        clock = session.get(CheckinClock, amina.id)
        assert clock is not None
        assert checkin_verifier(amina) == verifier, "the check-in PIN changed without the PIN"
        if model.duress_commands == 0:
            assert clock.state != "paused", "paused without the PIN"
            assert clock.grace_s <= grace, "grace grew without the PIN"
            assert longest_gap(clock.schedule_kind, clock.interval_s, clock.daily_times) <= gap, \
                "the schedule loosened without the PIN"
        else:
            duress = session.exec(select(Alert.id).where(Alert.kind == "duress")).all()
            reached = session.exec(select(AlertRecipient.alert_id).where(
                AlertRecipient.person_id == cora.id)).all()
            assert set(duress) & set(reached), "a duress PIN let a command through with no alarm"


def _final_check(chat: Chat, before: set[int], real_checkin_ids: set[int]) -> None:
    with Session(chat.core.engine) as session:
        cora = session.exec(select(Person).where(Person.alias == "Cora")).one()
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        duress_times = {a.raised_at for a in session.exec(select(Alert).where(Alert.kind == "duress")).all()}
        for alert in session.exec(select(Alert).where(Alert.id.in_(before))).all():  # type: ignore[attr-defined]
            reached = session.exec(select(AlertRecipient.id).where(
                AlertRecipient.alert_id == alert.id, AlertRecipient.person_id == cora.id)).first()
            if reached is not None or alert.resolved_by == cora.id:
                continue
            if alert.resolved_by == amina.id:
                assert alert.id in real_checkin_ids, f"alert {alert.id} ended by the HRD without the PIN"
                continue
            assert alert.status == "resolved" and alert.resolved_by is None and alert.resolved_at in duress_times, \
                f"alert {alert.id} ({alert.kind}, {alert.status}) never reached a coordinator"


async def _run(url: str, ops: list[tuple[str, str, str]]) -> None:
    chat = _bot(url)
    try:
        with Session(chat.core.engine) as session:
            amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
            clock = session.get(CheckinClock, amina.id)
            assert clock is not None and amina.pin_hash is not None
            baseline = (longest_gap(clock.schedule_kind, clock.interval_s, clock.daily_times), clock.grace_s,
                        checkin_verifier(amina))
        model = Model()
        real_checkin_ids: set[int] = set()
        for op in ops:
            open_before = _open_missed(chat)
            await _play(chat, op, model)
            if op[0] == "checkin" and op[1] in ("real", "button-real"):
                real_checkin_ids |= open_before
            _check(chat, model, baseline)
        with Session(chat.core.engine) as session:
            before = set(session.exec(select(Alert.id)).all())
        for _ in range(12):  # time runs on: every open alert climbs its chain (and repeats)
            chat.clock.advance(20 * MINUTE)
            await chat.tick()
        _final_check(chat, {i for i in before if i is not None}, real_checkin_ids)
    finally:
        await chat.runtime.stop()
        chat.core.engine.dispose()


def _open_missed(chat: Chat) -> set[int]:
    with Session(chat.core.engine) as session:
        return {a.id for a in session.exec(select(Alert).where(
            Alert.kind == "missed", Alert.status.in_(("open", "acked")))).all() if a.id}  # type: ignore[attr-defined]


@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_no_sequence_without_the_pin_weakens_protection(template: Path, tmp_path: Path,
                                                       ops: list[tuple[str, str, str]]) -> None:
    for old in tmp_path.glob("run.db*"):
        old.unlink()
    target = tmp_path / "run.db"
    shutil.copyfile(template, target)
    asyncio.run(_run(f"sqlite:///{target}", ops))
