"""Exceptions raised by the crypto package.

Every error carries a stable ``code`` the caller can translate; the English
message is for operators and never contains key material, PINs or plaintext.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for all errors of this package."""

    code: str = "crypto_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class TamperedError(CryptoError):
    """Ciphertext was altered, moved to another context, or the key is wrong."""

    code = "tampered"


class KeyFormatError(CryptoError):
    """A key given as text (chat paste or file) could not be parsed."""

    code = "bad_key"


class ArmourError(CryptoError):
    """An armoured (text) sealed message could not be parsed."""

    code = "bad_armour"


class KekError(CryptoError):
    """The key-encryption key could not be loaded, created or derived."""

    code = "kek_error"
