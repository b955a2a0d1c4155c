"""The command line as an operator uses it: subprocesses, real files, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from c2p_bot import __version__
from tests.support.cli import run


def test_version(tmp_path: Path) -> None:
    result = run(["--version"], tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"c2p-bot {__version__}"


def test_run_without_config_is_a_console_on_sqlite(tmp_path: Path) -> None:
    result = run(["run"], tmp_path, stdin="/help\n")
    assert result.returncode == 0, result.stderr
    assert "Become the first coordinator" in result.stdout
    assert "/start " in result.stdout
    assert "This is a private service" in result.stdout  # the reply to /help from a stranger
    assert (tmp_path / "c2p.db").exists()


def test_first_coordinator_then_invites_in_the_console(tmp_path: Path) -> None:
    invite = run(["invite", "--role", "coordinator"], tmp_path)
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.strip().splitlines()[-1]
    script = f"/start {code}\nCora\nUTC\n/invite hrd\n/as amina\n/help\n"
    result = run(["run"], tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "all set, Cora" in result.stdout
    assert "Invite for a new human rights defender" in result.stdout
    assert "(now typing as amina)" in result.stdout and "amina> " in result.stdout


def test_console_buttons_are_numbered_choices(tmp_path: Path) -> None:
    code = run(["invite", "--role", "coordinator"], tmp_path).stdout.strip().splitlines()[-1]
    first = run(["run"], tmp_path, stdin=f"/start {code}\nCora\nUTC\n/invite hrd\n")
    hrd_code = first.stdout.split("/start ")[-1].split()[0]
    script = f"/as amina\n/start {hrd_code}\nAmina\nKE\nen\n2\n"
    result = run(["run"], tmp_path, stdin=script)
    assert "[2] lawyer" in result.stdout
    assert "areas of work" in result.stdout  # pressing [2] answered the question


def test_migrate_and_explicit_config(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "other.db"}"\n')
    result = run(["migrate", "--config", str(config)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "other.db").exists()


@pytest.mark.parametrize(("content", "message"), [
    ('[checkins]\ngrace = "soon"\n', "checkins.grace: invalid duration 'soon'"),
    ('[checkins]\ngraze = "1h"\n', "unknown key checkins.graze"),
    ('[database]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n', "database.url: cannot open"),
    ('[database]\nurl = "mysql://x"\n', "database.url: unsupported database"),
])
def test_bad_config_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    result = run(["run", "--config", str(config)], tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = run(["run", "--config", "nope.toml"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "c2p-bot: error: config file not found: nope.toml"


def test_invite_kind_only_for_partners(tmp_path: Path) -> None:
    result = run(["invite", "--role", "hrd", "--kind", "mp"], tmp_path)
    assert result.returncode == 1 and "--kind is only for --role partner" in result.stderr


def test_partner_invited_without_kind_picks_it_when_joining(tmp_path: Path) -> None:
    invite = run(["invite", "--role", "partner"], tmp_path)
    assert invite.returncode == 0, invite.stderr
    assert "choose" in invite.stdout and "mp, lawyer or journalist" in invite.stdout
    code = invite.stdout.strip().splitlines()[-1]
    script = f"/as pia\n/start {code}\nPia\n2\nKE\nen\nland-rights\n2\nUTC\n/profile\n"
    result = run(["run"], tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "[2] lawyer" in result.stdout
    assert "all set, Pia" in result.stdout
    assert "kind: lawyer" in result.stdout
