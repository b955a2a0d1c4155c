"""Smoke test: the provisioned Synapse carries an end-to-end encrypted DM between nio clients."""

from __future__ import annotations

import pytest
from nio import MegolmEvent, RoomMessageText

from tests.support.synapse import MatrixClientFactory
from tests.synapse.helpers import (
    create_encrypted_dm,
    join,
    send_text,
    sync_until,
    timeline_events,
    wait_for_member,
)
from tests.synapse.homeserver import SynapseServer

pytestmark = pytest.mark.synapse


def test_server_answers(synapse: SynapseServer) -> None:
    assert synapse.base_url.startswith("http://127.0.0.1:")
    print(
        f"synapse: venv ready in {synapse.install_seconds:.1f}s, "
        f"started in {synapse.start_seconds:.1f}s"
    )


async def test_encrypted_dm_roundtrip(matrix_client: MatrixClientFactory) -> None:
    alice = await matrix_client("alice")
    bob = await matrix_client("bob")

    room_id = await create_encrypted_dm(alice, bob.user_id)
    await join(bob, room_id)
    await wait_for_member(alice, room_id, bob.user_id)
    assert alice.rooms[room_id].encrypted

    await send_text(alice, room_id, "check-in: all good")

    undecrypted: list[MegolmEvent] = []

    def received(response: object) -> RoomMessageText | None:
        for event in timeline_events(response, room_id):  # type: ignore[arg-type]
            if isinstance(event, MegolmEvent):
                undecrypted.append(event)
            if isinstance(event, RoomMessageText) and event.sender == alice.user_id:
                return event
        return None

    message = await sync_until(bob, received, timeout=30)
    assert message.body == "check-in: all good"
    assert message.decrypted, "message arrived but was not end-to-end encrypted"
    assert not undecrypted
