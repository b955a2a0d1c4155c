"""``c2p-bot check`` on Matrix, against a real Synapse: the stored login is checked with whoami
(no new device is ever made by a check)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nio import AsyncClient

from c2p_bot.config import parse_config
from c2p_bot.core.crypto import load_or_create_key_file
from c2p_bot.core.keyring import Keyring
from c2p_bot.transports.matrix.session import ACCESS_TOKEN, MatrixSession
from tests.ops.support import cli, keyed_database, write_config
from tests.ops.test_check import lines
from tests.support.postgres import free_port
from tests.support.synapse import synapse  # noqa: F401 - fixture
from tests.synapse.helpers import DEFAULT_PASSWORD
from tests.synapse.homeserver import SynapseServer

pytestmark = pytest.mark.synapse


async def test_the_stored_matrix_login_is_checked_with_whoami(synapse: SynapseServer,  # noqa: F811
                                                              tmp_path: Path) -> None:
    user_id = await asyncio.to_thread(synapse.register_user, f"c2p-{secrets.token_hex(4)}", DEFAULT_PASSWORD)
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    engine = keyed_database(url, tmp_path / "kek")
    matrix = {"homeserver": synapse.base_url, "user_id": user_id, "store_path": str(tmp_path / "store")}
    sections = {"database": {"url": url}, "crypto": {"key_file": str(tmp_path / "kek")}}
    config = write_config(tmp_path / "bot.toml", {**sections, "matrix": matrix})

    code, out, _err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert lines(out)["matrix"] == "FAIL matrix: no stored login and no password (set C2P_MATRIX_PASSWORD)"
    assert code == 1

    write_config(config, {**sections, "matrix": {**matrix, "password": DEFAULT_PASSWORD}})
    code, out, _err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert lines(out)["matrix"] == (f"ok   matrix: not logged in yet; the homeserver offers password login "
                                    f"(the first run logs in as {user_id})")
    assert code == 0

    keyring = Keyring(engine, load_or_create_key_file(tmp_path / "kek", create=False))
    loaded = parse_config({**sections, "matrix": {**matrix, "password": DEFAULT_PASSWORD}}, env={})
    session = MatrixSession(loaded.matrix, keyring, lambda: datetime.now(UTC))  # the bot's own login
    session.prepare_store()
    assert await session.connect(asyncio.Event())
    device = session.device_id
    await session.close()

    code, out, err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert lines(out)["matrix"] == f"ok   matrix: the homeserver accepts the stored login ({user_id}, device {device})"
    assert code == 0
    token = keyring.get_secret(ACCESS_TOKEN)
    assert token and token.decode() not in out + err

    write_config(config, {**sections, "matrix": {**matrix, "homeserver": f"http://127.0.0.1:{free_port()}"}})
    code, out, _err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert lines(out)["matrix"].startswith("FAIL matrix: cannot reach the homeserver (")
    assert code == 1

    write_config(config, {**sections, "matrix": matrix})
    client = AsyncClient(synapse.base_url, user_id)
    client.access_token = token.decode()
    await client.logout()  # the device is removed on the server
    await client.close()
    code, out, _err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert lines(out)["matrix"] == ("FAIL matrix: the homeserver refused the stored login (M_UNKNOWN_TOKEN); "
                                    "the bot would log in again as a new device, but no password is set")
    assert code == 1
    engine.dispose()
