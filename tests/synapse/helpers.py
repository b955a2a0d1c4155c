"""matrix-nio helpers for tests against the Synapse from :mod:`tests.synapse.homeserver`."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from tests.synapse.homeserver import SynapseServer

DEFAULT_PASSWORD = "correct horse battery staple"
MEGOLM = "m.megolm.v1.aes-sha2"

T = TypeVar("T")


def client_config(pickle_key: str | None = None) -> AsyncClientConfig:
    """Encryption on, sync token kept in the store, a random store pickle key."""
    return AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=True,
        pickle_key=pickle_key or secrets.token_urlsafe(32),
        max_limit_exceeded=3,
        max_timeouts=3,
        request_timeout=30,
    )


async def make_client(
    synapse: SynapseServer,
    name: str,
    *,
    password: str = DEFAULT_PASSWORD,
    store_dir: str | Path | None = None,
    unique: bool = True,
) -> AsyncClient:
    """Register a user, log in with a fresh device and upload its device keys.

    With ``unique`` (the default) a random suffix is added to ``name`` so tests
    sharing the session-wide server never collide. The olm store lives in
    ``store_dir`` (a new temporary directory if not given). The caller must
    ``await client.close()``.
    """
    localpart = f"{name}-{secrets.token_hex(4)}" if unique else name
    user_id = await asyncio.to_thread(synapse.register_user, localpart, password)
    store = Path(store_dir) if store_dir else Path(tempfile.mkdtemp(prefix=f"c2p-nio-{name}-"))
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(synapse.base_url, user_id, store_path=str(store), config=client_config())
    response = await client.login(password, device_name=f"c2p-test-{name}")
    if not isinstance(response, LoginResponse):
        await client.close()
        raise RuntimeError(f"login of {user_id} failed: {response}")
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def restore_client(synapse: SynapseServer, previous: AsyncClient) -> AsyncClient:
    """A new client for the same device (token, device id, store, pickle key).

    Mirrors what the bot does after a restart: ``restore_login`` plus the
    store, no new login. ``previous`` should be closed by the caller.
    """
    assert previous.user_id and previous.device_id and previous.access_token
    client = AsyncClient(
        synapse.base_url,
        previous.user_id,
        device_id=previous.device_id,
        store_path=previous.store_path,
        config=client_config(previous.config.pickle_key),
    )
    client.restore_login(previous.user_id, previous.device_id, previous.access_token)
    if client.olm is None:
        await client.close()
        raise RuntimeError("restored client has no olm account (store not loaded)")
    return client


async def key_chores(client: AsyncClient) -> None:
    """The key-management chores that ``sync_forever`` does after each sync."""
    await client.send_to_device_messages()
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())


async def sync_until(
    client: AsyncClient,
    predicate: Callable[[SyncResponse], T],
    timeout: float = 30.0,
) -> T:
    """Sync repeatedly until ``predicate(sync_response)`` is truthy; return that value.

    The predicate may also look at client state (``client.rooms`` etc.).
    Raises ``TimeoutError`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"sync_until: condition not met within {timeout}s")
        long_poll_ms = max(1, min(1000, int(remaining * 1000)))
        response = await client.sync(timeout=long_poll_ms)
        if not isinstance(response, SyncResponse):
            raise RuntimeError(f"sync failed for {client.user_id}: {response}")
        await key_chores(client)
        result = predicate(response)
        if result:
            return result


def timeline_events(response: SyncResponse, room_id: str) -> list[Any]:
    """Timeline events of one joined room in a sync response (decrypted where possible)."""
    room = response.rooms.join.get(room_id)
    return list(room.timeline.events) if room else []


async def create_encrypted_dm(client: AsyncClient, invitee: str, timeout: float = 30.0) -> str:
    """Create an encrypted direct-message room inviting ``invitee``; return its id.

    Syncs until the room is known to the client as encrypted, so that
    ``room_send`` can encrypt into it straight away.
    """
    response = await client.room_create(
        is_direct=True,
        preset=RoomPreset.trusted_private_chat,
        invite=[invitee],
        initial_state=[
            {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
        ],
    )
    if not isinstance(response, RoomCreateResponse):
        raise RuntimeError(f"room_create failed: {response}")
    room_id = response.room_id
    await sync_until(
        client,
        lambda _: room_id in client.rooms and client.rooms[room_id].encrypted,
        timeout,
    )
    return room_id


async def join(client: AsyncClient, room_id: str, timeout: float = 30.0) -> None:
    """Wait for the invite, join, and sync until the joined room is known."""
    if room_id not in client.rooms:
        await sync_until(
            client, lambda _: room_id in client.invited_rooms or room_id in client.rooms, timeout
        )
    response = await client.join(room_id)
    if not isinstance(response, JoinResponse):
        raise RuntimeError(f"join of {room_id} failed: {response}")
    await sync_until(client, lambda r: room_id in r.rooms.join or room_id in client.rooms, timeout)


async def wait_for_member(
    client: AsyncClient, room_id: str, user_id: str, timeout: float = 30.0
) -> None:
    """Sync until ``user_id`` is a joined member of ``room_id`` as ``client`` sees it."""
    await sync_until(
        client,
        lambda _: room_id in client.rooms and user_id in client.rooms[room_id].users,
        timeout,
    )


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    """Send an ``m.text`` message (encrypted if the room is), trust on first use.

    Returns the event id.
    """
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )
    if not isinstance(response, RoomSendResponse):
        raise RuntimeError(f"room_send failed: {response}")
    return response.event_id
