"""/pin (HRDs) and /key (partners and coordinators who hold their own key)."""

from __future__ import annotations

from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError, check_public_key, decode_public_key, encode_public_key
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.i18n import N_
from c2p_bot.core.pin_setup import start_pin_setup
from c2p_bot.core.plans import seal_for_reader
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role


@registry.command("pin", roles={Role.HRD}, help=N_("Set or change your check-in PIN and duress PIN."))
def pin_command(ctx: Context, args: str) -> None:
    if args:
        ctx.delete_incoming()
        ctx.reply(ctx._("Send /pin on its own; I will ask for each PIN in turn."))
        return
    start_pin_setup(ctx)


@registry.command("key", roles={Role.PARTNER, Role.COORDINATOR}, usage=N_("[PUBLIC_KEY]"),
                  help=N_("Hold your own key: notes for you are then sealed so only you can open them."))
def key_command(ctx: Context, args: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if not args:
        if person.key_mode == "own" and person.public_key:
            ctx.reply(ctx._("Notes for you are sealed to your own key {key}. Open them with "
                            "c2p-bot decrypt --key FILE.").format(key=encode_public_key(person.public_key)))
        else:
            ctx.reply(ctx._("Notes for you are sealed to a key this server keeps for you. To hold your own key, "
                            "run c2p-bot keygen on your computer and send /key with the public key it prints."))
        return
    try:
        public = decode_public_key(args)
    except CryptoError:
        ctx.reply(ctx._("That is not a public key. It starts with c2p-pk1: — copy the whole line that "
                        "c2p-bot keygen printed."))
        return
    try:
        check_public_key(public)
    except CryptoError:  # a low-order, non-canonical or off-curve point: nobody holds its private key
        ctx.reply(ctx._("That key cannot be used: it is not a key anyone could hold, so notes sealed to it "
                        "could never be opened. Nothing was changed. Run c2p-bot keygen again and send "
                        "/key with the public key it prints."))
        return
    person.public_key, person.wrapped_private_key, person.key_mode = public, None, "own"
    ctx.session.add(person)
    ctx.audit("own_key_registered", f"person:{person.id}")
    seal_for_reader(ctx.session, ctx.core.keyring, person)  # the emergency plans they read, to the new key
    ctx.reply(ctx._("Your key is registered. From now on, notes for you arrive sealed; open them with "
                    "c2p-bot decrypt --key FILE. This server can no longer read them for you."))
