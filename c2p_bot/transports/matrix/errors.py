"""What can go wrong talking to the homeserver, and how it becomes the core's :class:`DeliveryError`.

A homeserver's *error answer* comes back from nio as an :class:`~nio.ErrorResponse`; the tuples
below are what a call raises instead of answering, so that every handler in this package names
what it expects rather than catching everything.

Permanent: the bot may not post there any more (forbidden, room gone, the person left) — the
core fails over to the person's other identities. Everything else is transient (network,
timeouts, rate limits with ``retry_after``, server errors) and the dispatcher retries.
"""

from __future__ import annotations

import aiohttp
from nio import ErrorResponse
from nio.exceptions import (
    EncryptionError,
    GroupEncryptionError,
    LocalProtocolError,
    OlmTrustError,
    OlmUnverifiedDeviceError,
    ProtocolError,
    SendRetryError,
)

from c2p_bot.core.events import DeliveryError
from c2p_bot.transports.matrix.cross_signing import CrossSigningError

# The network: refused, reset, DNS (OSError), aiohttp's client errors, timeouts.
NETWORK_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, TimeoutError, OSError)
# A request through nio: the network, nio refusing locally (not logged in, unknown room, a key
# request already sent: ProtocolError), an answer nio could not parse (ValueError).
REQUEST_ERRORS: tuple[type[Exception], ...] = (*NETWORK_ERRORS, ProtocolError, ValueError)
# Key upload, query and claim, to-device messages: requests plus olm's own errors.
KEY_ERRORS: tuple[type[Exception], ...] = (*REQUEST_ERRORS, EncryptionError)
# Sending into an encrypted room: requests plus megolm (group session) and device trust.
SEND_ERRORS: tuple[type[Exception], ...] = (*KEY_ERRORS, GroupEncryptionError, OlmTrustError)
# The bot's own key requests (cross-signing, keys/query for device trust): requests plus a
# refused or garbled answer.
TRUST_ERRORS: tuple[type[Exception], ...] = (*REQUEST_ERRORS, CrossSigningError)

PERMANENT_CODES = frozenset({
    "M_FORBIDDEN",
    "M_NOT_FOUND",
    "M_UNKNOWN_ROOM",  # not a spec code, but some servers answer it
    "M_BAD_STATE",
    "M_USER_DEACTIVATED",
})
RATE_LIMITED = "M_LIMIT_EXCEEDED"
DEFAULT_RATE_LIMIT_WAIT = 5.0


def from_response(what: str, response: ErrorResponse) -> DeliveryError:
    """A DeliveryError for an error answer from the homeserver (never includes message text)."""
    code = str(response.status_code or "")
    status = getattr(getattr(response, "transport_response", None), "status", None)
    reason = f"{what}: {code or status or 'error'} {response.message or ''}".strip()[:300]
    if code == RATE_LIMITED or status == 429:
        wait = (response.retry_after_ms or 0) / 1000 or DEFAULT_RATE_LIMIT_WAIT
        return DeliveryError(reason, retry_after=wait)
    if code in PERMANENT_CODES or status in (403, 404):
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason)


def from_exception(what: str, error: BaseException) -> DeliveryError:
    """A (transient) DeliveryError for an exception raised by nio or the HTTP layer."""
    if isinstance(error, OlmUnverifiedDeviceError):
        return DeliveryError(f"{what}: unverified device in the room")
    if isinstance(error, SendRetryError | aiohttp.ClientError | TimeoutError | OSError):
        return DeliveryError(f"{what}: {type(error).__name__} (network)")
    if isinstance(error, LocalProtocolError):
        return DeliveryError(f"{what}: {error}"[:300])
    return DeliveryError(f"{what}: {type(error).__name__}")
