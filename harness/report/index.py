"""reports/index.html: every run under an output root, newest first, with links to its report."""

from __future__ import annotations

import html
import json
from pathlib import Path

from harness.report.html_report import _CSS

KEY_COUNTS = ("acknowledged", "delivered", "lost", "duplicated", "unexpected")


def _runs(root: Path) -> list[tuple[Path, dict]]:
    runs = []
    for path in root.glob("*/results.json"):
        try:
            runs.append((path.parent, json.loads(path.read_text())))
        except (OSError, ValueError):
            continue  # a run still being written, or damaged: left out, not fatal
    return sorted(runs, key=lambda run: run[1].get("started", ""), reverse=True)


def write_index(root: Path) -> Path:
    rows = []
    for run_dir, data in _runs(root):
        verdict = html.escape(str(data.get("verdict", "?")))
        link = f"{html.escape(run_dir.name)}/report.html"
        counts = "".join(f"<td class='num'>{html.escape(str((data.get('counts') or {}).get(n, '-')))}</td>"
                         for n in KEY_COUNTS)
        rows.append(f"<tr><td><a href='{link}'>{html.escape(data.get('scenario', run_dir.name))}</a></td>"
                    f"<td>{html.escape(data.get('started', ''))}</td>"
                    f"<td><span class='verdict {verdict}'>{verdict.upper()}</span></td>{counts}</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("scenario", "started", "verdict", *KEY_COUNTS))
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Aftershock runs</title>"
            f"<style>{_CSS}</style></head><body><h1>Aftershock runs</h1><p>{len(rows)} run(s) in"
            f" {html.escape(str(root))}</p><table><tr>{head}</tr>{''.join(rows)}</table></body></html>\n")
    path = root / "index.html"
    path.write_text(page)
    return path
