"""The Matrix transport: matrix-nio with end-to-end encryption, one device for the bot's life.

Life cycle: the first start logs in with the password and keeps the access token and device
id under the keyring; every later start restores that login and the olm store (whose pickle
key is a random secret under the keyring too) — no new device, no logout on stop.
Cross-signing keys are bootstrapped on start and their seeds kept under the keyring.

Receiving: an own sync loop (not ``sync_forever``) hands each decrypted text message to the
core, and remembers the last sync token whose events were all handed over; after a crash the
next start syncs again from that token (nio saves its own token *before* processing), and the
core's event-id de-duplication drops what was already handled.

Sending: ``deliver`` refuses to post into a room that is not encrypted (it turns encryption on,
or opens a new encrypted direct chat), uses the outbox idempotency key as transaction id, and
maps homeserver errors to permanent or transient :class:`DeliveryError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    JoinResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptionEvent,
    RoomGetEventResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomPutStateResponse,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError

from c2p_bot.config import Config, MatrixConfig
from c2p_bot.core.alerts import coordinators
from c2p_bot.core.audit import audit
from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError, Incoming, Outgoing, Priority
from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.cross_signing import CrossSigningSeeds, bootstrap_cross_signing
from c2p_bot.transports.matrix.formatting import (
    ack_command_in,
    in_reply_to,
    is_command,
    is_edit,
    quoted_fallback,
    render_content,
    strip_reply_fallback,
    transaction_id,
)
from c2p_bot.transports.matrix.trust import DeviceWatch, MasterKeyPins, check_devices

log = logging.getLogger(__name__)

PLATFORM = "matrix"
MATRIX_PACING = Pacing(per_second=10, per_chat_interval=0.2)
MEGOLM = "m.megolm.v1.aes-sha2"
ENCRYPTION_STATE: dict[str, Any] = {
    "type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}

ACCESS_TOKEN = "matrix-access-token"  # noqa: S105 (the name of a keyring secret)
DEVICE_ID = "matrix-device-id"
PICKLE_KEY = "matrix-pickle-key"
CROSS_SIGNING = "matrix-cross-signing"

SYNC_STATE_FILE = "c2p-sync.json"
PENDING_FILE = "c2p-undecryptable.json"
# A person's app may still send in the clear for a moment after the bot turned encryption on.
PLAINTEXT_GRACE_MS = 60_000
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}

# Roles whose new devices the coordinators hear about.
# Whose new devices coordinators hear about: everyone's (an HRD's new device may be a seized
# phone's thief or someone reading along).
NEW_DEVICE_ROLES = frozenset({"partner", "coordinator", "hrd"})

UNVERIFIED_DEVICE = N_(
    "I did not act on your message: it came from a device of yours that is not verified, and this "
    "bot only takes commands from verified devices. Verify this device from one you have already "
    "verified (in Element: Settings → Sessions), or ask a coordinator for help, then send it again."
)

UNREADABLE = N_(
    "I could not read a message you sent me: it reached me encrypted with a key your app did not "
    "share with me. Please send it again."
)
NEW_DEVICE = N_(
    "Security notice: the Matrix account {account} has a new device ({device}). If its owner did "
    "not add it, someone else may be reading their messages: check with them by another channel "
    "before sending anything sensitive."
)

# At DEBUG, matrix-nio logs whole HTTP answers (the login's access token, decrypted events) and
# peewee (nio's store) logs its SQL with the pickled olm state: keep both at WARNING always.
QUIET_LOGGERS = ("nio", "peewee")


def quiet_sdk_logging() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


class MatrixStartError(RuntimeError):
    """The transport cannot start with this configuration (e.g. the password is refused)."""


class _Retry(Exception):
    """A transient problem while connecting: try again later."""


@dataclass
class _Undecryptable:
    room_id: str
    sender: str
    deadline: float  # wall-clock seconds
    source: dict[str, Any]


class MatrixTransport:
    """Receives from and delivers to Matrix rooms for the bot's account.

    Public attributes for operators and tests: ``client`` (the nio client once started),
    ``logins`` (password logins made by this instance), ``undecryptable_count`` (messages the
    bot could not decrypt and asked to be resent), ``on_new_device`` (called with user id and
    device id when a partner's or coordinator's account shows a new device).
    """

    platform = PLATFORM

    def __init__(
        self,
        runtime: Runtime,
        config: MatrixConfig,
        keyring: Keyring,
        *,
        sync_timeout_ms: int = 30_000,
        sweep_interval: float | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        if not config.homeserver or not config.user_id:
            raise ValueError("matrix.homeserver and matrix.user_id must be set")
        self.runtime = runtime
        self.core = runtime.core
        self.config = config
        self.keyring = keyring
        self.user_id: str = config.user_id
        self.store_path = Path(config.store_path)
        self.sync_timeout_ms = sync_timeout_ms
        self.start_timeout = start_timeout
        shortest = min(config.stranger_timeout, config.undecryptable_timeout).total_seconds()
        self.sweep_interval = sweep_interval or max(0.2, min(30.0, shortest / 4))
        self.client: AsyncClient | None = None
        self.logins = 0
        self.undecryptable_count = 0
        self.on_new_device: Callable[[str, str], None] = self.notify_coordinators
        self.cross_signing_ready = False
        self._seeds: CrossSigningSeeds | None = None
        self._pins = MasterKeyPins(keyring, self.core.clock.now)
        self._devices = DeviceWatch(lambda user, device: self.on_new_device(user, device))
        self._ready = asyncio.Event()
        self._tick = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._keys_lock = asyncio.Lock()
        self._handled: OrderedDict[str, None] = OrderedDict()  # recent event ids
        self._acks: OrderedDict[str, str] = OrderedDict()  # our event id -> "/ack N" or ""
        self._history_before: dict[str, int] = {}  # first sync ever: room -> ms; older is history
        self._watch: dict[str, float] = {}  # room without a registered member -> since (monotonic)
        self._invites: dict[str, bool] = {}  # invites seen and not yet answered -> is_direct
        self._encryption_tried: set[str] = set()
        self._encrypted: set[str] = set()  # rooms known to be encrypted before the current sync
        self._enabled_encryption: dict[str, int] = {}  # rooms the bot encrypted -> when (ms)
        self.ignored_plaintext = 0
        self._pending: dict[str, _Undecryptable] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Log in (or restore the login), bootstrap cross-signing, sync once, start the loops.

        Returns once connected, or after ``start_timeout`` with the connection still being tried
        in the background (an unreachable homeserver must not hold up the other transports and
        the escalation clock). A refused configuration raises :class:`MatrixStartError`.
        """
        quiet_sdk_logging()
        self._stopping = False
        self.store_path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.store_path, 0o700)
        startup = asyncio.create_task(self._bring_up(), name="matrix-start")
        self._tasks = [startup]
        done, _ = await asyncio.wait({startup}, timeout=self.start_timeout)
        if startup in done:
            startup.result()
        else:
            log.warning("matrix: not connected after %.0fs; still trying in the background",
                        self.start_timeout)

    async def _bring_up(self) -> None:
        await self._connect()
        await self._bootstrap_cross_signing()
        self._load_pending()
        await self._first_sync()
        self._tasks += [
            asyncio.create_task(self._sync_loop(), name="matrix-sync"),
            asyncio.create_task(self._sweep_loop(), name="matrix-sweep"),
        ]
        log.info("matrix: running as %s (device %s)", self.user_id, self.device_id)

    async def stop(self) -> None:
        """Stop the loops and close the HTTP session. Never logs out (that would delete the device)."""
        self._stopping = True
        client = self.client
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._ready.clear()
        if client is not None:
            await client.close()

    @property
    def device_id(self) -> str | None:
        return self.client.device_id if self.client else None

    def _client_config(self) -> AsyncClientConfig:
        pickle_key = self.keyring.secret(PICKLE_KEY, self.core.clock.now()).hex()
        return AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=True,
            pickle_key=pickle_key,
            max_limit_exceeded=0,  # a 429 comes back to us (retry_after) instead of sleeping inside nio
            max_timeouts=2,
            request_timeout=30,
        )

    def _new_client(self, device_id: str | None) -> AsyncClient:
        assert self.config.homeserver
        return AsyncClient(self.config.homeserver, self.user_id, device_id=device_id,
                           store_path=str(self.store_path), config=self._client_config())

    async def _connect(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._login()
                return
            except _Retry as problem:
                log.warning("matrix: cannot reach the homeserver yet (%s); retrying in %.0fs", problem, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _login(self) -> None:
        token = self.keyring.get_secret(ACCESS_TOKEN)
        device = self.keyring.get_secret(DEVICE_ID)
        if token and device:
            device_id = device.decode()
            store_file = self.store_path / f"{self.user_id}_{device_id}.db"
            if not store_file.exists():
                log.error("matrix: the olm store %s is missing; logging in as a new device", store_file)
            else:
                client = self._new_client(device_id)
                client.restore_login(self.user_id, device_id, token.decode())
                try:
                    who = await client.whoami()
                except Exception as error:
                    await client.close()
                    raise _Retry(type(error).__name__) from None
                if isinstance(who, WhoamiResponse) and who.user_id == self.user_id:
                    self.client = client
                    await self._upload_keys()
                    return
                await client.close()
                if isinstance(who, ErrorResponse) and who.status_code != "M_UNKNOWN_TOKEN":
                    raise _Retry(str(who.status_code or "whoami failed"))
                log.error("matrix: the stored access token is no longer valid (device removed?); "
                          "logging in again as a new device")
        if not self.config.password:
            raise MatrixStartError("matrix: no stored login and no password (set C2P_MATRIX_PASSWORD)")
        client = self._new_client(None)
        try:
            response = await client.login(self.config.password, device_name=self.config.device_name)
        except Exception as error:
            await client.close()
            raise _Retry(type(error).__name__) from None
        self.logins += 1
        if not isinstance(response, LoginResponse):
            await client.close()
            if response.status_code in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME"):
                raise MatrixStartError(f"matrix: login refused ({response.status_code})")
            raise _Retry(str(response.status_code or "login failed"))
        now = self.core.clock.now()
        self.keyring.put_secret(ACCESS_TOKEN, response.access_token.encode(), now)
        self.keyring.put_secret(DEVICE_ID, response.device_id.encode(), now)
        self.client = client
        log.info("matrix: logged in as a new device %s", response.device_id)
        await self._upload_keys()

    async def _upload_keys(self) -> None:
        client = self._require_client()
        if client.should_upload_keys:
            await client.keys_upload()

    async def _bootstrap_cross_signing(self) -> None:
        """Publish cross-signing keys (seeds kept under the keyring) and sign this device."""
        client = self._require_client()
        if self._seeds is None:
            stored = self.keyring.get_secret(CROSS_SIGNING)
            if stored:
                self._seeds = CrossSigningSeeds.from_bytes(stored)
            else:
                # Kept before uploading, so a crash in between never loses the identity.
                self._seeds = CrossSigningSeeds.generate()
                self.keyring.put_secret(CROSS_SIGNING, self._seeds.to_bytes(), self.core.clock.now())
        try:
            await bootstrap_cross_signing(client, self.config.password or "", self._seeds)
        except Exception as error:
            log.error("matrix: cross-signing bootstrap failed (%s); retrying later", type(error).__name__)
            return
        self.cross_signing_ready = True

    def _require_client(self) -> AsyncClient:
        if self.client is None:
            raise DeliveryError("matrix transport not started")
        return self.client

    # -- syncing -----------------------------------------------------------------------

    def _sync_state(self) -> str | None:
        try:
            state = json.loads((self.store_path / SYNC_STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        if state.get("device_id") != self.device_id:
            return None
        token = state.get("token")
        return token if isinstance(token, str) else None

    def _save_sync_state(self, token: str) -> None:
        path = self.store_path / SYNC_STATE_FILE
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps({"device_id": self.device_id, "token": token}))
        os.replace(temp, path)

    async def _first_sync(self) -> None:
        client = self._require_client()
        since = self._sync_state()
        history = since is None and client.loaded_sync_token is None
        delay = 1.0
        while True:
            try:
                response = await client.sync(timeout=0, sync_filter=SYNC_FILTER, since=since, full_state=True)
            except Exception as error:
                response = None
                problem = type(error).__name__
            else:
                problem = str(getattr(response, "status_code", "") or "sync failed")
            if isinstance(response, SyncResponse):
                break
            log.warning("matrix: first sync failed (%s); retrying in %.0fs", problem, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
        if history:
            now_ms = int(time.time() * 1000)
            for room_id in response.rooms.join:
                self._history_before[room_id] = now_ms
        self._devices.baseline(self._current_devices())
        await self._after_sync(response)
        self._review_rooms_at_start()
        self._ready.set()

    async def _sync_loop(self) -> None:
        client = self._require_client()
        delay = 1.0
        while not self._stopping:
            try:
                response = await client.sync(timeout=self.sync_timeout_ms, sync_filter=SYNC_FILTER)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("matrix: sync failed (%s); retrying in %.0fs", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            if not isinstance(response, SyncResponse):
                code = getattr(response, "status_code", None)
                if code == "M_UNKNOWN_TOKEN":
                    log.error("matrix: the access token was revoked; nothing arrives until a restart")
                wait = (getattr(response, "retry_after_ms", None) or 0) / 1000 or delay
                log.warning("matrix: sync refused (%s); retrying in %.0fs", code, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            try:
                await self._after_sync(response)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matrix: handling a sync response failed")

    async def _after_sync(self, response: SyncResponse) -> None:
        """Handle one sync: invites, timelines, leaves; then key chores; then remember the token."""
        client = self._require_client()
        for room_id, info in response.rooms.invite.items():
            self._invites[room_id] = self._invite_is_direct(info.invite_state)
        for room_id in list(self._invites):
            await self._answer_invite(room_id)
        for room_id, join_info in response.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            # Once a room is encrypted, a message in the clear can only be forged (e.g. by the
            # homeserver): from then on only messages that decrypted are handled.
            encrypted = room_id in self._encrypted or any(
                isinstance(event, RoomEncryptionEvent) for event in join_info.state)
            events = join_info.timeline.events
            for event in events[self._first_addressed(events):]:
                if isinstance(event, RoomEncryptionEvent):
                    encrypted = True
                try:
                    await self._on_timeline_event(room, event, encrypted)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("matrix: handling an event failed")
            if room.encrypted:
                self._encrypted.add(room_id)
            elif room_id not in self._encryption_tried:
                await self._ensure_encrypted(room)
        for room_id in response.rooms.leave:
            self._forget_room(room_id)
        await self._key_chores()
        await self._retry_undecryptable()
        self._save_sync_state(response.next_batch)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def _key_chores(self) -> None:
        """What ``sync_forever`` does between syncs: to-device messages, key upload/query/claim."""
        client = self._require_client()
        async with self._keys_lock:
            try:
                await client.send_to_device_messages()
                if client.should_upload_keys:
                    await client.keys_upload()
                if client.should_query_keys:
                    await client.keys_query()
                if client.should_claim_keys:
                    await client.keys_claim(client.get_users_for_key_claiming())
            except Exception as error:
                log.warning("matrix: key maintenance failed (%s)", type(error).__name__)
        self._devices.update(self._current_devices())

    def _current_devices(self) -> dict[str, list[str]]:
        client = self.client
        if client is None or client.olm is None:
            return {}
        return {user: [d.id for d in client.device_store.active_user_devices(user)]
                for user in list(client.device_store.users)}

    async def _wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), timeout=remaining)
        return True

    # -- rooms -------------------------------------------------------------------------

    def _invite_is_direct(self, invite_state: Iterable[Any]) -> bool:
        for event in invite_state:
            if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                return bool(event.content.get("is_direct"))
        return False

    async def _answer_invite(self, room_id: str) -> None:
        """Join direct chats (so ``/start CODE`` can arrive); decline invitations to groups."""
        client = self._require_client()
        direct = self._invites.get(room_id, False)
        invited = client.invited_rooms.get(room_id)
        members = len(invited.users) if invited is not None else 0
        try:
            if not direct and members > 2:
                log.info("matrix: declining an invitation to a group room %s", room_id)
                await client.room_leave(room_id)
                self._invites.pop(room_id, None)
                return
            response = await client.join(room_id)
        except Exception as error:
            log.warning("matrix: answering an invitation failed (%s); retrying later", type(error).__name__)
            return
        if isinstance(response, JoinResponse):
            log.info("matrix: joined the direct chat %s", room_id)
            self._invites.pop(room_id, None)
            inviter = invited.inviter if invited is not None else None
            if inviter is None or not self.core.is_known(PLATFORM, inviter):
                self._watch.setdefault(room_id, time.monotonic())
        elif response.status_code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN"):
            log.info("matrix: invitation to %s no longer valid (%s)", room_id, response.status_code)
            self._invites.pop(room_id, None)

    async def _ensure_encrypted(self, room: MatrixRoom) -> bool:
        """Turn encryption on in a room that lacks it; whether the room is now encrypted."""
        if room.encrypted:
            return True
        client = self._require_client()
        self._encryption_tried.add(room.room_id)
        try:
            response = await client.room_put_state(room.room_id, "m.room.encryption", {"algorithm": MEGOLM})
        except Exception as error:
            log.warning("matrix: enabling encryption failed (%s)", type(error).__name__)
            return False
        if not isinstance(response, RoomPutStateResponse):
            log.warning("matrix: could not enable encryption in %s (%s)", room.room_id, response.status_code)
            return False
        log.info("matrix: enabled encryption in %s", room.room_id)
        room.encrypted = True
        self._encrypted.add(room.room_id)
        self._enabled_encryption[room.room_id] = int(time.time() * 1000)
        client.encrypted_rooms.add(room.room_id)
        if client.store is not None:
            client.store.save_encrypted_rooms({room.room_id})
        return True

    def _others(self, room: MatrixRoom) -> list[str]:
        return [user for user in room.users if user != self.user_id]

    def _review_rooms_at_start(self) -> None:
        """After a restart: watch every room that has no registered member (strangers' rooms)."""
        client = self._require_client()
        now = time.monotonic()
        for room_id, room in client.rooms.items():
            if not any(self.core.is_known(PLATFORM, user) for user in self._others(room)):
                self._watch.setdefault(room_id, now)

    async def sweep(self) -> None:
        """Periodic chores: leave strangers' rooms after the timeout, and groups; retry what failed."""
        client = self._require_client()
        if not self.cross_signing_ready:
            await self._bootstrap_cross_signing()
        for room_id in list(self._invites):
            await self._answer_invite(room_id)
        now = time.monotonic()
        timeout = self.config.stranger_timeout.total_seconds()
        for room_id, room in list(client.rooms.items()):
            others = self._others(room)
            if room.member_count > 2:
                await self._leave(room_id, "it is a group")
            elif not others:
                await self._leave(room_id, "everyone else left")
            elif room_id in self._watch:
                if any(self.core.is_known(PLATFORM, user) for user in others):
                    del self._watch[room_id]
                elif now - self._watch[room_id] >= timeout:
                    await self._leave(room_id, "a stranger did not register in time")
        await self._retry_undecryptable()

    async def _sweep_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matrix: sweep failed")

    async def _leave(self, room_id: str, why: str) -> None:
        client = self._require_client()
        try:
            response = await client.room_leave(room_id)
        except Exception as error:
            log.warning("matrix: leaving %s failed (%s)", room_id, type(error).__name__)
            return
        if isinstance(response, ErrorResponse):
            log.warning("matrix: leaving %s failed (%s)", room_id, response.status_code)
            return
        log.info("matrix: left %s (%s)", room_id, why)
        with contextlib.suppress(Exception):
            await client.room_forget(room_id)
        client.rooms.pop(room_id, None)
        self._forget_room(room_id)

    def _forget_room(self, room_id: str) -> None:
        if self.client is not None:
            self.client.rooms.pop(room_id, None)  # nio keeps left rooms otherwise
        self._watch.pop(room_id, None)
        self._history_before.pop(room_id, None)
        self._encryption_tried.discard(room_id)
        self._encrypted.discard(room_id)

    # -- receiving ---------------------------------------------------------------------

    def _first_time(self, event_id: str) -> bool:
        if event_id in self._handled:
            return False
        self._handled[event_id] = None
        while len(self._handled) > 5000:
            self._handled.popitem(last=False)
        return True

    def _first_addressed(self, events: list[Any]) -> int:
        """Index of the first timeline event addressed to the bot.

        When a timeline holds the bot's own invitation (or, failing that, its join), what came
        before it is history from before the bot was in the room and is not handled; messages
        sent while the invitation was pending are (the person wrote them to the bot).
        """
        invite = join = None
        for index, event in enumerate(events):
            if isinstance(event, RoomMemberEvent) and event.state_key == self.user_id:
                if event.membership == "invite":
                    invite = index
                elif event.membership == "join" and event.prev_membership != "join":
                    join = index
        mark = invite if invite is not None else join
        return 0 if mark is None else mark + 1

    async def _on_timeline_event(self, room: MatrixRoom, event: Any, encrypted: bool) -> None:
        if isinstance(event, RoomMemberEvent):
            return
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.user_id:
            return
        if getattr(event, "server_timestamp", 0) < self._history_before.get(room.room_id, 0):
            return
        if isinstance(event, MegolmEvent):
            await self._undecryptable(room, event)
        elif isinstance(event, RoomMessageText):
            grace = self._enabled_encryption.get(room.room_id, 0) + PLAINTEXT_GRACE_MS
            if encrypted and not event.decrypted and event.server_timestamp > grace:
                self.ignored_plaintext += 1
                log.warning("matrix: ignoring an unencrypted message in the encrypted room %s", room.room_id)
                return
            await self._on_text(room, event)

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        content = event.source.get("content") or {}
        if is_edit(content) or not self._first_time(event.event_id):
            return
        reply_to = in_reply_to(content)
        text = strip_reply_fallback(event.body) if reply_to else event.body
        if reply_to and not is_command(text):
            ack = await self._ack_for_reply(room.room_id, reply_to, event.body)
            if ack:
                text = ack
        if room.room_id not in self._watch and not self.core.is_known(PLATFORM, event.sender):
            self._watch[room.room_id] = time.monotonic()
        if self.config.require_verified_devices and not await self._from_verified_device(room, event):
            return
        incoming = Incoming(
            platform=PLATFORM,
            sender_id=event.sender,
            chat_id=room.room_id,
            text=text,
            sent_at=datetime.fromtimestamp(event.server_timestamp / 1000, UTC),
            event_id=event.event_id,
            message_id=event.event_id,
            is_private=room.member_count <= 2,
        )
        await self.runtime.handle(incoming)

    async def _ack_for_reply(self, room_id: str, event_id: str, body: str) -> str | None:
        """``/ack N`` when a reply answers one of the bot's alerts, else ``None``."""
        if event_id in self._acks:
            return self._acks[event_id] or None
        client = self._require_client()
        try:
            response = await client.room_get_event(room_id, event_id)
        except Exception as error:
            log.warning("matrix: fetching a replied-to event failed (%s)", type(error).__name__)
            response = None
        if isinstance(response, RoomGetEventResponse):
            replied = response.event
            if getattr(replied, "sender", None) != self.user_id:
                return None
            if isinstance(replied, RoomMessageText):
                return ack_command_in(replied.body)
        sender, quoted = quoted_fallback(body)  # the client's quote, if it still sends one
        return ack_command_in(quoted) if sender == self.user_id else None

    # -- undecryptable messages ----------------------------------------------------------

    async def _undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        if event.event_id in self._pending or event.event_id in self._handled:
            return
        client = self._require_client()
        log.info("matrix: could not decrypt an event in %s; requesting the key", room.room_id)
        event.room_id = room.room_id
        deadline = time.time() + self.config.undecryptable_timeout.total_seconds()
        self._pending[event.event_id] = _Undecryptable(room.room_id, event.sender, deadline, event.source)
        self._save_pending()
        try:
            await client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except Exception as error:
            log.warning("matrix: requesting a room key failed (%s)", type(error).__name__)

    async def _retry_undecryptable(self) -> None:
        if not self._pending:
            return
        client = self._require_client()
        now = time.time()
        changed = False
        for event_id, pending in list(self._pending.items()):
            decrypted: Any = None
            encrypted = MegolmEvent.from_dict(pending.source)
            if isinstance(encrypted, MegolmEvent):
                encrypted.room_id = pending.room_id
                try:
                    decrypted = client.decrypt_event(encrypted)
                except (EncryptionError, LocalProtocolError):
                    decrypted = None
            if isinstance(decrypted, RoomMessageText):
                del self._pending[event_id]
                changed = True
                room = client.rooms.get(pending.room_id)
                if room is not None:
                    await self._on_text(room, decrypted)
            elif decrypted is not None or now >= pending.deadline:
                del self._pending[event_id]
                changed = True
                if decrypted is None and self._first_time(event_id):
                    self._ask_to_resend(event_id, pending)
        if changed:
            self._save_pending()

    def _ask_to_resend(self, event_id: str, pending: _Undecryptable) -> None:
        self.undecryptable_count += 1
        log.warning("matrix: a message in %s stayed undecryptable; asking to resend", pending.room_id)
        role = self.core.person_role(PLATFORM, pending.sender)
        _ = gettext_for(role[2] if role else None)
        with self.core.session() as session:
            self.core.outbox.to_chat(
                session, platform=PLATFORM, chat_id=pending.room_id, text=_(UNREADABLE),
                now=self.core.clock.now(), key=f"matrix:undecryptable:{event_id}",
                person_id=role[0] if role else None,
            )
            self.core.commit(session)

    def _load_pending(self) -> None:
        try:
            raw = json.loads((self.store_path / PENDING_FILE).read_text())
        except (OSError, ValueError):
            return
        for event_id, item in raw.items():
            with contextlib.suppress(TypeError):
                self._pending[event_id] = _Undecryptable(**item)

    def _save_pending(self) -> None:
        """Undecryptable events survive a restart (they hold ciphertext and ids only)."""
        path = self.store_path / PENDING_FILE
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps({key: asdict(value) for key, value in self._pending.items()}))
        os.replace(temp, path)

    # -- trust -------------------------------------------------------------------------

    async def _from_verified_device(self, room: MatrixRoom, event: RoomMessageText) -> bool:
        """With ``require_verified_devices``: whether a registered person's message came from a
        verified device (verified in nio, or cross-signed by them); if not, they are told kindly
        and nothing is done. Strangers and people still onboarding go through as before."""
        role = self.core.person_role(PLATFORM, event.sender)
        if role is None or getattr(event, "verified", False):
            return True
        client = self._require_client()
        device_id = self._sender_device(event)
        if device_id is not None and getattr(event, "decrypted", False):
            try:
                _missing, trusted = await check_devices(client, [event.sender], self._pins)
            except Exception as error:
                log.warning("matrix: could not check %s's devices (%s)", event.sender, type(error).__name__)
                trusted = []
            if (event.sender, device_id) in trusted:
                device = dict(client.device_store.items()).get(event.sender, {}).get(device_id)
                if device is not None and client.olm is not None and not client.olm.is_device_verified(device):
                    client.verify_device(device)
                return True
        log.warning("matrix: a command from an unverified device of %s was refused", event.sender)
        now = self.core.clock.now()
        _ = gettext_for(role[2])
        with self.core.session() as session:
            self.core.outbox.to_chat(session, platform=PLATFORM, chat_id=room.room_id, text=_(UNVERIFIED_DEVICE),
                                     now=now, key=f"matrix:unverified:{event.event_id}", priority=Priority.REPLY,
                                     person_id=role[0])
            audit(session, now, "matrix_unverified_device", subject=f"person:{role[0]}",
                  detail=f"device={device_id or '?'}")
            self.core.commit(session)
        return False

    def _sender_device(self, event: RoomMessageText) -> str | None:
        """The id of the device that sent a decrypted event (by its Curve25519 key)."""
        client = self.client
        sender_key = getattr(event, "sender_key", None)
        if client is None or client.olm is None or not sender_key:
            return None
        for device in client.device_store.active_user_devices(event.sender):
            if device.curve25519 == sender_key:
                return str(device.id)
        return None

    def notify_coordinators(self, user_id: str, device_id: str) -> None:
        """Default ``on_new_device``: tell every coordinator (through the outbox) and audit it."""
        role = self.core.person_role(PLATFORM, user_id)
        if user_id != self.user_id and (role is None or role[1] not in NEW_DEVICE_ROLES):
            return
        log.warning("matrix: %s has a new device %s", user_id, device_id)
        now = self.core.clock.now()
        with self.core.session() as session:
            for person in coordinators(session):
                self.core.outbox.to_person(
                    session, person,
                    lambda _: _(NEW_DEVICE).format(account=user_id, device=device_id),
                    now=now, key=f"matrix:new-device:{user_id}:{device_id}:{person.id}",
                    priority=Priority.REMINDER, kind="security-notice",
                )
            audit(session, now, "matrix_new_device",
                  subject=f"person:{role[0]}" if role else "bot", detail=device_id)
            self.core.commit(session)

    # -- sending -----------------------------------------------------------------------

    async def deliver(self, message: Outgoing) -> str | None:
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=2)
            if not self._ready.is_set():
                raise DeliveryError("matrix: not connected to the homeserver yet", retry_after=5)
        client = self._require_client()
        if message.kind == DELETE_MESSAGE:
            await self._redact(client, message)
            return None
        moved_user: str | None = None
        if message.chat_id.startswith("@"):
            moved_user = message.chat_id
            room_id = await self._direct_room(moved_user)
        else:
            room_id = message.chat_id
        room = client.rooms.get(room_id)
        if room is None:
            if room_id in client.invited_rooms:
                raise DeliveryError("matrix: not joined yet", retry_after=5)
            raise DeliveryError("matrix: the bot is not in this room", permanent=True)
        others = self._others(room)
        if not others:
            raise DeliveryError("matrix: the person left this room", permanent=True)
        if room.member_count > 2 and not (
            message.kind == "reply" and not message.sensitive and message.priority >= Priority.REPLY
        ):
            raise DeliveryError("matrix: not a direct chat (more than two members)", permanent=True)
        if not room.encrypted and not await self._ensure_encrypted(room):
            if len(others) != 1:
                raise DeliveryError("matrix: the room is not encrypted and encryption cannot be enabled",
                                    permanent=True)
            moved_user = others[0]
            room_id = await self._direct_room(moved_user, avoid=room_id)
            room = client.rooms[room_id]
        if not room.encrypted:  # never send in the clear
            raise DeliveryError("matrix: the room is not encrypted", permanent=True)
        await self._refresh_devices(room)
        strict = self.config.require_verified_devices and message.sensitive
        if strict:
            await self._require_verified(room)
        content = render_content(message.text, message.buttons, message.priority)
        try:
            response = await client.room_send(
                room_id, "m.room.message", content,
                tx_id=transaction_id(message.idempotency_key),
                ignore_unverified_devices=not strict,
            )
        except Exception as error:
            raise errors.from_exception("matrix send", error) from None
        if not isinstance(response, RoomSendResponse):
            raise errors.from_response("matrix send", response)
        self._remember_sent(response.event_id, message.text)
        if moved_user is not None:
            self.core.identity_moved(PLATFORM, moved_user, room_id)
        return response.event_id

    def _remember_sent(self, event_id: str, text: str) -> None:
        self._acks[event_id] = ack_command_in(text) or ""
        while len(self._acks) > 2000:
            self._acks.popitem(last=False)

    async def _redact(self, client: AsyncClient, message: Outgoing) -> None:
        try:
            response = await client.room_redact(
                message.chat_id, message.text, tx_id=transaction_id(message.idempotency_key))
        except Exception as error:
            raise errors.from_exception("matrix redact", error) from None
        if isinstance(response, RoomRedactResponse):
            return
        if response.status_code == "M_NOT_FOUND":
            return  # already gone
        raise errors.from_response("matrix redact", response)

    async def _refresh_devices(self, room: MatrixRoom) -> None:
        """Make sure every member's device list is known and fresh before encrypting."""
        client = self._require_client()
        if client.olm is None:
            return
        client.olm.update_tracked_users(room)
        if client.should_query_keys:
            async with self._keys_lock:
                try:
                    if client.should_query_keys:
                        await client.keys_query()
                except Exception as error:
                    raise errors.from_exception("matrix keys/query", error) from None
            self._devices.update(self._current_devices())

    async def _require_verified(self, room: MatrixRoom) -> None:
        client = self._require_client()
        try:
            missing, trusted = await check_devices(client, room.users, self._pins)
        except Exception as error:
            raise errors.from_exception("matrix keys/query", error) from None
        if missing:
            user, device = missing[0]
            raise DeliveryError(
                f"matrix: sensitive message held back: {len(missing)} unverified device(s) in the room "
                f"(e.g. {user} {device}); require_verified_devices is on")
        # Record the cross-signed devices as verified with nio too, so it encrypts to them
        # (and refuses any device it does not know as verified).
        for user, device_id in trusted:
            device = dict(client.device_store.items()).get(user, {}).get(device_id)
            if device is not None and client.olm is not None and not client.olm.is_device_verified(device):
                client.verify_device(device)

    async def _direct_room(self, user_id: str, avoid: str | None = None) -> str:
        """An encrypted direct chat with ``user_id``: an existing one, or a new one."""
        client = self._require_client()
        for room_id, room in client.rooms.items():
            if room_id != avoid and room.encrypted and set(room.users) == {self.user_id, user_id}:
                return room_id
        try:
            response = await client.room_create(
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[user_id],
                initial_state=[ENCRYPTION_STATE],
            )
        except Exception as error:
            raise errors.from_exception("matrix create room", error) from None
        if not isinstance(response, RoomCreateResponse):
            raise errors.from_response("matrix create room", response)
        room_id = response.room_id
        log.info("matrix: opened an encrypted direct chat %s", room_id)
        known = await self._wait_for(
            lambda: room_id in client.rooms and client.rooms[room_id].encrypted
            and user_id in client.rooms[room_id].users,
            timeout=20,
        )
        if not known:
            raise DeliveryError("matrix: the new direct chat did not show up in time", retry_after=5)
        return room_id


def attach_matrix(
    runtime: Runtime, config: MatrixConfig | Config, keyring: Keyring, *, pacing: Pacing | None = None,
    **options: Any,
) -> MatrixTransport:
    """Create the Matrix transport and register it with the runtime (no network until ``start``).

    The caller runs ``await transport.start()`` with ``runtime.start()``, and on the way out
    ``await transport.stop()`` before ``runtime.stop()``.
    """
    matrix = config.matrix if isinstance(config, Config) else config
    transport = MatrixTransport(runtime, matrix, keyring, **options)
    runtime.add_transport(transport, pacing or MATRIX_PACING)
    return transport
