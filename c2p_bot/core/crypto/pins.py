"""Check-in and duress PINs: validation, Argon2id hashing, constant-effort match; and the same
hashing for proof-of-life answers (:func:`hash_answer`).

PINs are normalised first: surrounding whitespace is dropped and any Unicode
decimal digit (Arabic-Indic, Persian, Devanagari, full-width...) becomes its
ASCII digit, so a PIN typed on another keyboard layout still matches.
Hashing is slow by design: call these off the event loop.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Literal

from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.pwhash import argon2id

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12

PinProblem = Literal["too_short", "too_long", "not_digits"]
PinMatch = Literal["checkin", "duress", "wrong"]


@dataclass(frozen=True)
class PinHashParams:
    """Argon2id cost for new PIN hashes (verification reads it from the hash)."""

    opslimit: int
    memlimit: int


DEFAULT_PIN_PARAMS = PinHashParams(opslimit=3, memlimit=128 * 1024 * 1024)
INTERACTIVE_PIN_PARAMS = PinHashParams(
    opslimit=argon2id.OPSLIMIT_INTERACTIVE, memlimit=argon2id.MEMLIMIT_INTERACTIVE
)


def normalize_pin(pin: str) -> str:
    """Strip whitespace and map Unicode decimal digits to ASCII."""
    chars = []
    for ch in pin.strip():
        digit = unicodedata.decimal(ch, None)
        chars.append(str(digit) if digit is not None else ch)
    return "".join(chars)


def validate_pin(pin: str) -> PinProblem | None:
    """Return ``None`` if acceptable, else an error code for the caller to translate."""
    norm = normalize_pin(pin)
    if not norm:
        return "too_short"
    if not (norm.isascii() and norm.isdigit()):
        return "not_digits"
    if len(norm) < MIN_PIN_LENGTH:
        return "too_short"
    if len(norm) > MAX_PIN_LENGTH:
        return "too_long"
    return None


def hash_pin(pin: str, params: PinHashParams = DEFAULT_PIN_PARAMS) -> bytes:
    """Hash a valid PIN (Argon2id, encoded string); ValueError(code) if invalid."""
    problem = validate_pin(pin)
    if problem is not None:
        raise ValueError(problem)
    hashed: bytes = argon2id.str(
        normalize_pin(pin).encode("ascii"), opslimit=params.opslimit, memlimit=params.memlimit
    )
    return hashed


def verify_pin(hashed: bytes, pin: str) -> bool:
    """True if ``pin`` matches ``hashed``; never raises."""
    try:
        return bool(argon2id.verify(hashed, normalize_pin(pin).encode("utf-8")))
    except (NaclCryptoError, ValueError, TypeError):
        return False


def normalize_answer(answer: str) -> str:
    """A proof-of-life answer as it is hashed: case, accents, punctuation and spacing do not
    matter, and digits typed in any script count as ASCII digits ("Blue  Door!" = "blue door")."""
    chars = []
    for ch in unicodedata.normalize("NFKD", answer.casefold()):
        if unicodedata.combining(ch):
            continue
        digit = unicodedata.decimal(ch, None)
        chars.append(str(digit) if digit is not None else ch if ch.isalnum() else " ")
    return " ".join("".join(chars).split())


def hash_answer(answer: str, params: PinHashParams = DEFAULT_PIN_PARAMS) -> bytes:
    """Argon2id hash of a normalised proof-of-life answer (the PINs' hashing, for free text);
    ValueError when nothing is left of it once normalised."""
    normal = normalize_answer(answer)
    if not normal:
        raise ValueError("empty")
    hashed: bytes = argon2id.str(normal.encode("utf-8"), opslimit=params.opslimit, memlimit=params.memlimit)
    return hashed


def verify_answer(hashed: bytes, answer: str) -> bool:
    """True if ``answer`` matches ``hashed`` once both are normalised; never raises."""
    normal = normalize_answer(answer)
    if not normal:
        return False
    try:
        return bool(argon2id.verify(hashed, normal.encode("utf-8")))
    except (NaclCryptoError, ValueError, TypeError):
        return False


def match_pin(pin: str, checkin_hash: bytes, duress_hash: bytes | None) -> PinMatch:
    """Classify a typed PIN. Always runs two verifications (the check-in hash
    is checked twice when no duress PIN is set) so timing does not reveal
    which PIN was typed. If both match, ``"duress"`` wins: setup must reject
    a duress PIN equal to the check-in PIN (``verify_pin(checkin_hash, duress)``).
    """
    is_checkin = verify_pin(checkin_hash, pin)
    if duress_hash is None:
        verify_pin(checkin_hash, pin)
        is_duress = False
    else:
        is_duress = verify_pin(duress_hash, pin)
    if is_duress:
        return "duress"
    return "checkin" if is_checkin else "wrong"


_VERIFIERS_MAGIC = b"c2p-pins1\n"
MAX_DURESS_VERIFIERS = 3  # the HRD's own duress PIN and the latest ones a coercer chose


@dataclass(frozen=True)
class PinVerifiers:
    """Everything that checks a person's PINs, kept as one value (sealed as a whole, so the
    database shows neither how many PINs there are nor which verifier is the duress one).

    ``duress`` usually holds the HRD's duress PIN; PINs a coercer chose at ``/pin`` after
    typing the duress PIN join it (they look like working PINs and raise the alarm).
    """

    checkin: bytes
    duress: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        body = {"c": self.checkin.decode("ascii"), "d": [h.decode("ascii") for h in self.duress]}
        return _VERIFIERS_MAGIC + json.dumps(body, separators=(",", ":")).encode("ascii")

    @classmethod
    def decode(cls, blob: bytes) -> PinVerifiers:
        """The value :meth:`encode` made, or a bare argon2id hash (rows from before)."""
        if not blob.startswith(_VERIFIERS_MAGIC):
            return cls(blob)
        body = json.loads(blob[len(_VERIFIERS_MAGIC):])
        return cls(str(body["c"]).encode("ascii"), tuple(str(h).encode("ascii") for h in body["d"]))

    def with_duress(self, *extra: bytes) -> PinVerifiers:
        """Add duress verifiers, keeping the first (the HRD's own) and the newest."""
        duress = self.duress + extra
        if len(duress) > MAX_DURESS_VERIFIERS:
            duress = duress[:1] + duress[len(duress) - MAX_DURESS_VERIFIERS + 1:]
        return PinVerifiers(self.checkin, duress)

    def match(self, pin: str) -> PinMatch:
        """Classify a typed PIN, running every verifier (at least two) whatever matches, so the
        time taken does not depend on which PIN was typed. A duress match wins."""
        is_checkin = verify_pin(self.checkin, pin)
        is_duress = False
        for hashed in self.duress or (self.checkin,):
            matched = verify_pin(hashed, pin)  # always run: constant effort
            is_duress = is_duress or (matched and bool(self.duress))
        if is_duress:
            return "duress"
        return "checkin" if is_checkin else "wrong"
