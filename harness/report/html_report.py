"""report.html: one self-contained page (inline SVG and CSS, no script, nothing fetched) that a
team can share: verdict and expectations first, then what happened over time, then the anomalies
explained against the fault windows, then everything needed to reproduce the run."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.ledger.journal import FaultRecord
from harness.report.base import fault_effect, register_reporter, second_opinion_line
from harness.results import COUNTS, RunResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px;display:block;overflow-x:auto}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;color:#fff;font-weight:bold}
.pass{background:#2a9d8f} .fail{background:#d62828} .error{background:#e9a100} .inconclusive{background:#7b2cbf}
.ok-yes{color:#2a9d8f;font-weight:bold} .ok-NO{color:#d62828;font-weight:bold} .ok-unknown{color:#e9a100}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:12px} .muted{color:#777}
figure{margin:.5em 0} svg{max-width:100%;height:auto} .warn{color:#9a6700}
"""

ANOMALIES = (
    ("delivery.lost", "Lost: acknowledged, never delivered"),
    ("delivery.duplicated", "Duplicated: delivered more than once"),
    ("delivery.unexpected", "Unexpected: delivered, never sent"),
    ("order.reordered", "Reordered: stored after a later message of the same producer"),
    ("outbox.lost", "Outbox: committed, never delivered"),
    ("dead_letters.poison_missing", "Poison messages missing from the dead-letter queue"),
    ("dead_letters.healthy_dead_lettered", "Healthy messages dead-lettered"),
)
_TIME_COLUMNS = ("sent_ns", "acked_ns", "ts_ns", "delivered_ns", "last_delivered_ns", "committed_ns", "published_ns")


