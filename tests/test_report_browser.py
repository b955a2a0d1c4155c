"""The HTML report in a real headless browser (Chromium from the Debian packages, installed by .ci/test): the
page renders with its charts. The screenshot is kept in test-artifacts/report.png (git-ignored).

Without Chromium the test is skipped on a laptop and fails under CI (tests/support/ci.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import time_machine

from c2p_bot.cli import main
from c2p_bot.reports.svg import COLOURS
from tests.support import activity
from tests.support.ci import need_server
from tests.support.png import colours
from tests.support.transcript import Chat
from tests.test_report_cli import config_file

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        need_server("Chromium is not installed (.ci/test installs Debian's chromium package)")
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", "--window-size=900,1800",
               *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page is the same on either database
async def test_the_report_renders_with_its_charts_in_chromium(chat: Chat, tmp_path: Path) -> None:
    await activity.history(chat)
    page = tmp_path / "report.html"
    with time_machine.travel(chat.clock.now(), tick=False):
        assert main(["report", "--format", "html", "--names", "--out", str(page),
                     "--config", str(config_file(chat, tmp_path))]) == 0

    dom = browse(page, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert "Connect2Protect programme report" in rendered
    assert len(re.findall(r"<svg\b", rendered)) >= 4, "charts missing after rendering"
    assert len(re.findall(r"<rect\b", rendered)) >= 8, "bars missing after rendering"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = browse(page, tmp_path / "profile", f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    inked, counts = colours(shot.read_bytes())
    assert inked > 0.02, f"the screenshot is nearly blank ({inked:.1%} of pixels not white)"
    bar_colours = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in COLOURS[:3]}
    drawn = {c for c in bar_colours if counts.get(c, 0) > 50}
    assert len(drawn) >= 2, f"the chart colours are not on the screenshot ({sorted(drawn)})"
