"""Guided conversations whose state lives in the database (so a restart resumes them)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from storage.models import Conversation

if TYPE_CHECKING:
    from c2p_bot.core.context import Context


class Flow(Protocol):
    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None: ...


FLOWS: dict[str, Flow] = {}


def start_conversation(
    ctx: Context, flow: str, step: str, data: dict[str, Any] | None = None
) -> Conversation:
    conversation = ctx.session.get(Conversation, ctx.person_id)
    if conversation is None:
        conversation = Conversation(person_id=ctx.person_id, flow=flow, step=step, updated_at=ctx.now)
    conversation.flow, conversation.step = flow, step
    conversation.data = json.dumps(data or {})
    conversation.updated_at = ctx.now
    ctx.session.add(conversation)
    return conversation


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    data = json.loads(conversation.data or "{}")
    if not isinstance(data, dict):
        raise TypeError("data is not a dict")
    return data
