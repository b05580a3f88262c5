"""Checker throughput and memory: every registered checker (`check_history`) over synthetic ledgers
of two sizes ten times apart, in a fresh child process each time; the answers are compared with
the anomalies injected, so a fast but wrong checker fails the benchmark. Times are the median of
a few repeats: single runs of a second or two vary by a third on a shared 2-core machine."""

from __future__ import annotations

import shutil
import statistics
import time

from harness.bench.base import BenchContext, BenchmarkFailed, Figure, Goal, register
from harness.bench.ledgers import Expected, LedgerSpec, generate
from harness.bench.measure import measure_in_child
from harness.check import Finding, check_history, merged_metrics

MB = 1_000_000


@register
class CheckerBenchmark:
    name = "checker"
    summary = "every checker over synthetic ledgers (a record = one CSV row of sends or deliveries)"
    seed = 9
    sizes = (1_000_000, 10_000_000)
    smoke_sizes = (20_000, 200_000)
    repeats = 3
    goals = (
        Goal("records_per_s_10m", min=2_000_000),
        Goal("peak_rss_mb_10m", max=1500),
        Goal("time_ratio_10m_1m", max=12),      # linear growth, with 20% slack, for 10x the records
    )

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        small, large = self.smoke_sizes if ctx.smoke else self.sizes
        repeats = 1 if ctx.smoke else self.repeats
        figures = self._measure(small, repeats, ctx) | self._measure(large, repeats, ctx)
        ratio = f"{size_label(large)}_{size_label(small)}"
        figures[f"time_ratio_{ratio}"] = round(figures[f"check_s_{size_label(large)}"]
                                               / figures[f"check_s_{size_label(small)}"], 2)
        return figures

    def _measure(self, records: int, repeats: int, ctx: BenchContext) -> dict[str, Figure]:
        size = size_label(records)
        ledger_dir = ctx.workdir / f"ledger-{size}"
        started = time.perf_counter()
        expected = generate(LedgerSpec.scaled(records, self.seed), ledger_dir)
        generate_s = time.perf_counter() - started
        ctx.log(f"checker: {records:,} records generated in {generate_s:.1f} s, checking {repeats}x")
        try:
            runs = [measure_in_child(check_history, ledger_dir, expected.load_window_ns) for _ in range(repeats)]
        finally:
            shutil.rmtree(ledger_dir, ignore_errors=True)
        for run in runs:
            _verify(run.value, expected)
        seconds = statistics.median(run.seconds for run in runs)
        return {
            f"records_{size}": records,
            f"messages_{size}": expected.messages,
            f"generate_s_{size}": round(generate_s, 3),
            f"check_s_{size}": round(seconds, 3),
            f"check_spread_{size}": round(max(r.seconds for r in runs) / min(r.seconds for r in runs), 2),
            f"check_cpu_s_{size}": round(statistics.median(run.cpu_seconds for run in runs), 3),
            f"records_per_s_{size}": round(records / seconds),
            f"peak_rss_mb_{size}": round(max(run.peak_rss_bytes for run in runs) / MB),
            f"baseline_rss_mb_{size}": round(max(run.baseline_rss_bytes for run in runs) / MB),
            # found exactly as injected (checked above)
            f"lost_{size}": expected.metrics["lost"],
            f"duplicated_{size}": expected.metrics["duplicated"],
            f"order_violations_{size}": expected.metrics["order_violations"],
        }


def _verify(findings: list[Finding], expected: Expected) -> None:
    """A checker that raised or miscounted makes the timing meaningless."""
    errors = {f.checker: f.error for f in findings if f.error}
    wrong = expected.mismatches(merged_metrics(findings))
    if errors or wrong:
        raise BenchmarkFailed(f"{expected.records:,} records: checkers raised {errors}, "
                              f"wrong figures (reported, injected) {wrong}")


def size_label(records: int) -> str:
    """20_000 -> '20k', 10_000_000 -> '10m': the suffix of each figure's name."""
    for unit, suffix in ((1_000_000, "m"), (1_000, "k")):
        if records % unit == 0:
            return f"{records // unit}{suffix}"
    return str(records)
