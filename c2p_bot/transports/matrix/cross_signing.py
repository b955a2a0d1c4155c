"""Cross-signing bootstrap for the bot's Matrix account.

matrix-nio has no cross-signing support, so this module talks to the
homeserver's key endpoints directly (through the nio client's own
authenticated HTTP session):

* ``POST /keys/device_signing/upload`` publishes the master, self-signing
  and user-signing public keys (user-interactive auth with the account
  password when the server asks for it);
* ``POST /keys/signatures/upload`` publishes the self-signing key's
  signature of the bot's current device, and the device's signature of the
  master key.

The private seeds are generated here and returned to the caller, who is
responsible for wrapping and persisting them. This module never writes,
logs or prints them (:class:`CrossSigningSeeds` hides them from ``repr``).
Canonical JSON, signatures and key objects live in
:mod:`c2p_bot.transports.matrix.signing` (re-exported here).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from c2p_bot.transports.matrix.signing import (
    SEED_BYTES,
    CrossSigningSeeds,
    build_cross_signing_keys,
    canonical_json,
    ed25519_key_id,
    key_object_public,
    public_key_b64,
    sign_json,
    signable_bytes,
    unpadded_b64decode,
    unpadded_b64encode,
    verify_signature,
)

if TYPE_CHECKING:
    from nio import AsyncClient

logger = logging.getLogger(__name__)

CLIENT_API = "/_matrix/client/v3"

JsonDict = dict[str, Any]

__all__ = [
    "CLIENT_API", "SEED_BYTES", "CrossSigningError", "CrossSigningSeeds", "bootstrap_cross_signing",
    "build_cross_signing_keys", "canonical_json", "ed25519_key_id", "key_object_public", "public_key_b64",
    "query_keys", "sign_json", "signable_bytes", "unpadded_b64decode", "unpadded_b64encode",
    "upload_cross_signing_keys", "upload_signatures", "verify_signature",
]


class CrossSigningError(RuntimeError):
    """The homeserver refused or garbled a cross-signing step."""


# --------------------------------------------------------------------------
# Homeserver requests
# --------------------------------------------------------------------------


async def _request(
    client: AsyncClient, method: str, path: str, body: JsonDict | None = None
) -> tuple[int, JsonDict]:
    """An authenticated JSON request through the nio client's HTTP session."""
    if not client.access_token:
        raise CrossSigningError("client is not logged in")
    headers = {
        "Authorization": f"Bearer {client.access_token}",
        "Content-Type": "application/json",
    }
    data = json.dumps(body) if body is not None else None
    response = await client.send(method, CLIENT_API + path, data, headers)
    try:
        try:
            payload = await response.json(content_type=None)
        except (ValueError, UnicodeDecodeError):
            payload = {}
        return response.status, payload if isinstance(payload, dict) else {}
    finally:
        response.release()


def _error(step: str, status: int, payload: JsonDict) -> CrossSigningError:
    code = payload.get("errcode", "?")
    message = payload.get("error", "")
    return CrossSigningError(f"{step} failed: HTTP {status} {code} {message}".rstrip())


async def query_keys(client: AsyncClient, user_id: str) -> JsonDict:
    """``POST /keys/query`` for one user; the raw response body."""
    status, payload = await _request(client, "POST", "/keys/query", {"device_keys": {user_id: []}})
    if status != 200:
        raise _error("keys/query", status, payload)
    return payload


async def upload_cross_signing_keys(client: AsyncClient, password: str, keys: JsonDict) -> None:
    """Upload cross-signing public keys, answering a password UIA challenge if posed."""
    status, payload = await _request(client, "POST", "/keys/device_signing/upload", keys)
    if status == 200:
        return
    if status != 401 or "session" not in payload:
        raise _error("keys/device_signing/upload", status, payload)
    flows = payload.get("flows") or []
    if not any(flow.get("stages") == ["m.login.password"] for flow in flows):
        raise CrossSigningError(
            "keys/device_signing/upload needs an auth flow other than the password: "
            + ", ".join("+".join(flow.get("stages", [])) for flow in flows)
        )
    body = dict(keys)
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": client.user_id},
        "password": password,
        "session": payload["session"],
    }
    status, payload = await _request(client, "POST", "/keys/device_signing/upload", body)
    if status != 200:
        raise _error("keys/device_signing/upload (with password)", status, payload)


async def upload_signatures(client: AsyncClient, signatures: JsonDict) -> None:
    """``POST /keys/signatures/upload``; raises if the server reports any failure."""
    status, payload = await _request(client, "POST", "/keys/signatures/upload", signatures)
    if status != 200:
        raise _error("keys/signatures/upload", status, payload)
    failures = payload.get("failures") or {}
    if failures:
        raise CrossSigningError(f"keys/signatures/upload reported failures: {failures}")


