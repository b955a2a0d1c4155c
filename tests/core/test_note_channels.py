"""A note never travels over a less protected channel than the one it was written on (issue 13 H4).

Two memory transports play Matrix (end-to-end encrypted) and Telegram (not): Amina, the HRD,
uses only Matrix; her partners and the coordinator read on Telegram.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.config import Config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, Kek
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.models import Identity, Note, Person
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import Chat

SECRET = "hiding at the cousin's place"


class Platforms:
    def __init__(self, matrix: Chat, telegram: Chat) -> None:
        self.matrix, self.telegram = matrix, telegram

    async def tick(self) -> None:
        await self.telegram.tick()


@pytest.fixture
async def nets(db_url: str, config: Config, clock: FakeClock) -> AsyncIterator[Platforms]:
    engine = make_engine(db_url)
    runtime = build_runtime(config, engine, clock, Keyring(engine, Kek.generate()))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    matrix, telegram = MemoryTransport(platform="matrix"), MemoryTransport(platform="telegram")
    runtime.add_transport(matrix)
    runtime.add_transport(telegram)
    yield Platforms(Chat(runtime, matrix), Chat(runtime, telegram))
    engine.dispose()


async def setup(nets: Platforms, *, partner: str = "paul") -> None:
    """Cora (coordinator) and Paul (partner) on Telegram; Amina (HRD) on Matrix only; matched."""
    tg, mx = nets.telegram, nets.matrix
    await people.coordinator(tg)
    code = await people.invite_via(tg, "cora", "hrd")
    for text in (f"/start {code}", "Amina", "KE", "en", "lawyer", "land-rights", "Africa/Nairobi"):
        await mx.say("amina", text)
    mx.expect("amina", r"all set", skipping=True)  # past the onboarding questions
    await people.partner(tg, partner)
    await tg.say("cora", f"/match Amina {partner.capitalize()}")
    tg.expect("cora", rf"I asked {partner.capitalize()} whether they will support Amina")
    await tg.press(partner, "Accept")
    tg.expect("cora", r"Matched Amina")
    for chat in (tg, mx):
        for user in ("cora", "amina", partner):
            chat.skip(user)


def person_id(nets: Platforms, alias: str) -> int:
    with Session(nets.telegram.core.engine) as session:
        person = session.exec(select(Person).where(Person.alias == alias)).one()
        assert person.id is not None
        return person.id


def texts(chat: Chat, user: str) -> str:
    return "\n---\n".join(m.text for m in chat.transport.inbox[user])


async def test_note_records_where_it_was_written(nets: Platforms) -> None:
    await setup(nets)
    await nets.matrix.say("amina", f"/checkin {SECRET}")
    with Session(nets.matrix.core.engine) as session:
        assert [n.platform for n in session.exec(select(Note)).all()] == ["matrix"]


async def test_matrix_note_is_not_decrypted_into_telegram_on_a_missed_checkin(nets: Platforms) -> None:
    await setup(nets)
    await nets.matrix.say("amina", f"/checkin {SECRET}")
    nets.telegram.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    alert = nets.telegram.expect("paul", r"ALERT #1: Amina missed")
    assert "cousin" not in alert.text
    assert "sealed note" in alert.text.lower() and "not shown here" in alert.text.lower()
    nets.telegram.clock.advance(16 * MINUTE)
    await nets.tick()
    alert = nets.telegram.expect("cora", r"ALERT #1: Amina missed")
    assert "cousin" not in alert.text
    assert "cousin" not in texts(nets.telegram, "paul") + texts(nets.telegram, "cora")


async def test_matrix_panic_note_is_not_decrypted_into_telegram(nets: Platforms) -> None:
    await setup(nets)
    await nets.matrix.say("amina", f"/panic {SECRET}")
    for user in ("paul", "cora"):
        alert = nets.telegram.expect(user, r"PANIC ALERT #1")
        assert "cousin" not in alert.text and "sealed note" in alert.text.lower()


async def test_the_hrd_may_allow_notes_over_telegram(nets: Platforms) -> None:
    await setup(nets)
    await nets.matrix.say("amina", "/profile notes_over_telegram=yes")
    nets.matrix.expect("amina", r"Saved: notes_over_telegram")
    nets.telegram.expect("paul", r"🔓 Amina now allows their notes written on Matrix")  # told at once
    await nets.matrix.say("amina", "/profile")
    nets.matrix.expect("amina", r"notes_over_telegram: yes")
    await nets.matrix.say("amina", f"/checkin {SECRET}")
    nets.telegram.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    nets.telegram.expect("paul", r"ALERT #1: Amina missed.*Latest note .*cousin")
    await nets.matrix.say("amina", "/profile notes_over_telegram=no")
    await nets.matrix.say("amina", "/panic second secret")
    alert = nets.telegram.expect("paul", r"PANIC ALERT")
    assert "second secret" not in alert.text


async def test_allowing_notes_over_telegram_is_told_to_partners_and_coordinators(nets: Platforms) -> None:
    await setup(nets)
    await nets.matrix.say("amina", "/profile notes_over_telegram=yes")
    nets.telegram.expect("paul", r"Amina now allows .*Telegram")
    nets.telegram.expect("cora", r"Amina now allows .*Telegram")


async def test_a_reader_with_a_matrix_identity_gets_the_note_there(nets: Platforms) -> None:
    await setup(nets)
    paul = person_id(nets, "Paul")
    with Session(nets.matrix.core.engine) as session:
        session.add(Identity(person_id=paul, platform="matrix", platform_user_id="@paul:hs",
                             chat_id="!paulroom", created_at=nets.matrix.clock.now() - DAY))
        session.commit()
    await nets.matrix.say("amina", f"/checkin {SECRET}")
    nets.telegram.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    alert = nets.telegram.expect("paul", r"ALERT #1: Amina missed")
    assert "cousin" not in alert.text and "read it on Matrix" in alert.text
    nets.matrix.expect("!paulroom", r"ALERT #1: Amina missed.*Latest note .*cousin")


async def test_own_key_reader_on_telegram_gets_armour_that_decrypt_opens(nets: Platforms, tmp_path: Path) -> None:
    await setup(nets)
    keyfile = tmp_path / "paul.key"
    made = subprocess.run([sys.executable, "-m", "c2p_bot", "keygen", "--out", str(keyfile)],
                          capture_output=True, text=True, check=True)
    await nets.telegram.say("paul", made.stdout.strip().splitlines()[-1])
    nets.telegram.expect("paul", r"Your key is registered")
    await nets.matrix.say("amina", f"/checkin {SECRET}")
    nets.telegram.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    alert = nets.telegram.expect("paul", r"ALERT #1.*BEGIN C2P SEALED MESSAGE")
    assert "cousin" not in alert.text
    opened = subprocess.run([sys.executable, "-m", "c2p_bot", "decrypt", "--key", str(keyfile)],
                            input=alert.text, capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip().splitlines()[-1] == SECRET


async def test_telegram_note_still_reaches_telegram_readers(nets: Platforms) -> None:
    """A note written on Telegram goes to Telegram readers as before (nothing to protect more)."""
    tg = nets.telegram
    await trio(tg)  # everyone on Telegram
    await tg.say("amina", f"/checkin {SECRET}")
    tg.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    tg.expect("paul", r"ALERT #1: Amina missed.*Latest note .*cousin")


async def test_failover_never_carries_a_note_to_a_less_protected_channel(nets: Platforms) -> None:
    """Paul reads on Matrix (his most recent identity) and also has Telegram. The Matrix copy
    with the note is refused for good: the failover must not move its body, note included, to
    his Telegram chat; the chain moves on instead."""
    await setup(nets)
    paul = person_id(nets, "Paul")
    with Session(nets.matrix.core.engine) as session:
        session.add(Identity(person_id=paul, platform="matrix", platform_user_id="@paul:hs",
                             chat_id="!paulroom", created_at=nets.matrix.clock.now(),
                             last_seen_at=nets.matrix.clock.now()))
        session.commit()
    from c2p_bot.core.events import DeliveryError

    nets.matrix.transport.failures["!paulroom"] = DeliveryError("M_FORBIDDEN: not in room", permanent=True)
    await nets.matrix.say("amina", f"/panic {SECRET}")
    await nets.tick()
    await nets.matrix.runtime.drain()
    assert "cousin" not in texts(nets.telegram, "paul")
