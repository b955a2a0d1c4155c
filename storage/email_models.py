"""The email addresses of partners and coordinators, for alert emails (issue 16; migration 0011).

Kept beside :mod:`storage.models` (which imports it, so the table is registered with every other
one); same conventions: ids never reused, UTC timestamps.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime

NEVER_REUSE_IDS = {"sqlite_autoincrement": True}  # as storage.models.NEVER_REUSE_IDS (migration 0003)


def _ts(nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(UtcDateTime(), nullable=nullable)


class EmailAddress(SQLModel, table=True):
    """A person's email address (c2p_bot.core.email_addresses): personal data like an alias, erased
    by ``/forget``. Alert emails go to it only once ``confirmed`` (the one-time code sent to it came
    back in the chat). The code is kept only as a salted hash, for an hour and a few tries. ``mac``
    (c2p_bot.core.integrity) binds id, person, address and ``confirmed``: an address changed or
    confirmed in the database outside the bot is never written to."""

    __tablename__ = "email_address"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True, ondelete="CASCADE")
    address: str = Field(max_length=254)
    confirmed: bool = Field(default=False)
    code_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    code_expires_at: datetime | None = Field(default=None, sa_column=_ts())
    code_tries: int = Field(default=0)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts())
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
