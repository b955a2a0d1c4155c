"""The real command (``python -m c2p_bot run --config …``) on Matrix, killed with SIGKILL and
started again: same device, no new login, and a message sent while it was down is answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nio import AsyncClient, DevicesResponse, LoginResponse

from c2p_bot.config import load_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from tests.support.botprocess import BotProcess
from tests.support.matrix import HumanFactory, local_name
from tests.synapse.helpers import DEFAULT_PASSWORD, client_config
from tests.synapse.homeserver import SynapseServer

pytestmark = pytest.mark.synapse

async def account_devices(client: AsyncClient) -> set[str]:
    response = await client.devices()
    assert isinstance(response, DevicesResponse), response
    return {device.id for device in response.devices}


async def test_sigkill_and_restart_keep_the_device(
    synapse: SynapseServer, make_human: HumanFactory, tmp_path: Path
) -> None:
    bot_id = await asyncio.to_thread(synapse.register_user, local_name("c2pbot"), DEFAULT_PASSWORD)
    config = tmp_path / "bot.toml"
    config.write_text("\n".join([
        "[database]", f'url = "sqlite:///{tmp_path / "c2p.db"}"',
        "[crypto]", f'key_file = "{tmp_path / "kek.key"}"',
        "[matrix]", f'homeserver = "{synapse.base_url}"', f'user_id = "{bot_id}"',
        f'store_path = "{tmp_path / "matrix-store"}"',
        "[logging]", 'level = "DEBUG"',
    ]) + "\n")
    bot = BotProcess(config, tmp_path / "bot.log", env={"C2P_MATRIX_PASSWORD": DEFAULT_PASSWORD})
    # An observer logged in as the bot account, only to list the account's devices.
    observer = AsyncClient(synapse.base_url, bot_id, store_path=str(tmp_path), config=client_config())
    assert isinstance(await observer.login(DEFAULT_PASSWORD, device_name="observer"), LoginResponse)
    try:
        bot.start()
        code = (await bot.wait_for_log(r"/start (\S+)")).group(1)
        await bot.wait_for_log(r"c2p-bot is running")
        cora = await make_human("cora", bot_id)
        await cora.ask(f"/start {code}", r"choose an alias")
        await cora.ask("Cora", r"time zone")
        await cora.ask("UTC", r"all set")
        devices = await account_devices(observer)

        assert bot.running, bot.log_text()
        bot.kill()  # no shutdown at all
        await cora.say("/help")  # written while the bot is down
        bot.start()
        await cora.expect(r"/status|/invite", timeout=60)
        await cora.ask("/invite hrd", r"/start \S+")
        assert await account_devices(observer) == devices, "the restarted bot made a new device"
        assert not cora.undecryptable
        bot.stop()
    finally:
        bot.stop()
        await observer.close()

    log = bot.log.read_text(errors="replace")
    assert log.count("logged in as a new device") == 1
    assert DEFAULT_PASSWORD not in log
    loaded = load_config(config, env={})
    engine = make_engine(loaded.database.url)
    keyring = open_keyring(loaded, engine, SystemClock().now(), env={})
    token = keyring.get_secret("matrix-access-token")
    engine.dispose()
    assert token and token.decode() not in log
    assert code not in log.split(f"/start {code}", 1)[1], "the invite code is logged"
