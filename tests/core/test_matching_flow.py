"""Matching: proposals, coordinator approval, the partner's consent, expiry, rejection, manual /match.

Transcripts on SQLite and PostgreSQL, with a fake clock. Offers lapse after 12h here.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from c2p_bot.config import Config, parse_config
from c2p_bot.core.matching_facts import hrd_profile, open_needs, partner_profiles, weights
from c2p_bot.core.service import UNKNOWN_COMMAND
from matching.assignment import assign, greedy_assign, total_score
from storage.models import AuditEntry, Match, Person, Proposal
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.transcript import Chat

TIMEOUT = 12 * HOUR


@pytest.fixture
def config() -> Config:
    return parse_config({"matching": {"offer_timeout": "12h"}}, env={})


def proposals(chat: Chat) -> list[tuple[int, str, str, str, str]]:
    """(id, hrd, partner, origin, status) of every proposal."""
    with Session(chat.core.engine) as session:
        alias = {p.id: p.alias for p in session.exec(select(Person)).all()}
        return [(p.id or 0, alias[p.hrd_id] or "", alias[p.partner_id] or "", p.origin, p.status)
                for p in session.exec(select(Proposal).order_by(col(Proposal.id))).all()]


def active_matches(chat: Chat) -> list[tuple[int, int]]:
    with Session(chat.core.engine) as session:
        return [(m.hrd_id, m.partner_id) for m in session.exec(select(Match).where(Match.status == "active")).all()]


def audit_actions(chat: Chat) -> list[AuditEntry]:
    with Session(chat.core.engine) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())


async def two_lawyers(chat: Chat) -> None:
    """Cora; Paul (lawyer, covers KE) and Lena (lawyer, covers Eastern Africa); then Amina (KE) wants a lawyer:
    proposal #1 is Amina ↔ Paul, Lena the runner-up."""
    await people.coordinator(chat)
    await people.partner(chat, "paul", capacity="2")
    await people.partner(chat, "lena", regions="Eastern Africa", capacity="2")
    await people.hrd(chat, "amina", languages="en")
    chat.expect("cora", r"New proposal #1: Amina ↔ Paul \(lawyer\): covers KE; .*Other candidates: Lena\.")
    for user in ("cora", "paul", "lena", "amina"):
        chat.skip(user)


