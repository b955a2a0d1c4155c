"""``c2p-bot check``: one line per check, every failing part named in one clear line, exit 0 only
when everything passes, and never a secret in the output."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from tests.ops.support import HEAD, cli, keyed_database, passphrase_database, write_config
from tests.support.postgres import free_port
from tests.support.smtp import PASSWORD as SMTP_PASSWORD
from tests.support.smtp import SmtpServer
from tests.telegram_api.server import FakeBotApi

PASSPHRASE = "correct battery staple horse"  # noqa: S105 - a test passphrase


def lines(out: str) -> dict[str, str]:
    """The check's lines by name: {"database": "ok  database: ..."}."""
    found = {}
    for line in out.strip().splitlines():
        name = line[5:].split(":", 1)[0]
        found[name] = line
    return found


@pytest.fixture
def bot(tmp_path: Path) -> tuple[Path, str]:
    """A config (SQLite, key file) whose database a first run has set up."""
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    key = tmp_path / "kek"
    keyed_database(url, key).dispose()
    config = write_config(tmp_path / "bot.toml", {"database": {"url": url}, "crypto": {"key_file": str(key)}})
    return config, url


def test_everything_passes(bot: tuple[Path, str]) -> None:
    config, _url = bot
    code, out, err = cli("check", "--config", str(config))
    assert code == 0, out + err
    found = lines(out)
    assert found["config"] == f"ok   config: {config}"
    assert found["database"] == f"ok   database: SQLite, schema {HEAD} (current)"
    assert found["key"].startswith("ok   key: the key file") and "opens this database" in found["key"]
    assert found["telegram"] == "--   telegram: not enabled"
    assert found["matrix"] == "--   matrix: not enabled"
    assert list(found) == ["config", "database", "key", "telegram", "matrix", "email", "backup"]


def test_a_bad_config_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", {"checkins": {"grace": "soon"}})
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    assert out.strip().splitlines() == [
        "FAIL config: checkins.grace: invalid duration 'soon': use e.g. \"45s\", \"15m\", \"2h\" or \"1d\""]


def test_an_unreachable_database(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", {"database": {
        "url": f"postgresql://c2p:hunter2-secret@127.0.0.1:{free_port()}/c2p"}})
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    found = lines(out)
    assert found["database"].startswith("FAIL database: cannot open the database (")
    assert found["key"] == "--   key: not checked (no database)"
    assert "hunter2" not in out


def test_a_new_installation_is_ready_and_nothing_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    config = write_config(tmp_path / "bot.toml", {"database": {"url": url},
                                                   "crypto": {"key_file": str(tmp_path / "kek")}})
    code, out, _err = cli("check", "--config", str(config))
    found = lines(out)
    assert found["database"] == (f"ok   database: SQLite, no database yet (the first c2p-bot run creates "
                                 f"{tmp_path / 'new.db'} with schema {HEAD})")
    assert found["key"] == (f"ok   key: no data yet; the first c2p-bot run creates the key file {tmp_path / 'kek'}")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.toml"]  # a check creates nothing


def test_a_database_without_schema_is_upgraded_by_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    make_engine(url).dispose()  # an empty file
    config = write_config(tmp_path / "bot.toml", {"database": {"url": url},
                                                   "crypto": {"key_file": str(tmp_path / "kek")}})
    code, out, _err = cli("check", "--config", str(config))
    assert lines(out)["database"] == f"ok   database: SQLite, no schema yet (c2p-bot migrate or run creates {HEAD})"
    assert code == 0


def test_a_schema_newer_than_this_version(bot: tuple[Path, str]) -> None:
    config, url = bot
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    assert lines(out)["database"] == ("FAIL database: SQLite, schema 0099, which this c2p-bot does not "
                                      f"know (it knows up to {HEAD}): install the version that wrote it")


def test_a_missing_key_file(bot: tuple[Path, str], tmp_path: Path) -> None:
    config, _url = bot
    (tmp_path / "kek").rename(tmp_path / "kek.away")
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    assert lines(out)["key"].startswith(f"FAIL key: Key file {tmp_path / 'kek'} not found.")


def test_a_key_file_others_can_read(bot: tuple[Path, str], tmp_path: Path) -> None:
    config, _url = bot
    os.chmod(tmp_path / "kek", 0o644)
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    key = lines(out)["key"]
    assert key.startswith("FAIL key: ") and str(tmp_path / "kek") in key and "chmod 600" in key


