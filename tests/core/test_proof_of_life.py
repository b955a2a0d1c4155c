"""Proof of life (issue 14): /prove ALERT asks the defender their plan's question; only "matches" or "does not
match" is told, the answer is deleted from the defender's chat, and a failed proof escalates like a duress alert
while the defender's chat shows nothing different — through transcripts."""

from __future__ import annotations

from tests.core.test_plans import write_plan
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.queries import alerts
from tests.support.transcript import Chat

QUESTION = r"^Paul asks you to answer your proof-of-life question, to be sure it is really you:\nWhat was the name " \
           r"of our first office\?\nSend the answer as your next message\. I will delete it from this chat\.$"


async def _alerted(chat: Chat) -> None:
    """Amina has a plan (question and answer "The Blue Door"); alert #1 has reached Paul."""
    await trio(chat)
    await write_plan(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed")
    chat.skip("amina")


def _everything(chat: Chat) -> str:
    return "\n".join(m.text for messages in chat.transport.inbox.values() for m in messages)


async def test_a_matching_answer_is_told_as_matching_and_deleted_from_the_chat(chat: Chat) -> None:
    await _alerted(chat)
    await chat.say("paul", "/prove 1")
    chat.expect("paul", r"^I asked Amina their proof-of-life question\. You will be told whether the answer matches "
                        r"— never the answer — or that none came within 15 minutes\.$")
    chat.expect("amina", QUESTION)
    chat.transport.deleted.clear()
    await chat.say("amina", "the blue door!")
    assert len(chat.transport.deleted) == 1  # the answer's message
    chat.expect("amina", r"^Thank you\.$")
    chat.expect("paul", r"^✅ Proof of life, alert #1: Amina answered their proof-of-life question at .*, and the "
                        r"answer matches\.$")
    chat.expect_nothing("cora")  # not alerted yet (step 1 is the partners)
    assert "blue door" not in _everything(chat).casefold().replace("the blue door!", "")
    assert [a.kind for a in alerts(chat)] == ["missed"]
    await chat.say("amina", "hello")  # the next message is not taken as an answer
    chat.expect("amina", r"I didn't understand that")


async def test_a_failing_answer_escalates_like_duress_and_the_hrds_chat_shows_the_same(chat: Chat) -> None:
    await _alerted(chat)
    await chat.say("paul", "/prove 1")
    chat.skip("paul")
    question = chat.expect("amina", QUESTION)
    chat.transport.deleted.clear()
    await chat.say("amina", "the red door")
    assert len(chat.transport.deleted) == 1
    thanks = chat.expect("amina", r"^Thank you\.$")  # exactly what a matching answer gets
    assert thanks.buttons == question.buttons == []
    for user in ("paul", "cora"):  # every step at once, like a duress alert
        chat.expect(user, r"^🚨 PROOF OF LIFE FAILED — ALERT #2: the answer given in Amina's chat to their "
                          r"proof-of-life question did not match", skipping=True)
    chat.expect("paul", r"^⚠ Proof of life, alert #1: the answer given in Amina's chat at .* does NOT match\. Someone "
                        r"else may be answering for them\. Everyone who protects them is alerted now \(alert #2\)")
    chat.expect_nothing("amina")
    await chat.say("amina", "/status")
    assert chat.expect("amina", r"Open alerts: missed check-in \(raised .+\)\.").text.count("raised") == 1
    await chat.say("cora", "/resolve 2 safe she called from her sister's phone")
    chat.expect("cora", r"Alert #2 about Amina is resolved")
    chat.expect_nothing("amina")  # its resolution is never told to her
    assert [(a.kind, a.status) for a in alerts(chat)] == [("missed", "open"), ("proof", "resolved")]


async def test_no_question_no_answer_and_too_many_questions(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/panic")
    chat.skip("paul")
    chat.skip("cora")
    chat.skip("amina")
    await chat.say("paul", "/prove")
    chat.expect("paul", r"^Usage: /prove ID, for example /prove 12\.$")
    await chat.say("paul", "/prove 9")
    chat.expect("paul", r"There is no alert #9 that you can act on")
    await chat.say("paul", "/prove 1")
    chat.expect("paul", r"^Amina has no emergency plan, so there is no proof-of-life question to ask\.")
    await chat.say("amina", "/plan")
    for answer in ("skip", "skip", "skip", "skip", "skip", "skip", "skip", "Call Grace"):
        await chat.say("amina", answer)
    chat.skip("amina")
    await chat.say("paul", "/prove 1")
    chat.expect("paul", r"^Amina's emergency plan has no proof-of-life question with an answer, so I cannot ask one\.")
    await chat.say("amina", "/plan edit proof")
    await chat.say("amina", "Our first office?")
    await chat.say("amina", "The Blue Door")
    chat.skip("amina")
    await chat.say("paul", "/prove 1")
    chat.expect("paul", r"I asked Amina their proof-of-life question")
    chat.expect("amina", r"proof-of-life question")
    await chat.say("cora", "/prove #1")  # one question at a time
    chat.expect("cora", r"^I asked Amina their proof-of-life question at .* and am waiting for the answer until .*\. "
                        r"Everyone alerted about alert #1 will be told whether it matches\.$")
    chat.clock.advance(15 * MINUTE)
    await chat.tick()
    for user in ("paul", "cora"):
        chat.expect(user, r"^⏳ Proof of life, alert #1: Amina has not answered their proof-of-life question within "
                          r"15 minutes\. If an answer still comes, you will be told whether it matches\.$")
    await chat.say("amina", "the blue door")  # late, but still checked (and deleted)
    chat.expect("amina", r"^Thank you\.$")
    chat.expect("paul", r"answer matches")
    for _ in range(2):
        await chat.say("paul", "/prove 1")
        chat.expect("amina", r"proof-of-life question")
        await chat.say("amina", "blue door")
        chat.expect("amina", r"^Thank you\.$")
        chat.skip("paul")
    await chat.say("paul", "/prove 1")  # the fourth within the hour
    chat.expect("paul", r"^Amina was asked their proof-of-life question 3 times in the last hour\. To spare them, I "
                        r"will not ask again before ")
    await chat.say("cora", "/resolve 1 safe")
    chat.skip("cora")
    await chat.say("cora", "/prove 1")
    chat.expect("cora", r"^Alert #1 is already resolved\.$")
