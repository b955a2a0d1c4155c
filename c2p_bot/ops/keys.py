"""``c2p-bot keygen`` and ``c2p-bot decrypt``: a person's (or the backups') own key pair."""

from __future__ import annotations

import re
import sys

from c2p_bot.core.crypto import (
    CryptoError,
    encode_public_key,
    generate_keypair,
    open_sealed,
    read_private_key,
    write_private_key,
)
from c2p_bot.core.crypto.armour import parse_armour
from c2p_bot.core.notes import key_mark
from c2p_bot.ops import OpsError


def keygen(out: str) -> int:
    """Make a key pair: the private key in ``out`` (0600), the public key printed last."""
    pair = generate_keypair()
    try:
        write_private_key(out, pair)
    except (CryptoError, OSError) as error:
        raise OpsError(f"cannot write {out}: {error}") from None
    print(f"Private key written to {out} (mode 0600). Keep it safe and private; without it your")
    print("sealed notes cannot be opened. Send the bot this line to register your public key:")
    print(f"/key {encode_public_key(pair.public)}")
    return 0


def decrypt(key_file: str, source: str | None) -> int:
    """Open a sealed message for the key in ``key_file``; first check it is that reader's, and
    print what it is (note, reader, kind, time, alert) above the plaintext."""
    try:
        pair = read_private_key(key_file)
        text = sys.stdin.read() if source is None else open(source, encoding="utf-8").read()  # noqa: SIM115
        found = parse_armour(text)
    except OSError as error:
        raise OpsError(f"cannot read {error.filename}: {error.strerror}") from None
    except CryptoError as error:
        raise OpsError(f"cannot open the message: {error}") from None
    context = found.context.decode("utf-8", "replace")
    ids = re.fullmatch(r"note:(\d+):reader:(\d+)", context)
    what = f"note #{ids.group(1)} for reader #{ids.group(2)}" if ids else f"message {context!r}"
    mark = found.headers.get("reader-key")
    if mark is not None and mark != key_mark(pair.public):
        raise OpsError(f"this {what} is sealed to that reader's key {mark}, not the key in {key_file} "
                       f"({key_mark(pair.public)}): use that reader's key file")
    try:
        plaintext = open_sealed(found.blob, pair.private, found.context).decode("utf-8")
    except CryptoError:
        raise OpsError(f"cannot open this {what} with the key in {key_file}: it is not that reader's "
                       "key, or the text was altered") from None
    details = [what]
    if found.headers.get("kind"):
        details.append(f"{found.headers['kind']} note" if ids else found.headers["kind"])
    written = found.headers.get("written", "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z", written):
        details.append(f"written {written[:10]} {written[11:16]} UTC")
    if found.headers.get("alert"):
        details.append(f"alert #{found.headers['alert']}")
    print("Sealed " + ", ".join(details) + ":")
    print(plaintext)
    return 0
