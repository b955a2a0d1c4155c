"""Device trust for the Matrix transport.

* :class:`DeviceWatch` notices a *new* device on an account the bot has seen before (trust on
  first use: the devices present the first time are the baseline; nio's store keeps them
  across restarts).
* :func:`unverified_devices` tells which devices in a room are not verified, for
  ``require_verified_devices``. A device counts as verified when the bot's operator verified
  it in nio, or when its owner cross-signed it: its key object carries a valid signature by
  the owner's self-signing key, which is signed by the owner's master key, and that master
  key is the one the bot pinned the first time it saw it (kept under the keyring).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from c2p_bot.core.keyring import Keyring
from c2p_bot.transports.matrix.cross_signing import CLIENT_API, CrossSigningError
from c2p_bot.transports.matrix.signing import ed25519_key_id, key_object_public, verify_signature

if TYPE_CHECKING:
    from nio import AsyncClient

log = logging.getLogger(__name__)

PINNED_MASTERS = "matrix-pinned-master-keys"

JsonDict = dict[str, Any]


class DeviceWatch:
    """Remembers each user's devices and reports the ones added after the first sighting."""

    def __init__(self, on_new: Callable[[str, str], None]) -> None:
        self.on_new = on_new
        self.known: dict[str, set[str]] = {}

    def baseline(self, devices: Mapping[str, Iterable[str]]) -> None:
        for user_id, ids in devices.items():
            self.known.setdefault(user_id, set()).update(ids)

    def update(self, devices: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
        """Compare with the current device lists; call ``on_new`` for each new device."""
        new: list[tuple[str, str]] = []
        for user_id, ids in devices.items():
            current = set(ids)
            seen = self.known.get(user_id)
            if seen is None:
                self.known[user_id] = current  # first sighting: trust on first use
                continue
            for device_id in sorted(current - seen):
                new.append((user_id, device_id))
            seen.update(current)
        for user_id, device_id in new:
            try:
                self.on_new(user_id, device_id)
            except Exception:  # a replaceable hook, called from the sync loop: its bug must not stop syncing
                log.exception("new-device callback failed")
        return new


async def query_device_keys(client: AsyncClient, users: Iterable[str]) -> JsonDict:
    """``POST /keys/query`` for several users; the raw answer."""
    body = json.dumps({"device_keys": {user: [] for user in users}})
    headers = {"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"}
    response = await client.send("POST", CLIENT_API + "/keys/query", body, headers)
    try:
        payload = await response.json(content_type=None)
        if response.status != 200 or not isinstance(payload, dict):
            raise CrossSigningError(f"keys/query failed: HTTP {response.status}")
        return payload
    finally:
        response.release()


class MasterKeyPins:
    """The first master key seen for each user, kept in the keyring."""

    def __init__(self, keyring: Keyring, now: Callable[[], datetime]) -> None:
        self.keyring = keyring
        self.now = now
        self._pins: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._pins is None:
            raw = self.keyring.get_secret(PINNED_MASTERS)
            self._pins = dict(json.loads(raw)) if raw else {}
        return self._pins

    def check(self, user_id: str, master_public: str) -> bool:
        """Pin on first sight; afterwards, whether the key is still the pinned one."""
        pins = self._load()
        pinned = pins.get(user_id)
        if pinned is None:
            pins[user_id] = master_public
            self.keyring.put_secret(PINNED_MASTERS, json.dumps(pins).encode(), self.now())
            return True
        if pinned != master_public:
            log.warning("the master key of %s changed; its devices count as unverified", user_id)
            return False
        return True


def _cross_signed_devices(query: JsonDict, user_id: str, pins: MasterKeyPins) -> set[str]:
    master = query.get("master_keys", {}).get(user_id)
    ssk = query.get("self_signing_keys", {}).get(user_id)
    master_public = key_object_public(master)
    ssk_public = key_object_public(ssk)
    if not master_public or not ssk_public or ssk is None:
        return set()
    if not verify_signature(ssk, user_id, ed25519_key_id(master_public), master_public):
        return set()
    if not pins.check(user_id, master_public):
        return set()
    signed = set()
    for device_id, device in (query.get("device_keys", {}).get(user_id) or {}).items():
        if verify_signature(device, user_id, ed25519_key_id(ssk_public), ssk_public):
            signed.add(device_id)
    return signed


async def check_devices(client: AsyncClient, users: Iterable[str], pins: MasterKeyPins,
                        ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(unverified, verified) (user, device) pairs of ``users`` as the homeserver lists them.

    Verified: cross-signed by the owner (see the module docstring) or verified in nio. The
    bot's own current device is left out.
    """
    users = sorted(set(users))
    query = await query_device_keys(client, users)
    olm = client.olm
    known = dict(client.device_store.items()) if olm else {}
    missing: list[tuple[str, str]] = []
    trusted: list[tuple[str, str]] = []
    for user_id in users:
        signed = _cross_signed_devices(query, user_id, pins)
        for device_id in sorted(query.get("device_keys", {}).get(user_id) or {}):
            if user_id == client.user_id and device_id == client.device_id:
                continue
            device = known.get(user_id, {}).get(device_id)
            locally = device is not None and olm is not None and olm.is_device_verified(device)
            if device_id in signed or locally:
                trusted.append((user_id, device_id))
            else:
                missing.append((user_id, device_id))
    return missing, trusted
