"""results.json: the machine-readable outcome, the contract CI scripts read."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from harness.report.base import register_reporter
from harness.results import RunResult


@register_reporter
class JsonReporter:
    name = "json"

    def write(self, result: RunResult, out_dir: Path, console: Console) -> Path:
        path = out_dir / "results.json"
        path.write_text(json.dumps(result.as_json(), indent=2, default=str))
        return path
