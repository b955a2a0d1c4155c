"""Device trust in the transport: who may talk to the bot and whom it encrypts to.

* The device watch: a new device on an account the bot has seen before is told to every
  coordinator (through the outbox) and audited; ``on_new_device`` can be replaced.
* Keeping device lists fresh before encrypting (``keys/query`` under the session's key lock).
* With ``require_verified_devices``: a ``sensitive`` message waits while any device in the room
  is unverified, and a registered person's command from an unverified device is refused kindly.

What counts as verified (cross-signed by the owner's pinned master key, or verified in nio) is
decided in :mod:`c2p_bot.transports.matrix.trust`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from nio import AsyncClient, MatrixRoom, RoomMessageText

from c2p_bot.core.alerts import coordinators
from c2p_bot.core.audit import audit
from c2p_bot.core.events import DeliveryError, Priority
from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.service import Core
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession
from c2p_bot.transports.matrix.trust import DeviceWatch, MasterKeyPins, check_devices

log = logging.getLogger(__name__)

# Whose new devices coordinators hear about: everyone's (an HRD's new device may be a seized
# phone's thief or someone reading along).
NEW_DEVICE_ROLES = frozenset({"partner", "coordinator", "hrd"})

UNVERIFIED_DEVICE = N_(
    "I did not act on your message: it came from a device of yours that is not verified, and this "
    "bot only takes commands from verified devices. Verify this device from one you have already "
    "verified (in Element: Settings → Sessions), or ask a coordinator for help, then send it again."
)
NEW_DEVICE = N_(
    "Security notice: the Matrix account {account} has a new device ({device}). If its owner did "
    "not add it, someone else may be reading their messages: check with them by another channel "
    "before sending anything sensitive."
)


class DeviceTrust:
    """The device watch, fresh device lists, and the verified-device rules."""

    def __init__(self, session: MatrixSession, core: Core) -> None:
        self.session = session
        self.core = core
        self.on_new_device: Callable[[str, str], None] = self.notify_coordinators
        self._pins = MasterKeyPins(session.keyring, core.clock.now)
        self._watch = DeviceWatch(lambda user, device: self.on_new_device(user, device))

    # -- the device watch ----------------------------------------------------------------

    def baseline(self) -> None:
        """The devices present at the first sync are the starting point (trust on first use)."""
        self._watch.baseline(self._current_devices())

    def update(self) -> None:
        """Compare with nio's device lists; ``on_new_device`` for each device added since."""
        self._watch.update(self._current_devices())

    def _current_devices(self) -> dict[str, list[str]]:
        client = self.session.client
        if client is None or client.olm is None:
            return {}
        return {user: [d.id for d in client.device_store.active_user_devices(user)]
                for user in list(client.device_store.users)}

    def notify_coordinators(self, user_id: str, device_id: str) -> None:
        """Default ``on_new_device``: tell every coordinator (through the outbox) and audit it."""
        role = self.core.person_role(PLATFORM, user_id)
        if user_id != self.session.user_id and (role is None or role[1] not in NEW_DEVICE_ROLES):
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

    # -- before sending ------------------------------------------------------------------

    async def refresh(self, room: MatrixRoom) -> None:
        """Make sure every member's device list is known and fresh before encrypting."""
        client = self.session.require_client()
        if client.olm is None:
            return
        client.olm.update_tracked_users(room)
        if client.should_query_keys:
            async with self.session.keys_lock:
                try:
                    if client.should_query_keys:
                        await client.keys_query()
                except errors.KEY_ERRORS as error:
                    raise errors.from_exception("matrix keys/query", error) from None
            self.update()

    async def require_verified(self, room: MatrixRoom) -> None:
        """Hold a sensitive message back (transient error) while any device in the room is unverified."""
        client = self.session.require_client()
        try:
            missing, trusted = await check_devices(client, room.users, self._pins)
        except errors.TRUST_ERRORS as error:
            raise errors.from_exception("matrix keys/query", error) from None
        if missing:
            user, device = missing[0]
            raise DeliveryError(
                f"matrix: sensitive message held back: {len(missing)} unverified device(s) in the room "
                f"(e.g. {user} {device}); require_verified_devices is on")
        # Record the cross-signed devices as verified with nio too, so it encrypts to them
        # (and refuses any device it does not know as verified).
        _verify_in_nio(client, trusted)

    # -- on receiving --------------------------------------------------------------------

    async def from_verified_device(self, room: MatrixRoom, event: RoomMessageText) -> bool:
        """With ``require_verified_devices``: whether a registered person's message came from a
        verified device (verified in nio, or cross-signed by them); if not, they are told kindly
        and nothing is done. Strangers and people still onboarding go through as before."""
        role = self.core.person_role(PLATFORM, event.sender)
        if role is None or getattr(event, "verified", False):
            return True
        client = self.session.require_client()
        device_id = self._sender_device(event)
        if device_id is not None and getattr(event, "decrypted", False):
            try:
                _missing, trusted = await check_devices(client, [event.sender], self._pins)
            except errors.TRUST_ERRORS as error:
                log.warning("matrix: could not check %s's devices (%s)", event.sender, type(error).__name__)
                trusted = []
            if (event.sender, device_id) in trusted:
                _verify_in_nio(client, [(event.sender, device_id)])
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
        client = self.session.client
        sender_key = getattr(event, "sender_key", None)
        if client is None or client.olm is None or not sender_key:
            return None
        for device in client.device_store.active_user_devices(event.sender):
            if device.curve25519 == sender_key:
                return str(device.id)
        return None


def _verify_in_nio(client: AsyncClient, devices: Iterable[tuple[str, str]]) -> None:
    """Mark cross-signed devices as verified in nio's store (so it encrypts to them)."""
    if client.olm is None:
        return
    known = dict(client.device_store.items())
    for user, device_id in devices:
        device = known.get(user, {}).get(device_id)
        if device is not None and not client.olm.is_device_verified(device):
            client.verify_device(device)
