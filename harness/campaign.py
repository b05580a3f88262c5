"""Several runs of one scenario file (its matrix variants, each repeated), one after another, and
their comparison side by side: console, comparison.json and comparison.html in the output root."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.results import RunResult
from harness.scenario.matrix import Variant

KEY_FIGURES = ("acknowledged", "lost", "duplicated", "unexpected", "produce_latency_p99_ms", "max_produce_gap_ms")


def run_all(variants: list[Variant], out: Path, console: Console,
            source: Path | None) -> list[tuple[Variant, RunResult]]:
    from harness.run import Run

    done = []
    for i, variant in enumerate(variants, 1):
        title = variant.label or variant.scenario.name
        console.rule(f"[bold]run {i}/{len(variants)}: {escape(title)} (seed {variant.scenario.seed})")
        result = Run(variant.scenario, out / variant.slug, console, source=source, variant=variant.label,
                     variant_why=variant.why).execute()
        done.append((variant, result))
        if result.error and result.error.startswith("interrupted"):
            break  # Ctrl-C stops the whole campaign, not just one run
    return done


def comparison(done: list[tuple[Variant, RunResult]]) -> dict:
    """One row per variant: pass rate over its repeats, and the key figures of each run."""
    grouped: dict[str, list[RunResult]] = defaultdict(list)
    first: dict[str, Variant] = {}
    for variant, result in done:
        grouped[variant.label].append(result)
        first.setdefault(variant.label, variant)
    rows = []
    for label, results in grouped.items():
        passed = sum(r.verdict.verdict == "pass" for r in results)
        variant = first[label]
        rows.append({
            "variant": label, "settings": variant.settings, "why": variant.why,
            "expect": variant.scenario.model_dump(mode="json")["expect"],   # its own, matrix_expect applied
            "runs": len(results), "passed": passed, "pass_rate": round(passed / len(results), 3),
            "verdicts": [r.verdict.verdict for r in results], "seeds": [r.seed for r in results],
            "out_dirs": [r.out_dir for r in results],
            "figures": {name: [r.metrics.get(name) for r in results] for name in KEY_FIGURES},
        })
    return {"scenario": done[0][1].scenario if done else "", "variants": rows}


def _cell(values: list) -> str:
    shown = ["-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v) for v in values]
    return " / ".join(shown)


def print_comparison(data: dict, console: Console) -> None:
    table = Table(title=f"{data['scenario']}: comparison (values per run, separated by /)")
    for col in ("variant", "pass rate", *KEY_FIGURES):
        table.add_column(col.replace("_", " "), justify="left" if col == "variant" else "right")
    for row in data["variants"]:
        others = [v for v in row.get("verdicts", []) if v != "pass"]   # fail, error, inconclusive told apart
        rate = f"{row['passed']}/{row['runs']}" + (f" ({', '.join(others)})" if others else "")
        table.add_row(escape(row["variant"] or "(as written)"), rate, *(_cell(row["figures"][n]) for n in KEY_FIGURES))
    console.print(table)


def write_comparison(data: dict, out: Path) -> tuple[Path, Path]:
    from harness.report.html_report import _CSS

    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "comparison.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    head = "".join(f"<th>{html.escape(h.replace('_', ' '))}</th>"
                   for h in ("variant", "expected", "pass rate", *KEY_FIGURES))
    rows = []
    for row in data["variants"]:
        links = " ".join(f"<a href='{html.escape(Path(d).name)}/report.html' class='verdict {v}'>{v}</a>"
                         for d, v in zip(row["out_dirs"], row["verdicts"]))
        figures = "".join(f"<td class='num'>{html.escape(_cell(row['figures'][n]))}</td>" for n in KEY_FIGURES)
        expected = html.escape(", ".join(f"{k} {v}" for k, v in row["expect"].items()) or "-")
        why = f"<br><small>{html.escape(row['why'])}</small>" if row["why"] else ""
        rows.append(f"<tr><td>{html.escape(row['variant'] or '(as written)')}</td><td>{expected}{why}</td>"
                    f"<td>{row['passed']}/{row['runs']} {links}</td>{figures}</tr>")
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(data['scenario'])}"
            f" comparison</title><style>{_CSS}</style></head><body><h1>{html.escape(data['scenario'])}: comparison"
            f"</h1><table><tr>{head}</tr>{''.join(rows)}</table></body></html>\n")
    html_path = out / "comparison.html"
    html_path.write_text(page)
    return json_path, html_path
