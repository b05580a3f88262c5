"""Output is safe (issue 13 point 7): user strings are never read as rich markup, JUnit XML parses
whatever a scenario or a run says, and errors are one per line when not on a terminal, so one
`file:line:col: message` is one line for CI problem matchers."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from harness.judge import Expectation, Verdict, judge
from harness.ledger.journal import FaultRecord
from harness.report.console import ConsoleReporter
from harness.report.junit import write_junit, xml_safe
from harness.results import RunResult

REPO = Path(__file__).parents[2]
BASE = "name: t\ntarget: {kind: kafka, nodes: 3}\nload: {users: 2, rate: 100, duration: 30s}\n"
NASTY = "[/] [bold]x[/bold] \x00\x1b\x07\ud800\ufffe end"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with stdout and stderr on pipes (not a terminal), at rich's default 80 columns."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=env)


def test_errors_through_a_pipe_are_one_line_each_unwrapped_and_never_markup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "consumer: {prefetch: 0, ack: sometimes}\n'[/]': 1\nexpect: {lots: 0}\n")
    done = cli("validate", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 4, done.stderr
    assert all(re.match(rf"^invalid {re.escape(str(bad))}:\d+:\d+: \S", line) for line in lines), done.stderr
    assert any(len(line) > 80 for line in lines)                     # not wrapped at 80 columns
    assert any("unknown key '[/]'" in line for line in lines)         # shown as written, not read as markup


def test_a_run_that_cannot_start_prints_its_error_on_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "[bold]weird[red] name.yaml"
    bad.write_text(BASE.replace("30s", "30 parsecs") + "runtime: compose\n")
    done = cli("run", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {bad}:3:") and "load.duration" in line


def test_plan_prints_user_strings_as_written(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(BASE + "network: {isolation: namespaces}\nfaults:\n"
                           "  - {at: 5s, action: partition, mode: groups, groups: [[1, 2], [3]], heal_after: 5s}\n")
    done = cli("plan", str(path))
    assert done.returncode == 0, done.stderr
    assert "5s partition groups [[1, 2], [3]], heal at 10s" in done.stdout


def test_the_compose_project_flag_is_validated_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    done = cli("run", str(path), "--runtime", "compose", "--compose-project", "Bad Name!", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "compose_project" in done.stderr and "Traceback" not in done.stderr
    done = cli("run", str(path), "--runtime", "compose", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "--compose-project NAME" in done.stderr


def _result(**changes: object) -> RunResult:
    fields: dict = dict(scenario="s", description=f"about {NASTY}", run_id="as-1", seed=1, out_dir="/tmp/[/]x",
                        started="", duration_s=1.0, verdict=Verdict("error", []), metrics={},
                        faults=[FaultRecord(0, "kill", f"leader({NASTY}, 0)", 5.0, resolved=["[/]"],
                                            error=f"ClusterError: {NASTY}", started_s=5.0, healed_s=9.0)],
                        checker_errors={"delivery": f"boom {NASTY}"}, error=f"the run failed: {NASTY}",
                        versions={"kafka": NASTY})
    fields.update(changes)
    return RunResult(**fields)  # type: ignore[arg-type]  # fields: RunResult's own


def test_the_console_summary_shows_user_strings_literally(tmp_path: Path) -> None:
    out = io.StringIO()
    ConsoleReporter().write(_result(), tmp_path, Console(file=out, width=300, force_terminal=False))
    text = out.getvalue()
    assert "run error:" in text and "the run failed: [/] [bold]x[/bold]" in text
    assert "checker delivery failed: boom [/]" in text


def test_junit_xml_parses_whatever_the_strings_hold(tmp_path: Path) -> None:
    failing = _result(verdict=judge([Expectation(f"lost{NASTY}", exact=0)], {f"lost{NASTY}": 3}), error=None)
    path = write_junit([_result(), failing], tmp_path / "junit.xml")
    root = ET.parse(path).getroot()               # raises on XML-invalid characters
    text = path.read_text(encoding="utf-8")
    assert "\x00" not in text and "\x1b" not in text and "about [/] [bold]x[/bold]" in text
    assert root.find("testsuite").get("errors") == "1" and root.find("testsuite").get("failures") == "1"
    assert xml_safe("a\x00b\tc\ud800") == "a\ufffdb\tc\ufffd"


def test_progress_lines_in_a_ci_log_are_never_wrapped_and_events_stay_literal(tmp_path: Path) -> None:
    from rich.markup import escape

    from harness.ledger.tail import LedgerTail
    from harness.progress import Progress

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    with Progress(console, LedgerTail(tmp_path), tmp_path) as progress:
        progress.event(f"[red]fault failed[/] kill {escape('leader([/], 0)')}: {escape('x' * 150)}")
        progress.set_phase("load [/]")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "fault failed kill leader([/], 0): " + "x" * 150 in lines[0]
    assert lines[1].endswith("load [/]")


def test_fault_events_escape_what_the_user_wrote(tmp_path: Path) -> None:
    from harness.faults.injector import FaultInjector
    from harness.faults.process import ProcessFault
    from harness.plan import PlannedFault, Schedule
    from harness.scenario.selectors import Selector

    spec = ProcessFault(at=0.0, action="kill", target=Selector("leader", ("[/]", "0")))
    schedule = Schedule(1, (PlannedFault(0, 0.0, spec, None, 1),), 10.0)
    events: list[str] = []

    def env_for(planned: object) -> object:
        raise RuntimeError("no node [bold]here[/]")

    injector = FaultInjector(schedule, env_for, tmp_path / "faults.jsonl", on_event=events.append)  # type: ignore[arg-type]  # env_for raises first
    injector.start(0)
    injector.tick()
    out = io.StringIO()
    for event in events:
        Console(file=out, width=300).print(event)   # raises MarkupError if a user string is read as markup
    assert "leader([/], 0): RuntimeError: no node [bold]here[/]" in out.getvalue()


def test_a_matrix_comparison_shows_variant_labels_literally() -> None:
    from harness.campaign import KEY_FIGURES, print_comparison

    data = {"scenario": "s", "variants": [{"variant": "producer.acks=[/]", "runs": 1, "passed": 1,
                                           "figures": {name: [0] for name in KEY_FIGURES}}]}
    out = io.StringIO()
    print_comparison(data, Console(file=out, width=300))
    assert "producer.acks=[/]" in out.getvalue()