def _e(value: object) -> str:
    return html.escape("-" if value is None else str(value))


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[bool] = ()) -> str:
    head = "".join(f"<th>{_e(h.replace('_', ' '))}</th>" for h in header)  # spaces: long names wrap
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if i < len(numeric) and numeric[i] else ""
            cells.append(cell if isinstance(cell, _Raw) else f"<td{cls}>{_e(_fmt(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


class _Raw(str):
    """A cell already rendered as <td> HTML."""


def _fmt(value: object) -> object:
    return f"{value:.1f}" if isinstance(value, float) else value


def fault_window_of(seconds: float | None, faults: Sequence[FaultRecord]) -> str:
    """Which faults were in force at this time (seconds after load start)."""
    if seconds is None:
        return "-"
    active = [f"{f.action} {f.target}" for f in faults if f.started_s is not None and f.started_s <= seconds
              and (f.healed_s is None or seconds <= f.healed_s)]
    return ", ".join(active) or "none"


def _anomaly_rows(rows: list[dict[str, Any]], load_start_ns: int | None,
                  faults: Sequence[FaultRecord]) -> tuple[list[str], list[list[object]]]:
    columns = list(rows[0].keys())
    out = []
    for row in rows:
        cells: list[object] = []
        when = None
        for column in columns:
            value = row[column]
            if column in _TIME_COLUMNS and isinstance(value, int) and load_start_ns is not None:
                value = round((value - load_start_ns) / 1e9, 3)
                when = value if when is None else when
            cells.append(value)
        cells.append(fault_window_of(when, faults))
        out.append(cells)
    header = [f"{c.removesuffix('_ns')} (s)" if c in _TIME_COLUMNS and load_start_ns is not None else c
              for c in columns] + ["faults in force"]
    return header, out


def render(result: RunResult, out_dir: Path) -> str:
    from harness.report import plots

    m, samples, faults = result.metrics, result.samples, result.faults
    verdict = result.verdict.verdict
    parts = [f"<h1>{_e(result.scenario)} <span class='verdict {verdict}'>{verdict.upper()}</span></h1>",
             f"<p>{_e(result.description)}</p>",
             f"<p class='muted'>run {_e(result.run_id)}, seed {result.seed}, started {_e(result.started)},"
             f" {result.duration_s:g} s</p>"]
    if result.error:
        parts.append(f"<p><b>Run error:</b> {_e(result.error)}</p>")
    parts.append("<h2>Expectations</h2>")
    if result.verdict.expectations:
        rows = []
        for e in result.verdict.expectations:
            ok = {True: "yes", False: "NO", None: "unknown"}[e.ok]
            rows.append([e.name, e.expected, e.actual, _Raw(f"<td class='ok-{ok}'>{ok}</td>")])
        parts.append(_table(["figure", "expected", "actual", "ok"], rows, (False, False, True)))
    else:
        parts.append("<p class='muted'>none</p>")
    second = second_opinion_line(result)
    if second:
        parts.append(f"<p>{_e(second)}</p>")
    counts = COUNTS + ("log_duplicates", "redeliveries", "order_violations", "indeterminate")
    parts.append("<h2>Counts</h2>" + _table(counts, [[m.get(n) for n in counts]], [True] * len(counts)))
    if m.get("ledger_torn_rows") or m.get("ledger_rejected_rows"):   # only when a ledger was damaged
        parts.append(f"<p>Ledger: {_e(m.get('ledger_torn_rows'))} torn last rows (writers killed mid-write, read as"
                     f" never written), {_e(m.get('ledger_rejected_rows'))} rows that do not parse.</p>")
    latency = ("produce_latency_p50_ms", "produce_latency_p99_ms", "e2e_latency_p50_ms", "e2e_latency_p99_ms",
               "max_produce_gap_ms", "max_consume_gap_ms", "max_produce_recovery_ms", "max_consume_recovery_ms")
    parts.append(_table(latency, [[m.get(n) for n in latency]], [True] * len(latency)))

    parts.append("<h2>Over time</h2>")
    rates, series = samples.get("timeseries.rates") or [], samples.get("timeseries.latency") or []
    if rates:
        parts.append(f"<figure>{plots.throughput_svg(rates, faults)}<figcaption>Throughput</figcaption></figure>")
        leadership = samples.get("fault_effects.leadership") or []
        if leadership:
            end = max([float(r["second"]) + 1 for r in rates] + [f.healed_s or 0.0 for f in faults])
            parts.append(f"<figure>{plots.leadership_svg(leadership, faults, end)}<figcaption>Leadership and"
                         " in-sync replicas, as the cluster reported them</figcaption></figure>")
    if series:
        parts.append(f"<figure>{plots.latency_svg(series, faults)}<figcaption>Latency</figcaption></figure>")
    lag = samples.get("lag.lag") or []
    if lag:
        parts.append(f"<figure>{plots.lag_svg(lag, faults)}<figcaption>Consumer lag</figcaption></figure>")
    if not (rates or series):
        parts.append("<p class='muted'>no messages, no plots</p>")

    parts.append("<h2>Faults</h2>")
    if result.advice:
        parts.append("<p>Validation warned of faults that may not bite:</p><ul>"
                     + "".join(f"<li class='warn'>{_e(line)}</li>" for line in result.advice) + "</ul>")
    if faults:
        recovery = {r.get("fault"): r for r in samples.get("recovery.recovery") or []}
        rows = [[f"{f.planned_at:g}s", f.action, f.target, ", ".join(f.resolved) or "-", f.started_s, f.healed_s,
                 fault_effect(result, f.index, f.action),
                 (recovery.get(f.index) or {}).get("produce_ms"), (recovery.get(f.index) or {}).get("consume_ms"),
                 f.error or ""] for f in faults]
        parts.append(_table(["planned", "action", "target", "resolved", "started (s)", "healed (s)",
                             "effect on the cluster", "produce recovery (ms)", "consume recovery (ms)", "error"], rows,
                            (False, False, False, False, True, True, False, True, True)))
        gaps = samples.get("availability.produce_gap") or []
        start = result.load_start_ns
        for gap in gaps:
            if start is not None:
                begin = (gap["start_ns"] - start) / 1e9
                parts.append(f"<p>Longest time without an acknowledgement: {gap['ms']:.0f} ms from"
                             f" {begin:.1f} s (faults in force: {_e(fault_window_of(begin, faults))}).</p>")
    else:
        parts.append("<p class='muted'>no faults</p>")
    transitions = samples.get("breaker.transitions") or []
    if transitions:
        rows = [[t["at_s"], f"consumer-{t['consumer']}", t["old"], t["new"], fault_window_of(t["at_s"], faults)]
                for t in transitions[:200]]
        parts.append("<h3>Circuit breakers</h3>" + _table(["at (s)", "consumer", "from", "to", "faults in force"],
                                                         rows, (True,)))

    parts.append("<h2>Anomalies</h2>")
    start = result.load_start_ns
    shown = False
    for key, title in ANOMALIES:
        found = samples.get(key) or []
        if found:
            header, cells = _anomaly_rows(found, start, faults)
            parts.append(f"<h3>{_e(title)} ({len(found)} shown)</h3>" + _table(header, cells))
            shown = True
    if not shown:
        parts.append("<p class='muted'>none found</p>")

    parts.append("<h2>Reproduce</h2>")
    env = {**result.environment, **{f"version {k}": v for k, v in sorted(result.versions.items())}}
    parts.append(_table(["what", "value"], sorted(env.items())))
    parts.append(f"<p>Run again: <code>aftershock run {_e(out_dir / 'scenario.yaml')} --seed {result.seed}</code></p>")
    scenario = out_dir / "scenario.yaml"
    if scenario.exists():
        parts.append(f"<h3>Scenario as given</h3><pre>{_e(scenario.read_text())}</pre>")
    schedule = json.dumps(result.schedule, indent=1) if result.schedule else ""
    if schedule:
        parts.append(f"<h3>Fault schedule</h3><pre>{_e(schedule)}</pre>")
    page = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(result.scenario)}: {verdict}</title><style>{_CSS}</style></head>"
            f"<body>\n{page}\n</body></html>\n")


@register_reporter
class HtmlReporter:
    name = "html"

    def write(self, result: RunResult, out_dir: Path, console: Console) -> Path:
        path = out_dir / "report.html"
        path.write_text(render(result, out_dir))
        return path