def test_the_wrong_key_file(bot: tuple[Path, str], tmp_path: Path) -> None:
    config, url = bot
    keyed_database(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other.kek").dispose()
    text_ = config.read_text().replace(str(tmp_path / "kek"), str(tmp_path / "other.kek"))
    config.write_text(text_)
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    assert lines(out)["key"] == (f"FAIL key: wrong key file {tmp_path / 'other.kek'}: it does not open "
                                 "this database's data")
    secret = (tmp_path / "other.kek").read_text().strip()
    assert secret.split(":")[1] not in out


@pytest.fixture
def passphrase_bot(tmp_path: Path) -> Path:
    return passphrase_database(tmp_path, PASSPHRASE)


def test_passphrase(passphrase_bot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _err = cli("check", "--config", str(passphrase_bot))
    assert code == 1
    assert lines(out)["key"] == ("FAIL key: this database is protected by a passphrase: set C2P_PASSPHRASE "
                                 "or use --ask-passphrase")
    monkeypatch.setenv("C2P_PASSPHRASE", "not the passphrase")
    code, out, _err = cli("check", "--config", str(passphrase_bot))
    assert code == 1
    assert lines(out)["key"] == "FAIL key: wrong passphrase: it does not open this database's data"
    assert "not the passphrase" not in out
    monkeypatch.setenv("C2P_PASSPHRASE", PASSPHRASE)
    code, out, _err = cli("check", "--config", str(passphrase_bot))
    assert lines(out)["key"] == "ok   key: the passphrase opens this database's data"
    assert code == 0
    assert "C2P_PASSPHRASE" not in os.environ  # taken out of the environment once read


async def test_telegram_token_accepted_refused_and_unreachable(bot: tuple[Path, str]) -> None:
    config, url = bot
    base = config.read_text()
    async with FakeBotApi() as api:
        config.write_text(base + f'[telegram]\ntoken = "{api.token}"\nbase_url = "{api.base_url}"\n')
        code, out, _err = await asyncio.to_thread(cli, "check", "--config", str(config))
        assert lines(out)["telegram"] == "ok   telegram: the Bot API accepts the token (@c2p_test_bot)"
        assert code == 0
        wrong = api.token[:-6] + "XXXXXX"
        config.write_text(base + f'[telegram]\ntoken = "{wrong}"\nbase_url = "{api.base_url}"\n')
        code, out, err = await asyncio.to_thread(cli, "check", "--config", str(config))
        assert code == 1
        assert lines(out)["telegram"] == "FAIL telegram: the token was refused (401)"
        assert wrong.split(":")[1] not in out + err
    config.write_text(base + f'[telegram]\ntoken = "{api.token}"\n'
                             f'base_url = "http://127.0.0.1:{free_port()}/bot"\n')
    code, out, err = await asyncio.to_thread(cli, "check", "--config", str(config))
    assert code == 1
    assert lines(out)["telegram"].startswith("FAIL telegram: cannot reach the Bot API (")
    assert api.token.split(":")[1] not in out + err


def test_the_database_line_names_the_backend(db_url: str, tmp_path: Path) -> None:
    keyed_database(db_url, tmp_path / "kek").dispose()
    config = write_config(tmp_path / "bot.toml", {"database": {"url": db_url},
                                                   "crypto": {"key_file": str(tmp_path / "kek")}})
    code, out, _err = cli("check", "--config", str(config))
    kind = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    assert lines(out)["database"] == f"ok   database: {kind}, schema {HEAD} (current)"
    assert code == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # 127.0.0.1 only
def test_email_login_accepted_refused_and_server_down(bot: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, _url = bot
    base = config.read_text()
    smtp = SmtpServer(auth=True).start()
    try:
        monkeypatch.setenv("C2P_SMTP_PASSWORD", SMTP_PASSWORD)
        config.write_text(base + f'[email]\nhost = "127.0.0.1"\nport = {smtp.port}\nstarttls = false\n'
                                 f'username = "c2p-bot"\nfrom_address = "alerts@c2p.test"\n')
        code, out, err = cli("check", "--config", str(config))
        assert lines(out)["email"] == f"ok   email: the SMTP server 127.0.0.1:{smtp.port} answers and accepts " \
                                      "the login as 'c2p-bot'"
        assert code == 0 and not smtp.received  # nothing is sent
        smtp.refuse_login = True
        monkeypatch.setenv("C2P_SMTP_PASSWORD", SMTP_PASSWORD)
        code, out, err = cli("check", "--config", str(config))
        assert code == 1
        assert lines(out)["email"] == f"FAIL email: 127.0.0.1:{smtp.port} refused the login as 'c2p-bot' (535)"
        assert SMTP_PASSWORD not in out + err
    finally:
        smtp.stop()
    monkeypatch.setenv("C2P_SMTP_PASSWORD", SMTP_PASSWORD)
    code, out, _err = cli("check", "--config", str(config))
    assert code == 1
    assert lines(out)["email"].startswith(f"FAIL email: cannot reach the SMTP server 127.0.0.1:{smtp.port} (")
