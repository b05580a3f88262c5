"""pytest plugin: `pytest scenarios/` runs every scenario file as a test.

Registered through the `pytest11` entry point. A YAML file with `name:` and `target:` at the top is
a scenario; each becomes one item, marked with its broker kind (`-m kafka`, `-m rabbitmq`) and
selectable by name with `-k`. A failed expectation fails the item with the expectation table as
its message; a scenario that does not validate fails at collection with file:line:column.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harness.brokers import all_brokers


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aftershock")
    group.addoption("--aftershock-out", type=Path, default=None, metavar="DIR",
                    help="where scenario runs go (default reports/pytest-<time>)")


def pytest_configure(config: pytest.Config) -> None:
    for kind in all_brokers():
        config.addinivalue_line("markers", f"{kind}: an Aftershock scenario on a {kind} cluster")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and _looks_like_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _looks_like_scenario(path: Path) -> bool:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - not readable YAML: not ours to collect
        return False
    return isinstance(data, dict) and "name" in data and "target" in data


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.scenario import load_scenario
        from harness.scenario.matrix import variants

        scenario = load_scenario(self.path)  # a ScenarioError fails collection with file:line:column
        for variant in variants(scenario):   # a matrix gives one item per variant
            name = f"{scenario.name}[{variant.label}]" if variant.label else scenario.name
            item = ScenarioItem.from_parent(self, name=name, scenario=variant.scenario, slug=variant.slug)
            if scenario.target.kind in all_brokers():
                item.add_marker(getattr(pytest.mark, scenario.target.kind))
            yield item


class ExpectationsFailed(Exception):
    """The run finished and an expectation did not hold."""


class Inconclusive(ExpectationsFailed):
    """The run finished and proved nothing: a fault did not have the effect it must have. Never a
    pass; told apart from a failure in its message (the CLI exits 3 for it)."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, slug: str = "run", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.slug = slug
        self.result: Any = None

    def _out_dir(self) -> Path:
        root = self.config.getoption("aftershock_out")
        if root is None:
            stamp = getattr(self.config, "_aftershock_stamp", None) or time.strftime("%Y%m%d-%H%M%S")
            self.config._aftershock_stamp = stamp  # type: ignore[attr-defined]  # one root per session
            root = Path("reports") / f"pytest-{stamp}"
        run_dir = Path(root) / self.scenario.name
        return run_dir / self.slug if self.slug != "run" else run_dir

    def runtest(self) -> None:
        from rich.console import Console

        from harness.report.junit import expectation_table
        from harness.run import Run

        out = self._out_dir()
        self.result = Run(self.scenario, out, Console(highlight=False), source=self.path).execute()
        self.user_properties.append(("report", str(out / "report.html")))
        if self.result.error:
            raise ExpectationsFailed(f"the run could not finish: {self.result.error}\nsee {out}")
        if self.result.verdict.verdict == "inconclusive":
            raise Inconclusive(f"INCONCLUSIVE: a fault did not have the effect it must have\n"
                               f"{expectation_table(self.result)}\nreport: {out / 'report.html'}")
        if self.result.verdict.verdict != "pass":
            raise ExpectationsFailed(f"{expectation_table(self.result)}\nreport: {out / 'report.html'}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExpectationsFailed):
            return f"{self.scenario.name}: {self.scenario.description.strip()}\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.scenario.name}"
