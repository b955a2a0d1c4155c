"""Alert kinds in words, for every list that names them (/alerts, /status, /overview, /report)."""

from __future__ import annotations

from c2p_bot.core.i18n import N_, Translate

ALERT_KINDS = {
    "missed": N_("missed check-in"),
    "panic": N_("panic"),
    "duress": N_("duress PIN"),
    "wrong_pin": N_("wrong PINs"),
    "session": N_("missed session"),
    "detention": N_("detention"),
    "proof": N_("failed proof of life"),
    "drill": N_("drill"),
}


def kind_name(_: Translate, kind: str) -> str:
    """An alert kind in the reader's words (an unknown kind shows without underscores)."""
    return _(ALERT_KINDS[kind]) if kind in ALERT_KINDS else kind.replace("_", " ")
