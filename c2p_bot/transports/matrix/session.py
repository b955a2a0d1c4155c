"""Session and device: one Matrix device for the bot's whole life.

The first start logs in with the password and keeps the access token and device id under the
keyring; every later start restores that login and the olm store (whose pickle key is a random
secret under the keyring too) — no new device, and never a logout (it would delete the device
and its keys on the server). Cross-signing keys are bootstrapped here, their seeds kept under
the keyring before they are uploaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LoginResponse, WhoamiResponse

from c2p_bot.core.events import DeliveryError
from c2p_bot.core.keyring import Keyring
from c2p_bot.transports.backoff import Backoff, sleep_unless_stopped
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.cross_signing import CrossSigningSeeds, bootstrap_cross_signing
from c2p_bot.transports.settings import MatrixConfig

log = logging.getLogger(__name__)

PLATFORM = "matrix"

ACCESS_TOKEN = "matrix-access-token"  # noqa: S105 (the name of a keyring secret)
DEVICE_ID = "matrix-device-id"
PICKLE_KEY = "matrix-pickle-key"
CROSS_SIGNING = "matrix-cross-signing"

# At DEBUG, matrix-nio logs whole HTTP answers (the login's access token, decrypted events) and
# peewee (nio's store) logs its SQL with the pickled olm state: keep both at WARNING always.
QUIET_LOGGERS = ("nio", "peewee")
# Answers to a password login that no retry will change.
REFUSED_LOGIN = ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME")


def quiet_sdk_logging() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


class MatrixStartError(RuntimeError):
    """The transport cannot start with this configuration (e.g. the password is refused)."""


class _Retry(Exception):
    """A transient problem while connecting: try again later."""


class MatrixSession:
    """The nio client of the bot's one device, its login and its cross-signing identity.

    ``client`` is ``None`` until :meth:`connect` succeeds; ``logins`` counts password logins
    (a restart that restores the device makes none). ``keys_lock`` serialises key requests
    between the sync loop's chores and delivery.
    """

    def __init__(self, config: MatrixConfig, keyring: Keyring, now: Callable[[], datetime]) -> None:
        if not config.homeserver or not config.user_id:
            raise ValueError("matrix.homeserver and matrix.user_id must be set")
        self.config = config
        self.homeserver: str = config.homeserver
        self.user_id: str = config.user_id
        self.keyring = keyring
        self.now = now
        self.store_path = Path(config.store_path)
        self.client: AsyncClient | None = None
        self.logins = 0
        self.cross_signing_ready = False
        self.keys_lock = asyncio.Lock()
        self._seeds: CrossSigningSeeds | None = None

    @property
    def device_id(self) -> str | None:
        return self.client.device_id if self.client else None

    def require_client(self) -> AsyncClient:
        if self.client is None:
            raise DeliveryError("matrix transport not started")
        return self.client

    def prepare_store(self) -> None:
        self.store_path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # e.g. a file system without permissions
            os.chmod(self.store_path, 0o700)

    async def close(self) -> None:
        """Close the HTTP session. Never logs out (that would delete the device)."""
        if self.client is not None:
            await self.client.close()

    # -- login -------------------------------------------------------------------------

    async def connect(self, stop: asyncio.Event) -> bool:
        """Log in or restore the login, retrying with backoff; ``False`` if stopped first.

        Raises :class:`MatrixStartError` when retrying cannot help (no password, refused).
        """
        backoff = Backoff()
        while True:
            try:
                await self._login()
                return True
            except _Retry as problem:
                delay = backoff.next()
                log.warning("matrix: cannot reach the homeserver yet (%s); retrying in %.0fs", problem, delay)
                if await sleep_unless_stopped(stop, delay):
                    return False

    def _client_config(self) -> AsyncClientConfig:
        pickle_key = self.keyring.secret(PICKLE_KEY, self.now()).hex()
        return AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=True,
            pickle_key=pickle_key,
            max_limit_exceeded=0,  # a 429 comes back to us (retry_after) instead of sleeping inside nio
            max_timeouts=2,
            request_timeout=30,
        )

    def _new_client(self, device_id: str | None) -> AsyncClient:
        return AsyncClient(self.homeserver, self.user_id, device_id=device_id,
                           store_path=str(self.store_path), config=self._client_config())

    async def _login(self) -> None:
        if await self._restore():
            return
        if not self.config.password:
            raise MatrixStartError("matrix: no stored login and no password (set C2P_MATRIX_PASSWORD)")
        client = self._new_client(None)
        try:
            response = await client.login(self.config.password, device_name=self.config.device_name)
        except errors.REQUEST_ERRORS as error:
            await client.close()
            raise _Retry(type(error).__name__) from None
        self.logins += 1
        if not isinstance(response, LoginResponse):
            await client.close()
            if response.status_code in REFUSED_LOGIN:
                raise MatrixStartError(f"matrix: login refused ({response.status_code})")
            raise _Retry(str(response.status_code or "login failed"))
        now = self.now()
        self.keyring.put_secret(ACCESS_TOKEN, response.access_token.encode(), now)
        self.keyring.put_secret(DEVICE_ID, response.device_id.encode(), now)
        log.info("matrix: logged in as a new device %s", response.device_id)
        await self._adopt(client)

    async def _restore(self) -> bool:
        """Restore the stored login and olm store; ``False`` when a new login is needed."""
        token = self.keyring.get_secret(ACCESS_TOKEN)
        device = self.keyring.get_secret(DEVICE_ID)
        if not (token and device):
            return False
        device_id = device.decode()
        store_file = self.store_path / f"{self.user_id}_{device_id}.db"
        if not store_file.exists():
            log.error("matrix: the olm store %s is missing; logging in as a new device", store_file)
            return False
        client = self._new_client(device_id)
        client.restore_login(self.user_id, device_id, token.decode())
        try:
            who = await client.whoami()
        except errors.REQUEST_ERRORS as error:
            await client.close()
            raise _Retry(type(error).__name__) from None
        if isinstance(who, WhoamiResponse) and who.user_id == self.user_id:
            await self._adopt(client)
            return True
        await client.close()
        if isinstance(who, ErrorResponse) and who.status_code != "M_UNKNOWN_TOKEN":
            raise _Retry(str(who.status_code or "whoami failed"))
        log.error("matrix: the stored access token is no longer valid (device removed?); "
                  "logging in again as a new device")
        return False

    async def _adopt(self, client: AsyncClient) -> None:
        """Use ``client`` once its device keys are on the server."""
        if client.should_upload_keys:
            try:
                await client.keys_upload()
            except errors.KEY_ERRORS as error:
                await client.close()
                raise _Retry(f"keys/upload: {type(error).__name__}") from None
        self.client = client

    # -- cross-signing -----------------------------------------------------------------

    async def bootstrap_cross_signing(self) -> None:
        """Publish cross-signing keys (seeds kept under the keyring) and sign this device.

        A failure is logged and left for the next sweep to retry (``cross_signing_ready``).
        """
        client = self.require_client()
        if self._seeds is None:
            stored = self.keyring.get_secret(CROSS_SIGNING)
            if stored:
                self._seeds = CrossSigningSeeds.from_bytes(stored)
            else:
                # Kept before uploading, so a crash in between never loses the identity.
                self._seeds = CrossSigningSeeds.generate()
                self.keyring.put_secret(CROSS_SIGNING, self._seeds.to_bytes(), self.now())
        try:
            await bootstrap_cross_signing(client, self.config.password or "", self._seeds)
        except (*errors.TRUST_ERRORS, *errors.KEY_ERRORS) as error:
            log.error("matrix: cross-signing bootstrap failed (%s); retrying later", type(error).__name__)
            return
        self.cross_signing_ready = True
