"""docs/architecture.md's steps are true: a package outside this repository that adds a broker, a fault
family, a checker and a reporter, by nothing but what the doc says (a module each, registered, and
its entry points), is picked up by the scenario model, the injector, the checks and the reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = {
    "echo_plugin/__init__.py": "",
    "echo_plugin/broker.py": '''
        from typing import Literal

        from harness.brokers.base import Broker, register_broker
        from harness.scenario.broker_settings import check_broker_config
        from harness.scenario.strict import Scalar, Strict


        class EchoSpec(Strict):
            kind: Literal["echo"]
            nodes: int = 1
            broker_config: dict[str, Scalar] = {}

            def model_post_init(self, _context: object) -> None:
                check_broker_config({"listeners": "the harness places listeners"}, self.broker_config)


        class Rules:
            def check_consumer(self, scenario): pass
            def check_form(self, scenario, form): pass
            def check_clients(self, scenario): pass
            def check_leader(self, scenario, sel, where): pass
            def detectors(self, scenario, silence): return []


        def cluster(*args, **kwargs):
            raise NotImplementedError("validation only")


        register_broker(Broker(kind="echo", spec=EchoSpec, rules=Rules(), clusters={"process": cluster},
                               users={"echo": "echo_plugin.broker:EchoUser"}, image=lambda: "echo:1",
                               sample=lambda nodes: EchoSpec(kind="echo", nodes=nodes)))
    ''',
    "echo_plugin/fault.py": '''
        from typing import ClassVar, Literal

        from harness.faults.base import FaultEntry, register_entry, register_fault
        from harness.scenario.selectors import SelectorField

        CALLS = []


        @register_entry
        class WiggleEntry(FaultEntry):
            action: Literal["wiggle"]
            target: SelectorField

            def what(self):
                return str(self.target)

            def selectors(self):
                return [("target", self.target)]


        @register_fault("wiggle")
        class Wiggle:
            heals: ClassVar[bool] = True

            def __init__(self, entry):
                self.entry = entry

            def inject(self, env):
                CALLS.append(("inject", str(self.entry.target)))
                return ["wiggled"]

            def heal(self, env):
                CALLS.append(("heal", str(self.entry.target)))

            def verify(self, env, healed):
                return None
    ''',
    "echo_plugin/checker.py": '''
        from harness.check.base import Finding, register


        @register
        class WiggleChecker:
            name = "wiggles"
            metrics = ("wiggles",)

            def check(self, history):
                return Finding(self.name, {"wiggles": 0})
    ''',
    "echo_plugin/reporter.py": '''
        from harness.report.base import register_reporter


        @register_reporter
        class EchoReporter:
            name = "echo"

            def write(self, result, out_dir, console):
                path = out_dir / "echo.txt"
                path.write_text(result.verdict.verdict)
                return path
    ''',
    "echo_plugin-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n",
    "echo_plugin-0.1.dist-info/entry_points.txt": '''
        [aftershock.brokers]
        echo = echo_plugin.broker

        [aftershock.faults]
        wiggle = echo_plugin.fault

        [aftershock.checkers]
        wiggles = echo_plugin.checker

        [aftershock.reporters]
        echo = echo_plugin.reporter
    ''',
}

PROBE = '''
import json, sys, time
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from harness.check import METRICS, check_history, merged_metrics
from harness.faults.injector import FaultInjector
from harness.judge import Verdict
from harness.plan import plan
from harness.report import write_reports
from harness.results import RunResult
from harness.scenario.loader import parse_scenario

out = Path(sys.argv[1])
scenario = parse_scenario("""
name: plugin
target: {kind: echo, nodes: 2}
load: {rate: 10, duration: 5, users: 1}
faults:
  - {at: 1, action: wiggle, target: node(2), heal_after: 1}
expect: {wiggles: 0}
""", "s.yaml")
injector = FaultInjector(plan(scenario), lambda planned: SimpleNamespace(), out / "faults.jsonl")
injector.start(time.time_ns() - 10 * 10**9)
injector.tick()
injector.heal_all()
from echo_plugin.fault import CALLS
(out / "ledger").mkdir()
metrics = merged_metrics(check_history(out / "ledger"))
result = RunResult("plugin", "", "as-plugin", 0, str(out), "now", 0.0, Verdict("pass", []), metrics)
written = write_reports(result, out, Console(file=open(out / "console.txt", "w")))
try:
    parse_scenario("name: p\\ntarget: {kind: echo, broker_config: {listeners: x}}\\n", "s.yaml")
    refused = ""
except Exception as exc:
    refused = str(exc)
try:
    parse_scenario("name: p\\ntarget: {kind: echo}\\nruntime: compose\\ncompose_project: p\\n", "s.yaml")
    no_attach = ""
except Exception as exc:
    no_attach = str(exc)
print(json.dumps({"target": type(scenario.target).__name__, "calls": CALLS, "metric": "wiggles" in METRICS,
                  "wiggles": metrics.get("wiggles"), "written": sorted(p.name for p in written),
                  "journal": [json.loads(line)["event"] for line in (out / "faults.jsonl").read_text().splitlines()],
                  "refused": refused, "no_attach": no_attach}))
'''


@pytest.fixture()
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    for name, text in PLUGIN.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return site


def test_a_plugin_package_adds_a_broker_a_fault_a_checker_and_a_reporter_by_the_documented_steps(
        plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["target"] == "EchoSpec"                                   # the broker's spec validated target:
    assert seen["calls"] == [["inject", "node(2)"], ["heal", "node(2)"]]  # the injector fired and healed it
    assert seen["journal"] == ["inject", "heal"]
    assert seen["metric"] and seen["wiggles"] == 0                        # expect: may name it; it was checked
    assert "echo.txt" in seen["written"] and (out / "echo.txt").read_text() == "pass"
    assert "s.yaml:2:" in seen["refused"] and "listeners is set by the harness" in seen["refused"]
    # It brings the process form only: a scenario that would attach it to a running cluster is refused where it says so.
    assert "s.yaml:3:" in seen["no_attach"] and "which this broker cannot" in seen["no_attach"]


def test_without_its_entry_points_the_plugin_is_unknown(plugin_path: Path, tmp_path: Path) -> None:
    """The control: the same modules on the path, no entry points, and the harness knows none of them."""
    (plugin_path / "echo_plugin-0.1.dist-info" / "entry_points.txt").unlink()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT)])}
    probe = ("from harness.scenario.loader import parse_scenario\n"
             "parse_scenario('name: p\\ntarget: {kind: echo}\\n', 's.yaml')\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0 and "echo" in done.stderr and "kafka" in done.stderr
