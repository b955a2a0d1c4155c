"""contrib/systemd/c2p-bot.service: ``systemd-analyze verify`` accepts it without a single
warning, and it keeps the sandboxing and watchdog the deploy guide relies on.

The test command (.ci/test) installs Debian's systemd when ``systemd-analyze`` is missing; under
CI a machine that still lacks it fails this test (tests/support/ci.py), elsewhere it skips."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.support.ci import need_server

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "contrib" / "systemd" / "c2p-bot.service"


def _settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        need_server("systemd-analyze is missing (the test command installs Debian's systemd as root)")
    # verify also checks that ExecStart's program exists: the same unit, with the program
    # replaced by a stand-in of ours (its path is checked below).
    program = _settings()["ExecStart"][0].split()[0]
    stand_in = tmp_path / "c2p-bot"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copy = tmp_path / "c2p-bot.service"
    copy.write_text(UNIT.read_text().replace(program, str(stand_in)))
    result = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True,
                            timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    # Unknown keys and unparsable values are only warnings to systemd: none is accepted here.
    assert output == "", output


def test_the_unit_is_sandboxed_and_watched() -> None:
    unit = _settings()
    assert unit["Type"] == ["notify"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["WatchdogSec"] and unit["NotifyAccess"] == ["main"]
    assert unit["User"] == ["c2p-bot"] and unit["Group"] == ["c2p-bot"]
    assert unit["ProtectSystem"] == ["strict"]
    for flag in ("PrivateTmp", "NoNewPrivileges", "ProtectHome", "PrivateDevices"):
        assert unit[flag] == ["yes"], flag
    assert unit["ReadWritePaths"] == ["/var/lib/c2p-bot"]
    assert unit["StateDirectory"] == ["c2p-bot"] and unit["StateDirectoryMode"] == ["0700"]
    credentials = dict(value.split(":", 1) for value in unit["LoadCredential"])
    assert set(credentials) == {"kek", "telegram-token"}, credentials
    assert all(path.startswith("/etc/c2p-bot/") for path in credentials.values())
    program, *arguments = unit["ExecStart"][0].split()
    assert program == "/opt/c2p-bot/venv/bin/c2p-bot"
    assert arguments == ["run", "--config", "/etc/c2p-bot/config.toml"]
    # No secret in the unit or its environment: tokens and keys come through LoadCredential.
    assert not re.search(r"C2P_(TELEGRAM_TOKEN|PASSPHRASE|MATRIX_PASSWORD)\s*=", UNIT.read_text())
