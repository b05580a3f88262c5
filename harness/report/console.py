"""The end-of-run summary on the console: counts, latency, faults, expectations, verdict."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.report.base import fault_effect, register_reporter, second_opinion_line
from harness.results import COUNTS, RunResult

_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold yellow", "inconclusive": "bold magenta"}
_LATENCY = ("produce_latency_p50_ms", "produce_latency_p99_ms", "e2e_latency_p50_ms", "e2e_latency_p99_ms",
            "max_produce_gap_ms", "max_consume_gap_ms")
TIMELINE_ROWS = 30


@register_reporter
class ConsoleReporter:
    name = "console"

    def write(self, result: RunResult, out_dir: Path, console: Console) -> None:
        m = result.metrics
        counts = Table(title=f"{escape(result.scenario)}: delivery", show_header=True)
        for name in COUNTS + ("log_duplicates", "redeliveries", "order_violations"):
            counts.add_column(name.replace("_", " "), justify="right")
        counts.add_row(*(_fmt(m.get(n)) for n in COUNTS + ("log_duplicates", "redeliveries", "order_violations")))
        console.print(counts)
        if m.get("ledger_torn_rows") or m.get("ledger_rejected_rows"):   # only when a ledger was damaged
            console.print(f"ledger: {_fmt(m.get('ledger_torn_rows'))} torn last rows (writers killed mid-write, read"
                          f" as never written), {_fmt(m.get('ledger_rejected_rows'))} rows that do not parse")
        timing = Table(title="latency and availability (ms)")
        for name in _LATENCY:
            timing.add_column(name.removesuffix("_ms").replace("_", " "), justify="right")
        timing.add_row(*(_fmt(m.get(n)) for n in _LATENCY))
        console.print(timing)
        if result.faults:
            faults = Table(title="faults")
            for col in ("at", "action", "target", "resolved", "started", "healed", "effect", "error"):
                faults.add_column(col)
            for f in result.faults:
                faults.add_row(f"{f.planned_at:g}s", escape(f.action), escape(f.target),
                               escape(", ".join(f.resolved) or "-"), _secs(f.started_s), _secs(f.healed_s),
                               escape(fault_effect(result, f.index, f.action)), escape(f.error or ""))
            console.print(faults)
        timeline = timeline_rows(result)
        if timeline:
            table = Table(title="timeline: faults and circuit breakers (s after load start)")
            for col in ("at", "what"):
                table.add_column(col)
            shown = timeline[:TIMELINE_ROWS]
            for at, what in shown:
                table.add_row(f"{at:.1f}s", what)  # markup: timeline_rows escapes what it quotes
            if len(timeline) > len(shown):
                table.add_row("...", f"{len(timeline) - len(shown)} more in results.json (samples)")
            console.print(table)
        if result.verdict.expectations:
            exp = Table(title="expectations")
            for col in ("figure", "expected", "actual", "ok"):
                exp.add_column(col)
            for e in result.verdict.expectations:
                ok = {True: "[green]yes[/]", False: "[red]NO[/]", None: "[yellow]unknown[/]"}[e.ok]
                exp.add_row(escape(e.name), escape(e.expected), _fmt(e.actual), ok)
            console.print(exp)
        second = second_opinion_line(result)
        if second:
            console.print(escape(second))
        for name, error in result.checker_errors.items():
            console.print(f"[yellow]checker {escape(name)} failed: {escape(str(error))}[/]")
        if result.error:
            console.print(f"[bold yellow]run error:[/] {escape(result.error)}")
        verdict = result.verdict.verdict
        console.print(f"verdict: [{_STYLE.get(verdict, 'bold')}]{escape(verdict.upper())}[/]"
                      f"   report: {escape(str(out_dir / 'report.html'))}"
                      f"  (data: {escape(str(out_dir / 'results.json'))})")


def timeline_rows(result: RunResult) -> list[tuple[float, str]]:
    """Breaker transitions beside the faults that caused them; empty without a breaker."""
    transitions = result.samples.get("breaker.transitions") or []
    if not transitions:
        return []
    rows = [(t["at_s"], escape(f"consumer-{t['consumer']} breaker {t['old']} -> {t['new']}")) for t in transitions]
    for f in result.faults:
        if f.started_s is not None:
            rows.append((f.started_s, f"[bold]fault {escape(f.action)} {escape(f.target)}[/]"))
        if f.healed_s is not None:
            rows.append((f.healed_s, f"[bold]healed {escape(f.action)} {escape(f.target)}[/]"))
    return sorted(rows, key=lambda row: row[0])


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"
