"""``c2p-bot rotate-key``: re-wrap everything kept under the key-encryption key, in one transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from c2p_bot.core.crypto import KdfParams, Kek, rewrap
from c2p_bot.core.keyring import KDF_PARAMS, VERIFIER
from c2p_bot.core.notes import person_context
from storage.models import OutboxMessage, Person, Secret


def rotate(engine: Engine, old: Kek, new: Kek, now: datetime, kdf: KdfParams | None) -> dict[str, int]:
    """Re-wrap private keys, PIN hashes, vault secrets and queued message bodies under ``new``."""
    counts = {"keys": 0, "pins": 0, "secrets": 0, "queued": 0}
    with Session(engine) as session:
        for person in session.exec(select(Person)).all():
            assert person.id is not None
            if person.wrapped_private_key:
                person.wrapped_private_key = rewrap(old, new, person.wrapped_private_key, person_context(person.id))
                counts["keys"] += 1
            for attr, which in (("pin_hash", "checkin"), ("duress_hash", "duress")):
                blob = getattr(person, attr)
                if blob:
                    context = f"pin:{which}:{person.id}".encode()
                    setattr(person, attr, new.wrap(old.unwrap(blob, context), context))
                    counts["pins"] += 1
            session.add(person)
        for secret in session.exec(select(Secret)).all():
            if secret.name in (VERIFIER, KDF_PARAMS):
                continue
            context = b"vault:" + secret.name.encode()
            secret.blob, secret.updated_at = new.wrap(old.unwrap(secret.blob, context), context), now
            session.add(secret)
            counts["secrets"] += 1
        for row in session.exec(select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None))).all():
            if row.body:
                context = b"outbox:" + row.idempotency_key.encode()
                row.body = new.wrap(old.unwrap(row.body, context), context)
                session.add(row)
                counts["queued"] += 1
        verifier = session.get(Secret, VERIFIER)
        assert verifier is not None
        verifier.blob, verifier.updated_at = new.make_verifier(), now
        session.add(verifier)
        stored = session.get(Secret, KDF_PARAMS)
        if kdf is not None:
            stored = stored or Secret(name=KDF_PARAMS, blob=b"", updated_at=now)
            stored.blob, stored.updated_at = json.dumps(kdf.to_dict()).encode(), now
            session.add(stored)
        elif stored is not None:
            session.delete(stored)
        session.commit()
    return counts