async def test_onboarding_proposal_approve_accept_then_alerts_reach_the_partner(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.partner(chat, "paul", regions="KE", languages="sw", expertise="land-rights, environment",
                         capacity="2")
    await people.hrd(chat, "amina-phone", alias="Amina", country="KE", languages="en, sw", wants="lawyer",
                     expertise="land-rights, environment, detention")
    notice = chat.expect("cora", r"New proposal #1: Amina ↔ Paul \(lawyer\): covers KE; expertise 2 of 3: "
                                 r"environment, land-rights; shared language: sw; load 0 of 2\. "
                                 r"/approve 1 or /reject 1")
    assert notice.buttons == [[("Approve", "/approve 1"), ("Reject", "/reject 1")]]
    await chat.say("cora", "/proposals")
    chat.expect("cora", r"Waiting for your decision:\n#1 Amina ↔ Paul \(lawyer\), score 1\.97: covers KE; "
                        r"expertise 2 of 3: environment, land-rights; shared language: sw")

    await chat.press("cora", "Approve")
    chat.expect("cora", r"Approved proposal #1: I asked Paul whether they will support Amina.*lapses on "
                        r"2026-03-01 21:00 UTC")
    offer = chat.expect("paul", r"Offer #1: would you support Amina, a human rights defender in Kenya, as their "
                                r"lawyer\?\nThey need help with: detention, environment, land-rights\.\n"
                                r"Languages: English, Swahili\.")
    assert offer.buttons == [[("Accept", "/accept 1"), ("Decline", "/decline 1")]]
    for private in ("amina-phone", "Nairobi", "+", "@"):  # no contact details, account or place
        assert private not in offer.text
    chat.expect_nothing("amina-phone")  # nothing reaches the HRD until the partner accepts
    await chat.say("cora", "/proposals")
    chat.expect("cora", r"Offers waiting for the partner's answer:\n#1 Amina ↔ Paul \(lawyer\): covers KE.*"
                        r"Offered until 2026-03-01 21:00 UTC")
    assert active_matches(chat) == []

    await chat.press("paul", "Accept")
    chat.expect("paul", r"Thank you for accepting offer #1")
    chat.expect("paul", r"You are now matched with Amina \(Kenya\)")
    chat.expect("amina-phone", r"You are now matched with Paul, a lawyer")
    chat.expect("cora", r"Matched Amina with Paul: Paul accepted offer #1")
    assert [p[4] for p in proposals(chat)] == ["accepted"]
    await chat.say("cora", "/proposals")
    chat.expect("cora", r"No proposals are waiting")

    chat.clock.advance(DAY + HOUR + MINUTE)  # Amina misses her first check-in (1d, grace 1h)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")
    chat.expect_nothing("cora")  # the first step is the partners

    entries = audit_actions(chat)
    actions = [e.action for e in entries]
    for step in ("proposal_created", "proposal_approved", "offer_accepted", "match_created"):
        assert step in actions
    for entry in entries:
        if entry.action.startswith(("proposal_", "offer_")):
            assert "Amina" not in f"{entry.subject} {entry.detail}" and "Paul" not in f"{entry.subject} {entry.detail}"


async def test_decline_proposes_the_next_candidate_and_excludes_the_pair(chat: Chat) -> None:
    await two_lawyers(chat)
    await chat.say("cora", "/approve 1")
    chat.expect("paul", r"Offer #1")
    await chat.say("paul", "/decline 1 travelling all month")
    chat.expect("paul", r"You declined offer #1\. Thank you")
    chat.expect("cora", r"Approved proposal #1: I asked Paul whether")
    chat.expect("cora", r"Paul declined offer #1 \(Amina, lawyer\); looking for the next candidate\.\n"
                        r"Their reason: travelling all month")
    chat.expect("cora", r"New proposal #2: Amina ↔ Lena \(lawyer\): covers Eastern Africa; expertise 1 of 1: "
                        r"land-rights; shared language: en")
    for command in ("/decline 1", "/accept 1"):
        await chat.say("paul", command)
        chat.expect("paul", r"You already declined offer #1")
    await chat.say("cora", "/propose")
    chat.expect("cora", r"0 new, 1 unchanged, 0 replaced")
    assert proposals(chat) == [(1, "Amina", "Paul", "engine", "declined"),
                               (2, "Amina", "Lena", "engine", "pending")]
    await chat.press("cora", "Approve")
    await chat.press("lena", "Accept")
    chat.expect("cora", r"Approved proposal #2: I asked Lena whether")
    chat.expect("cora", r"Matched Amina with Lena")
    assert [e.action for e in audit_actions(chat)].count("offer_declined") == 1


async def test_offer_lapses_then_the_next_candidate_is_proposed(chat: Chat) -> None:
    await two_lawyers(chat)
    await chat.say("cora", "/approve 1")
    chat.expect("paul", r"Offer #1.*Answer by 2026-03-01 21:00 GMT \(21:00 UTC\)")
    chat.skip("cora")
    chat.clock.advance(TIMEOUT - MINUTE)
    await chat.tick()
    chat.expect_nothing("paul")
    chat.expect_nothing("cora")
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    chat.expect("paul", r"Offer #1 to support Amina has lapsed")
    chat.expect("cora", r"Offer #1 \(Amina ↔ Paul, lawyer\) lapsed without an answer")
    chat.expect("cora", r"New proposal #2: Amina ↔ Lena")
    await chat.tick()  # claimed once
    chat.expect_nothing("cora")
    await chat.say("paul", "/accept 1")
    chat.expect("paul", r"Offer #1 has lapsed, so nothing was changed")

    # An answer after the deadline but before the sweeper ran changes nothing either.
    await chat.say("cora", "/approve 2")
    chat.expect("lena", r"Offer #2")
    chat.clock.advance(TIMEOUT + MINUTE)
    await chat.say("lena", "/accept 2")
    chat.expect("lena", r"Offer #2 has lapsed")
    assert proposals(chat)[1][4] == "offered" and active_matches(chat) == []
    await chat.tick()
    chat.expect("cora", r"Approved proposal #2: I asked Lena whether")
    chat.expect("cora", r"Offer #2 \(Amina ↔ Lena, lawyer\) lapsed")
    chat.expect("cora", r"No partner fits Amina's need for a lawyer right now")
    assert [p[4] for p in proposals(chat)] == ["expired", "expired"]
    assert [e.action for e in audit_actions(chat)].count("offer_expired") == 2


async def test_reject_drops_the_proposal_and_the_pair_for_good(chat: Chat) -> None:
    await two_lawyers(chat)
    await chat.press("cora", "Reject")
    chat.expect("cora", r"Rejected proposal #1: Amina and Paul will not be proposed again")
    for command in ("/approve 1", "/reject 1"):
        await chat.say("cora", command)
        chat.expect("cora", r"Proposal #1 can't be (approved|rejected): it is rejected\. Nothing was changed")
    chat.expect_nothing("paul")
    await chat.say("cora", "/propose")
    chat.expect("cora", r"New proposal #2: Amina ↔ Lena")
    chat.expect("cora", r"1 new, 0 unchanged, 0 replaced")
    await chat.say("cora", "/reject 2 conflict of interest")
    chat.expect("cora", r"Rejected proposal #2")
    await chat.say("cora", "/propose")
    chat.expect("cora", r"0 new, 0 unchanged, 0 replaced\.\nNeeds with no fitting partner now: Amina \(lawyer\)\.")
    assert [p[4] for p in proposals(chat)] == ["rejected", "rejected"]
    with Session(chat.core.engine) as session:
        assert session.get(Proposal, 2).reason == "conflict of interest"  # type: ignore[union-attr]
    assert [e.action for e in audit_actions(chat)].count("proposal_rejected") == 2


async def test_manual_match_waits_for_the_partners_consent(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    chat.expect("cora", r"No partner fits Amina's need for a lawyer right now")
    await people.partner(chat)
    await chat.say("cora", "/match Amina Paul")
    chat.expect("cora", r"I asked Paul whether they will support Amina \(offer #1\)\. The match starts when "
                        r"they accept")
    chat.expect("paul", r"Offer #1: would you support Amina")
    await chat.say("cora", "/match Amina Paul")
    chat.expect("cora", r"Amina already has an offer waiting for an answer from Paul \(#1, lawyer\).*"
                        r"Nothing was changed")
    assert proposals(chat) == [(1, "Amina", "Paul", "manual", "offered")]

    await chat.say("amina", "/panic")  # before Paul accepts, Amina's alerts do not reach him
    chat.expect("cora", r"PANIC ALERT #1")
    chat.expect_nothing("paul")
    await chat.say("cora", "/resolve 1 false-alarm")

    await chat.press("paul", "Accept")
    chat.expect("paul", r"Thank you for accepting offer #1\.")
    chat.expect("paul", r"matched with Amina")
    chat.expect("amina", r"Alarm raised\. Your partners and")
    chat.expect("amina", r"An alert about you \(panic, raised .*\) is closed by Cora\. Outcome: False alarm\.")
    chat.expect("amina", r"matched with Paul")
    chat.expect("cora", r"Alert #1 about Amina is resolved\. Outcome: False alarm\. Thank you\.")
    chat.expect("cora", r"Matched Amina with Paul")
    await chat.say("cora", "/match Amina Paul")
    chat.expect("cora", r"already matched")
    await chat.say("amina", "/panic")
    chat.expect("paul", r"PANIC ALERT #2: Amina raised the alarm")


async def test_manual_match_replaces_a_pending_proposal_and_approval_needs_a_free_place(chat: Chat) -> None:
    await two_lawyers(chat)
    await chat.say("cora", "/match Amina Lena")
    chat.expect("cora", r"offer #2")
    await chat.say("cora", "/approve 1")
    chat.expect("cora", r"Proposal #1 can't be approved: it is superseded")
    await chat.say("cora", "/proposals")
    chat.expect("cora", r"Offers waiting.*#2 Amina ↔ Lena \(lawyer\): covers Eastern Africa")
    # Paul can take one defender: a manual offer to him for Zoe fills his place, so Bibi's proposal waits.
    await chat.say("paul", "/profile capacity=1")
    chat.expect("paul", r"Saved: capacity")
    await people.hrd(chat, "bibi", alias="Bibi")
    chat.expect("cora", r"New proposal #3: Bibi ↔ Paul")
    await people.hrd(chat, "zoe", alias="Zoe")
    chat.expect("cora", r"New proposal #4: Zoe ↔ Lena")  # Paul's one place is held by Bibi's proposal
    await chat.say("cora", "/match Zoe Paul")
    chat.expect("cora", r"offer #5")
    await chat.say("cora", "/approve 3")
    chat.expect("cora", r"Paul has no free place right now \(1 of 1 taken by matches and offers\)\. "
                        r"Nothing was changed")
    assert [p[4] for p in proposals(chat)] == ["superseded", "offered", "pending", "superseded", "offered"]


async def test_propose_finds_the_exact_optimum_where_greedy_falls_short(chat: Chat) -> None:
    """Paul covers KE and speaks en and fr; Quinn covers Eastern Africa and speaks en; one place each.
    Amina (en) fits both, best with Paul; Bibi (fr) fits only Paul. Onboarding proposes Paul to Amina
    and finds no one for Bibi; /propose gives Paul to Bibi and Quinn to Amina."""
    await people.coordinator(chat)
    await people.partner(chat, "paul", languages="en, fr", capacity="1")
    await people.partner(chat, "quinn", regions="Eastern Africa", languages="en", capacity="1")
    await people.hrd(chat, "amina", languages="en")
    chat.expect("cora", r"New proposal #1: Amina ↔ Paul")
    await people.hrd(chat, "bibi", alias="Bibi", languages="fr")
    chat.expect("cora", r"No partner fits Bibi's need for a lawyer right now")

    with Session(chat.core.engine) as session:
        hrds = [hrd_profile(h, open_needs(session, h, keep_pending=False))
                for h in session.exec(select(Person).where(Person.role == "hrd")).all()]
        partners = partner_profiles(session, pending=False)
    best, greedy = assign(hrds, partners, weights(chat.core)), greedy_assign(hrds, partners, weights(chat.core))
    assert total_score(best) > total_score(greedy) and len(greedy) == 1

    await chat.say("cora", "/propose")
    chat.expect("cora", r"New proposal #2: Amina ↔ Quinn \(lawyer\):")
    chat.expect("cora", r"New proposal #3: Bibi ↔ Paul \(lawyer\):")
    chat.expect("cora", r"2 new, 0 unchanged, 1 replaced")
    assert proposals(chat) == [(1, "Amina", "Paul", "engine", "superseded"),
                               (2, "Amina", "Quinn", "engine", "pending"),
                               (3, "Bibi", "Paul", "engine", "pending")]
    await chat.say("cora", "/propose")
    chat.expect("cora", r"0 new, 2 unchanged, 0 replaced")


async def test_bad_ids_and_wrong_roles_change_nothing(chat: Chat) -> None:
    await two_lawyers(chat)
    before = proposals(chat)
    for command, reply in [
        ("/approve", r"Usage: /approve ID"), ("/approve abc", r"Usage: /approve ID"),
        ("/approve 123456789012345", r"Usage: /approve ID"), ("/approve 99", r"There is no proposal #99\."),
        ("/approve #99", r"There is no proposal #99\."), ("/reject", r"Usage: /reject ID"),
        ("/reject x y", r"Usage: /reject ID"), ("/reject 7 why", r"There is no proposal #7\."),
        ("/propose now", r"Usage: /propose, with nothing after it"),
    ]:
        await chat.say("cora", command)
        chat.expect("cora", reply)
    for command, reply in [
        ("/accept", r"Usage: /accept ID"), ("/accept one", r"Usage: /accept ID"),
        ("/decline", r"Usage: /decline ID"), ("/accept 99", r"There is no offer #99 for you\."),
        ("/accept 1", r"There is no offer #1 for you\."),  # still waiting for a coordinator
        ("/decline 1", r"There is no offer #1 for you\."),
    ]:
        await chat.say("paul", command)
        chat.expect("paul", reply)
    await chat.say("cora", "/approve 1")
    chat.expect("cora", r"Approved proposal #1: I asked Paul whether")
    chat.expect("paul", r"Offer #1")
    for command in ("/accept 1", "/decline 1 not mine"):  # the offer is Paul's, not Lena's
        await chat.say("lena", command)
        chat.expect("lena", r"There is no offer #1 for you\.")
    for command, reply in [("/approve 1", r"already offered to Paul"), ("/reject 1", r"already offered to Paul")]:
        await chat.say("cora", command)
        chat.expect("cora", reply)
    for user, command in [("amina", "/approve 1"), ("amina", "/accept 1"), ("amina", "/proposals"),
                          ("paul", "/approve 1"), ("paul", "/reject 1"), ("paul", "/propose"),
                          ("cora", "/accept 1"), ("cora", "/decline 1")]:
        await chat.say(user, command)
        assert chat.expect(user, r".").text == UNKNOWN_COMMAND
    await chat.say("eve", "/accept 1")
    chat.expect("eve", r"This is a private service")
    assert proposals(chat) == [(1, "Amina", "Paul", "engine", "offered")] and before[0][4] == "pending"
