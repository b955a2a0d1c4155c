"""/overview: the state of the programme for coordinators, alerts and overdue first, in pages.

Transcripts on SQLite and PostgreSQL, and a count of the queries one page costs with 10,000
defenders.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import event, insert
from sqlmodel import Session

from c2p_bot.core import overview_data
from c2p_bot.core.overview_data import PLAN_STATUS, overview
from storage.models import Alert, CheckinClock, Match, Person, Proposal
from tests.support import people
from tests.support.durations import DAY, MINUTE
from tests.support.transcript import Chat


async def programme(chat: Chat) -> None:
    """Cora (Nairobi time); Amina matched with Paul and checked in; Bea wants an MP (none exists) and is
    overdue; Chen wants a lawyer (proposal #2 to Paul waits) and pressed panic (alert #1)."""
    await people.trio(chat)
    await chat.say("cora", "/profile timezone=Africa/Nairobi")
    await people.hrd(chat, "bea", wants="mp")
    await people.hrd(chat, "chen", wants="lawyer")
    chat.clock.advance(DAY + 10 * MINUTE)  # everyone's first check-in was due 10 minutes ago
    await chat.say("amina", "/checkin")
    await chat.say("chen", "/panic")
    for user in ("cora", "amina", "paul", "bea", "chen"):
        chat.skip(user)


async def test_overview_shows_alerts_and_overdue_first_then_everyone(chat: Chat) -> None:
    await programme(chat)
    await chat.say("cora", "/overview")
    text = chat.expect("cora", r"Programme overview, page 1 of 1").text
    assert "3 defenders: 1 alerting, 1 overdue." in text, text
    assert "1 partner, 0 with no free place." in text, text
    assert "Proposals waiting for your decision: 1. Offers waiting for a partner's answer: 0." in text, text
    assert "2 needs without a partner." in text, text
    defenders = re.findall(r"^• .*$", text.split("Defenders")[1].split("Partners (")[0], re.M)
    assert [d.split(":")[0] for d in defenders] == ["• ⚠ Chen", "• ⏰ Bea", "• Amina; partners"], defenders
    assert "ALERT #1 panic (open)" in defenders[0]
    assert "overdue since 2026-03-02 12:00 EAT (09:00 UTC)" in defenders[1]  # the reader's zone
    assert "partners: Paul (lawyer); last check-in 2026-03-02 12:10 EAT (09:10 UTC)" in defenders[2]
    assert "• Paul (lawyer): 1 of 3" in text
    assert "• #2 Chen ↔ Paul (lawyer): waiting for your decision, /approve 2 or /reject 2" in text
    assert "• Bea, MP: no proposal yet (/propose or /match)" in text
    assert "• Chen, lawyer: proposal #2 waits for your decision" in text
    assert all(d.endswith("; no plan") for d in defenders), defenders  # nobody wrote an emergency plan yet


async def test_overview_pages_have_buttons_that_are_commands(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    await programme(chat)
    monkeypatch.setattr(overview_data, "PAGE_SIZE", 3)
    await chat.say("cora", "/overview")
    first = chat.expect("cora", r"page 1 of 3")
    assert [[b for b in row] for row in first.buttons] == [[("Next ▶", "/overview 2")]]
    assert "Partners (" not in first.text
    await chat.press("cora", "Next")
    second = chat.expect("cora", r"page 2 of 3.*Partners \(load.*Paul.*Proposals and offers waiting.*#2.*"
                                 r"Needs without a partner:.*Bea, MP")
    assert second.buttons == [[("◀ Previous", "/overview 1"), ("Next ▶", "/overview 3")]]
    await chat.press("cora", "Next")
    third = chat.expect("cora", r"page 3 of 3.*Chen, lawyer")
    assert third.buttons == [[("◀ Previous", "/overview 2")]]
    await chat.say("cora", "/overview 9")
    chat.expect("cora", r"page 3 of 3")  # past the end: the last page
    await chat.say("cora", "/overview two")
    chat.expect("cora", r"Usage: /overview \[PAGE\], for example /overview 2\. “two” is not a page number")


async def test_overview_shows_plan_status_from_the_plan_feature(chat: Chat) -> None:
    await programme(chat)

    def plans(session: Session, ids: list[int], now: datetime) -> dict[int, str]:
        aliases = {p.id: p.alias for p in (session.get(Person, i) for i in ids) if p}
        return {i: {"Amina": "current", "Bea": "review"}.get(aliases[i] or "", "missing") for i in ids}

    chat.core.services[PLAN_STATUS] = plans
    await chat.say("cora", "/overview")
    text = chat.expect("cora", r"Programme overview").text
    assert re.search(r"• ⚠ Chen.*; no plan\n• ⏰ Bea.*; plan due for review\n• Amina.*; plan up to date", text), text


async def test_overview_is_for_coordinators_only(chat: Chat) -> None:
    await programme(chat)
    await chat.say("paul", "/overview")
    assert "Programme overview" not in chat.expect("paul", r".").text


async def test_propose_names_the_needs_no_partner_fits(chat: Chat) -> None:
    await programme(chat)
    await chat.say("cora", "/propose")
    chat.expect("cora", r"Needs with no fitting partner now: Bea \(mp\)\.")


def _many(session: Session, hrds: int, partners: int, now: datetime) -> None:
    """``hrds`` defenders (every 100th alerting, every 50th overdue) and ``partners`` partners, inserted
    straight into the tables."""
    rows = [{"role": "partner", "kind": "lawyer", "status": "active", "alias": f"P{i:05d}", "capacity": 40,
             "created_at": now} for i in range(partners)]
    rows += [{"role": "hrd", "status": "active", "alias": f"H{i:05d}", "wants": "lawyer,mp", "country": "KE",
              "created_at": now} for i in range(hrds)]
    session.execute(insert(Person), rows)
    ids = {alias: pid for pid, alias in session.execute(Person.__table__.select().with_only_columns(
        Person.__table__.c.id, Person.__table__.c.alias)).all()}
    hrd_ids = [ids[f"H{i:05d}"] for i in range(hrds)]
    partner_ids = [ids[f"P{i:05d}"] for i in range(partners)]
    session.execute(insert(CheckinClock), [
        {"person_id": pid, "state": "alerting" if n % 100 == 0 else "ok", "timezone": "UTC",
         "next_due": now - (MINUTE if n % 50 == 0 else -DAY), "last_checkin_at": now - DAY}
        for n, pid in enumerate(hrd_ids)])
    session.execute(insert(Match), [{"hrd_id": pid, "partner_id": partner_ids[n % partners], "status": "active",
                                     "created_at": now} for n, pid in enumerate(hrd_ids) if n % 2])
    session.execute(insert(Alert), [{"hrd_id": pid, "kind": "missed", "status": "open", "raised_at": now}
                                    for n, pid in enumerate(hrd_ids) if n % 100 == 0])
    session.execute(insert(Proposal), [{"hrd_id": hrd_ids[n], "partner_id": partner_ids[0], "kind": "lawyer",
                                        "status": "pending", "created_at": now} for n in range(0, 40, 2)])
    session.commit()


def test_a_page_costs_a_few_queries_with_ten_thousand_defenders(db_url: str) -> None:
    from storage.engine import make_engine

    engine = make_engine(db_url)
    now = datetime.fromisoformat("2026-03-01T09:00:00+00:00")
    with Session(engine) as session:
        _many(session, 10_000, 300, now)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session:
        first = overview(session, now, 1)
        assert (first.hrds, first.alerting, first.overdue, first.partners) == (10_000, 100, 100, 300)
        assert [line.state for line in first.hrd_lines[:1]] == ["alerting"]
        assert first.needs == 10_000 + 5_000 and first.pending == 20
        assert len(statements) <= 16, len(statements)
        statements.clear()
        last = overview(session, now, 10_000)
        assert last.page == last.pages and last.need_lines and len(statements) <= 16, len(statements)
    engine.dispose()
