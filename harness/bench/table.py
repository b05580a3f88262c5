"""The console summary: one table per benchmark, its figures beside their goals."""

from __future__ import annotations

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from harness.bench.base import number
from harness.bench.suite import BenchResult

_MET = {True: "[green]met[/]", False: "[bold red]missed[/]", None: "[yellow]not judged[/]"}


def print_results(results: list[BenchResult], console: Console, smoke: bool) -> None:
    for result in results:
        goals = {judged.goal.metric: judged for judged in result.goals}
        console.print(Text.assemble((result.name, "bold"), f": {result.summary}"))
        table = Table()
        columns: tuple[tuple[str, JustifyMethod], ...] = (("figure", "left"), ("value", "right"), ("goal", "left"),
                                                           ("", "left"))
        for column, justify in columns:
            table.add_column(column, justify=justify)
        for metric, value in result.figures.items():
            judged = goals.get(metric)
            table.add_row(metric, number(value), *((judged.goal.describe(), _MET[judged.met]) if judged else ()))
        for metric, judged in goals.items():   # goals whose figure was never measured
            if metric not in result.figures:
                table.add_row(metric, "-", judged.goal.describe(), _MET[None])
        console.print(table)
        if result.error:
            console.print(Text.assemble((f"{result.name} failed: ", "bold red"), result.error))
    if smoke:
        console.print("[yellow]smoke run: small sizes, goals not judged[/]")
