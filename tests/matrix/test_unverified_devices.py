"""With ``require_verified_devices``, a registered person's commands from an unverified device are
refused kindly and nothing is done; a new device on an HRD's account is reported to coordinators
(issue 13)."""

from __future__ import annotations

from nio import AsyncClient, LoginResponse
from sqlmodel import Session, select

from c2p_bot.transports.matrix.cross_signing import bootstrap_cross_signing
from storage.models import AuditEntry, Invite
from tests.support.matrix import BotFactory, HumanFactory, onboard_coordinator, onboard_hrd
from tests.synapse.helpers import DEFAULT_PASSWORD, client_config


def invites(bot) -> int:  # type: ignore[no-untyped-def]
    with Session(bot.engine) as session:
        return len(session.exec(select(Invite)).all())


async def test_commands_from_an_unverified_device_are_refused(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(require_verified_devices=True)
    ada = await make_human("ada", bot)
    await onboard_coordinator(bot, ada, "Ada")  # onboarding goes through: she is not registered yet
    before = invites(bot)
    await ada.ask("/invite hrd", r"not verified.*did not act|did not act.*not verified")
    assert invites(bot) == before  # nothing was done
    with Session(bot.engine) as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.action == "matrix_unverified_device")).all()
    assert len(refused) == 1 and str(ada.client.device_id) in (refused[0].detail or "")

    # She cross-signs her device with her own identity: her commands work again.
    await bootstrap_cross_signing(ada.client, DEFAULT_PASSWORD)
    await ada.ask("/invite hrd", r"/start \S+", timeout=30)
    assert invites(bot) == before + 1


async def test_new_device_of_an_hrd_is_reported_to_coordinators(
    make_bot: BotFactory, make_human: HumanFactory, tmp_path: object
) -> None:
    bot = await make_bot()
    cora = await make_human("cora", bot)
    await onboard_coordinator(bot, cora, "Cora")
    amina = await make_human("amina", bot)
    await onboard_hrd(bot, amina, cora, "Amina")
    await amina.ask("/help", r".")  # the bot has seen her devices by now
    cora.skip()

    second = AsyncClient(bot.synapse.base_url, amina.user_id, store_path=str(tmp_path), config=client_config())
    try:
        assert isinstance(await second.login(DEFAULT_PASSWORD, device_name="unknown phone"), LoginResponse)
        await second.keys_upload()
        notice = await cora.expect(r"Security notice: the Matrix account .* has a new device", timeout=30)
        assert amina.user_id in notice.body and str(second.device_id) in notice.body
    finally:
        await second.close()
