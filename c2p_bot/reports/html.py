"""The report as one self-contained HTML page: inline CSS, charts as inline SVG, no script, no link,
no image, nothing fetched. Aggregates only unless the report was built with names."""

from __future__ import annotations

from html import escape

from c2p_bot.core.report_data import NONE_RECORDED, NOT_RECORDED, Report, Timing
from c2p_bot.core.timefmt import utc
from c2p_bot.reports.svg import bars, share

KINDS = {"missed": "missed check-in", "panic": "panic", "duress": "duress PIN", "wrong_pin": "repeated wrong PINs"}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:760px;color:#1a202c;
background:#fff;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e2e8f0}
.sub{color:#4a5568;margin-top:0}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .8rem .25rem 0;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.chart{display:block;margin:.8rem 0;font-size:13px}.chart .title{font-weight:600;font-size:14px}
.chart .value{fill:#1a202c}.none{color:#718096;font-style:italic}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #e2e8f0;border-radius:6px;padding:.6rem .9rem;
min-width:140px}.card b{display:block;font-size:1.5rem}
"""


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _card(label: str, value: str) -> str:
    return f'<div class="card"><b>{escape(value)}</b>{escape(label)}</div>'


def _none(text: str = NONE_RECORDED) -> str:
    return f'<p class="none">{escape(text)}</p>'


def _timings(title: str, timings: dict[str, Timing]) -> str:
    if not timings:
        return _none("no acknowledgement recorded")
    chart = bars(title, [(label, (t.median / 60, t.p90 / 60)) for label, t in timings.items()],
                 ("median", "90th percentile"), fmt=lambda v: _minutes(v * 60))
    rows = "".join(f"<tr><td>{escape(label)}</td><td class=n>{t.count}</td><td class=n>{_minutes(t.median)}</td>"
                   f"<td class=n>{_minutes(t.p90)}</td></tr>" for label, t in timings.items())
    return (chart + "<table><tr><th></th><th>acknowledged</th><th>median</th><th>90th percentile</th></tr>"
            + rows + "</table>")


def render(report: Report) -> str:
    """The page."""
    body = [f"<h1>Connect2Protect programme report</h1><p class=sub>{report.days} days, "
            f"{escape(utc(report.since))} to {escape(utc(report.until))}"
            + ("" if report.names else "; aggregates only (no names)") + "</p>",
            '<div class="cards">' + "".join([
                _card("defenders protected (with a partner)", f"{report.hrds_protected} of {report.hrds_active}"),
                _card("partners", str(report.partners_active)),
                _card("check-ins on time", _rate(report.on_time_rate)),
                _card("alerts", str(report.alerts)),
                _card("false-alarm rate", _rate(report.false_alarm_rate) if report.by_outcome else NOT_RECORDED),
            ]) + "</div>"]
    body.append("<h2>Check-in adherence</h2>")
    if report.checkins:
        body.append(share(f"{report.checkins} check-ins", [("on time", report.on_time),
                                                            ("late", report.checkins - report.on_time)]))
        body.append(f"<p>Missed deadlines (alerts for a missed check-in): {report.missed}.</p>")
    else:
        body.append(_none("no check-in in this period"))
    if report.adherence_by_hrd:
        body.append(bars("On-time rate per defender (%)", [(alias, (100 * on / total if total else 0,))
                                                             for alias, (on, total) in report.adherence_by_hrd.items()],
                         fmt=lambda v: f"{v:.0f}%"))
    body.append("<h2>Alerts</h2>")
    if report.alerts:
        body.append(bars("Alerts by kind", [(KINDS.get(k, k), (n,)) for k, n in report.by_kind.items()]))
        body.append(bars("Alerts by state", [({"acked": "acknowledged"}.get(k, k), (n,))
                                             for k, n in report.by_status.items()]))
    else:
        body.append(_none("no alert in this period"))
    body.append("<h3>Outcomes</h3>")
    if report.by_outcome:
        body.append(bars("Alerts by outcome", [(k.replace("-", " "), (n,)) for k, n in report.by_outcome.items()]))
        body.append(f"<p>False-alarm rate: {_rate(report.false_alarm_rate)}.</p>")
    else:
        body.append(_none(f"outcomes {NOT_RECORDED}"))
    body.append("<h2>Time to acknowledge</h2>")
    if report.ack_all is not None:
        body.append(f"<p>From the alert being raised: median {_minutes(report.ack_all.median)}, 90% within "
                    f"{_minutes(report.ack_all.p90)} ({report.ack_all.count} acknowledged). Below: from the moment "
                    "the person who acknowledged was alerted.</p>")
    steps = {"step {}: {}".format(*key.split(" ", 1)): timing for key, timing in report.ack_by_step.items()}
    body += ["<h3>Per escalation step</h3>", _timings("Minutes to acknowledge, per step", steps)]
    if report.names:
        body += ["<h3>Per partner</h3>", _timings("Minutes to acknowledge, per partner", report.ack_by_partner)]
    else:
        body += ["<h3>Per partner kind</h3>", _timings("Minutes to acknowledge, per partner kind", report.ack_by_kind),
                 "<p class=none>Per partner: run the report with --names.</p>"]
    body.append("<h2>Drills</h2>")
    if report.drills is None:
        body.append(_none())
    else:
        timing = report.drill_ack
        body.append(f"<p>{report.drills} drills" + (f"; acknowledged in a median {_minutes(timing.median)}, 90% "
                                                       f"within {_minutes(timing.p90)}" if timing else "") + ".</p>")
    body.append("<h2>Partner actions</h2>")
    if report.actions is None:
        body.append(_none())
    else:
        body.append(bars("Partner actions by kind", [(k.replace("-", " "), (n,)) for k, n in report.actions.items()]))
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><meta name=viewport "
            "content=\"width=device-width,initial-scale=1\"><title>Connect2Protect programme report</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n")
