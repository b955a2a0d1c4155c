"""`c2p-bot report`: the programme's figures as one self-contained HTML page (charts as inline SVG)
or as CSV (one row per metric); aggregates only unless --names. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import time_machine

from c2p_bot.cli import main
from tests.support import activity
from tests.support.transcript import Chat


def config_file(chat: Chat, tmp_path: Path) -> Path:
    """A config for the command line on the chat's database."""
    path = tmp_path / "bot.toml"
    url = chat.core.engine.url.render_as_string(hide_password=False)
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def report(chat: Chat, tmp_path: Path, fmt: str, *extra: str) -> tuple[int, str]:
    out = tmp_path / f"report.{fmt}"
    with time_machine.travel(chat.clock.now(), tick=False):  # the command line reads the system clock
        code = main(["report", "--since", "90d", "--format", fmt, "--out", str(out),
                     "--config", str(config_file(chat, tmp_path)), *extra])
    return code, out.read_text(encoding="utf-8") if out.exists() else ""


def metrics(text: str) -> dict[str, str]:
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["metric", "value"]
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1, "one row per metric"
    return {r[0]: r[1] for r in rows[1:]}


async def test_csv_has_one_row_per_metric(chat: Chat, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await activity.history(chat)
    code, text = report(chat, tmp_path, "csv")
    assert code == 0, capsys.readouterr().err
    found = metrics(text)
    assert found["period.days"] == "90"
    assert (found["hrds.active"], found["hrds.protected"]) == ("1", "1")
    assert (found["checkins.total"], found["checkins.on_time"], found["checkins.on_time_rate"]) == ("2", "1", "0.5")
    assert (found["alerts.total"], found["alerts.kind.missed"], found["alerts.kind.panic"]) == ("2", "1", "1")
    assert found["alerts.status.resolved"] == "2"
    assert found["alerts.outcome.false-alarm"] == "1" and found["alerts.false_alarm_rate"] == "1"  # /resolve 2
    assert (found["ack.all.count"], found["ack.all.median_s"], found["ack.all.p90_s"]) == ("2", "450", "600")
    assert found["ack.step.1.partners.median_s"] == "600"  # Paul, alerted at step 1, after 10 minutes
    assert found["ack.step.2.coordinators.median_s"] == "300"  # Cora, alerted at step 2 (panic: all at once)
    assert found["ack.partner_kind.lawyer.median_s"] == "600"
    assert found["drills.count"] == "none recorded" and found["actions.count"] == "none recorded"
    assert not any("Paul" in key or "Amina" in key for key in found), "aggregates only"
    assert "wrote" in capsys.readouterr().out


async def test_names_only_when_asked(chat: Chat, tmp_path: Path) -> None:
    await activity.history(chat)
    _code, text = report(chat, tmp_path, "csv", "--names")
    found = metrics(text)
    assert found["ack.partner.Paul.median_s"] == "600"
    assert found["checkins.hrd.Amina.on_time_rate"] == "0.5"


async def test_html_is_one_self_contained_page_with_charts(chat: Chat, tmp_path: Path) -> None:
    await activity.history(chat)
    code, page = report(chat, tmp_path, "html")
    assert code == 0
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert not re.search(r"<script|<link|<img|<iframe|url\(|@import|src=|https?://", page, re.I), "external assets"
    assert "Amina" not in page and "Paul" not in page
    assert "Drills" in page and "none recorded" in page
    _code, named = report(chat, tmp_path, "html", "--names")
    assert "Paul" in named and "Amina" in named


async def test_a_bad_period_or_format_is_named(chat: Chat, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await activity.history(chat)
    code = main(["report", "--since", "lots", "--out", str(tmp_path / "r.html"),
                 "--config", str(config_file(chat, tmp_path))])
    assert code == 1 and "--since" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--format", "pdf", "--out", str(tmp_path / "r.pdf")])