# --------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------


def _server_has_keys(query: JsonDict, user_id: str, seeds: CrossSigningSeeds) -> bool:
    master = query.get("master_keys", {}).get(user_id)
    self_signing = query.get("self_signing_keys", {}).get(user_id)
    user_signing = query.get("user_signing_keys", {}).get(user_id)
    return (
        key_object_public(master) == seeds.master_public
        and key_object_public(self_signing) == seeds.self_signing_public
        and key_object_public(user_signing) == seeds.user_signing_public
        and self_signing is not None
        and verify_signature(
            self_signing, user_id, ed25519_key_id(seeds.master_public), seeds.master_public
        )
    )


async def _own_device_object(client: AsyncClient) -> tuple[JsonDict, JsonDict]:
    """The bot's own device key object as the server holds it, plus the whole query.

    Uploads the device keys first if nio has not done so yet. Checks that the
    server's object carries this olm account's ed25519 key and a valid
    self-signature, so we never sign a key that isn't ours.
    """
    user_id, device_id = client.user_id, client.device_id
    if client.olm is None:
        raise CrossSigningError("client has no olm account loaded (encryption disabled?)")
    our_ed25519 = client.olm.account.identity_keys["ed25519"]

    query = await query_keys(client, user_id)
    device = query.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None and client.should_upload_keys:
        await client.keys_upload()
        query = await query_keys(client, user_id)
        device = query.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None:
        raise CrossSigningError(f"the server has no device keys for {user_id} {device_id}")

    device_key_id = f"ed25519:{device_id}"
    if device.get("keys", {}).get(device_key_id) != our_ed25519:
        raise CrossSigningError("the server's device key differs from this olm account's key")
    if not verify_signature(device, user_id, device_key_id, our_ed25519):
        raise CrossSigningError("the server's device key object is not self-signed by it")
    return device, query


async def bootstrap_cross_signing(
    client: AsyncClient, password: str, existing: CrossSigningSeeds | None = None
) -> CrossSigningSeeds:
    """Make sure the account has cross-signing keys and this device is signed.

    ``client`` must be logged in with its olm account loaded. With
    ``existing`` seeds, their public keys are uploaded only if the server
    doesn't already hold exactly them; without, new seeds are generated and
    uploaded (replacing any previous identity, which needs ``password``).
    In both cases the current device ends up signed by the self-signing key
    and the master key signed by the device. Returns the seeds in use, for
    the caller to persist; they are never written or logged here.
    """
    user_id = client.user_id
    device_id = client.device_id
    if not user_id or not device_id:
        raise CrossSigningError("client has no user id / device id")
    seeds = existing or CrossSigningSeeds.generate()

    device, query = await _own_device_object(client)

    if not _server_has_keys(query, user_id, seeds):
        logger.info("uploading cross-signing keys for %s", user_id)
        await upload_cross_signing_keys(client, password, build_cross_signing_keys(user_id, seeds))
        query = await query_keys(client, user_id)
        if key_object_public(query.get("master_keys", {}).get(user_id)) != seeds.master_public:
            raise CrossSigningError("the server did not store the uploaded master key")
        device = query.get("device_keys", {}).get(user_id, {}).get(device_id)
        if device is None:
            raise CrossSigningError(f"the server lost the device keys of {user_id} {device_id}")

    signatures: JsonDict = {}

    ssk_id = ed25519_key_id(seeds.self_signing_public)
    if not verify_signature(device, user_id, ssk_id, seeds.self_signing_public):
        unsigned_device = {k: v for k, v in device.items() if k not in ("signatures", "unsigned")}
        signed = sign_json(unsigned_device, seeds.self_signing_key, user_id, ssk_id)
        signatures[device_id] = signed

    master = query.get("master_keys", {}).get(user_id)
    if master is None:
        raise CrossSigningError(f"the server lists no master key for {user_id}")
    device_key_id = f"ed25519:{device_id}"
    if client.olm is None:
        raise CrossSigningError("client has no olm account loaded (encryption disabled?)")
    our_ed25519 = client.olm.account.identity_keys["ed25519"]
    if not verify_signature(master, user_id, device_key_id, our_ed25519):
        unsigned_master = {k: v for k, v in master.items() if k not in ("signatures", "unsigned")}
        signature = client.olm.account.sign(signable_bytes(unsigned_master).decode("utf-8"))
        unsigned_master["signatures"] = {user_id: {device_key_id: signature}}
        signatures[seeds.master_public] = unsigned_master

    if signatures:
        logger.info("uploading cross-signing signatures for %s %s", user_id, device_id)
        await upload_signatures(client, {user_id: signatures})
    return seeds
