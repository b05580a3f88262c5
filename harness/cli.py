"""Command line: argument parsing only. Exit 0 pass, 1 an expectation failed, 2 bad input or environment."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from harness.errors import AftershockError

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftershock",
                                     description="Chaos and fault-injection harness for event brokers.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check scenario files without starting anything")
    validate.add_argument("scenarios", nargs="+", type=Path)
    validate.add_argument("--strict", action="store_true",
                          help="warnings (faults healed before the broker could notice them) fail too, exit 2")
    plan = sub.add_parser("plan", help="print the resolved fault schedule of a scenario")
    plan.add_argument("scenario", type=Path)
    plan.add_argument("--json", action="store_true", help="print the schedule as JSON")
    run = sub.add_parser("run", help="run a scenario end to end and judge it")
    run.add_argument("scenario", type=Path)
    run.add_argument("--out", type=Path, help="run directory (default reports/<name>-<time>)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--runtime", choices=("local", "docker", "compose"),
                     help="override the scenario's runtime (compose: the cluster docker-compose.yml brought up)")
    run.add_argument("--compose-project", metavar="NAME",
                     help="runtime compose: the docker-compose project to act on (overrides compose_project)")
    run.add_argument("--junit", type=Path, metavar="FILE", help="also write the verdict as JUnit XML for CI")
    run.add_argument("--repeat", type=int, default=1, metavar="N",
                     help="run each variant N times with seeds derived from the scenario's (reports the pass rate)")
    report = sub.add_parser("report", help="regenerate report.html (and the run index) from a run directory")
    report.add_argument("run_dir", type=Path)
    install = sub.add_parser("install", help="fetch broker releases into the cache ahead of their first run")
    install.add_argument("releases", nargs="+", metavar="KIND=VERSION",
                         help="e.g. kafka=4.1.1 (what `target: {kind: KIND, version: VERSION}` runs)")
    clean = sub.add_parser("cleanup", help="end processes left behind by killed runs")
    clean.add_argument("--all", action="store_true", help="also end processes of runs that are still alive")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # soft_wrap: a line is never broken at the console's width (80 columns when not a terminal),
    # so one `file:line:col: message` stays one line for CI problem matchers.
    console = Console(stderr=False, highlight=False, soft_wrap=True)
    try:
        return COMMANDS[args.command](args, console)
    except AftershockError as exc:
        print_error("error:", str(exc))
        return EXIT_ERROR


def print_error(label: str, message: str, style: str = "bold red") -> None:
    """On stderr, one line per line of the message, each labelled; the message is never read as markup."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for line in message.splitlines() or [""]:
        err.print(f"[{style}]{label}[/] {escape(line)}")


def _load_checked(path: Path, overrides: dict[str, Any] | None, say: Callable[[str], None], fetch: bool) -> Any:
    """The scenario, checked against the definitions its releases bring (Kafka: the settings their
    jars define), made available first (progress told through `say`): `fetch` may resolve a release
    (a run), else only installed ones count (`validate` never downloads). Validated again once they
    are, so errors keep their lines."""
    from harness.brokers import provide_definitions
    from harness.scenario import load_scenario
    from harness.scenario.matrix import variants

    scenario = load_scenario(path, overrides)
    if provide_definitions([v.scenario.target for v in variants(scenario)], say, fetch=fetch):
        scenario = load_scenario(path, overrides)
    return scenario


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    """Each file `ok` or `invalid` (its errors); then its warnings, which fail it only under --strict."""
    from harness.advice import schedule_warnings

    failed = 0
    progress = Console(stderr=True, highlight=False, soft_wrap=True)   # stdout is the answer, a line per file
    for path in args.scenarios:
        try:
            scenario = _load_checked(path, None, progress.print, fetch=False)
            console.print(f"[green]ok[/] {escape(str(path))}: {escape(scenario.name)}")
            warnings = schedule_warnings(scenario, path)
        except AftershockError as exc:
            failed += 1
            print_error("invalid", str(exc))
            continue
        for line in warnings:
            print_error("warning", line, "bold yellow")
        failed += bool(warnings and args.strict)
    return EXIT_ERROR if failed else EXIT_PASS


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    from harness.advice import schedule_warnings
    from harness.plan import plan
    from harness.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    schedule = plan(scenario)
    for line in schedule_warnings(scenario, args.scenario):
        print_error("warning", line, "bold yellow")
    if args.json:
        print(json.dumps(schedule.as_json(), indent=2))
    else:
        console.print(f"seed {schedule.seed}, load {schedule.load_duration:g}s, {len(schedule.faults)} fault(s)")
        for fault in schedule.faults:
            console.print(f"  {escape(fault.describe())}")
    return EXIT_PASS


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from harness.report.index import write_index
    from harness.scenario.matrix import variants

    overrides = {key: value for key, value in (("runtime", args.runtime), ("compose_project", args.compose_project))
                 if value is not None}
    scenario = _load_checked(args.scenario, overrides or None, console.print, fetch=True)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.repeat < 1:
        raise AftershockError(f"--repeat {args.repeat}: give 1 or more runs")
    out = args.out or Path("reports") / f"{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    runs = variants(scenario, repeat=args.repeat)
    if len(runs) == 1:
        from harness.run import Run

        results = [Run(runs[0].scenario, out, console, source=args.scenario).execute()]
        index_root = out.parent
    else:
        from harness.campaign import comparison, print_comparison, run_all, write_comparison

        done = run_all(runs, out, console, args.scenario)
        results = [result for _, result in done]
        data = comparison(done)
        print_comparison(data, console)
        _, page = write_comparison(data, out)
        console.print(f"comparison: {escape(str(page))}")
        index_root = out
    console.print(f"all runs: {escape(str(write_index(index_root)))}")
    if args.junit:
        from harness.report.junit import write_junit

        console.print(f"JUnit XML: {escape(str(write_junit(results, args.junit)))}")
    return _exit_status(results)


def _exit_status(results: list) -> int:
    """130 interrupted, else 2 if any run could not finish, 1 if any expectation failed, 3 if a run
    proved nothing (a fault without its effect), 0 all passed."""
    errors = [r.error for r in results if r.error]
    if any(e.startswith("interrupted") for e in errors):
        return EXIT_INTERRUPTED
    for error in errors:
        print_error("error:", error)
    if errors:
        return EXIT_ERROR
    if any(r.verdict.verdict == "fail" for r in results):
        return EXIT_FAIL
    if any(r.verdict.verdict == "inconclusive" for r in results):
        return EXIT_INCONCLUSIVE
    return EXIT_PASS if all(r.verdict.verdict == "pass" for r in results) else EXIT_ERROR


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from harness.report.html_report import HtmlReporter
    from harness.report.index import write_index
    from harness.results import RunResult

    source = args.run_dir / "results.json"
    try:
        result = RunResult.from_json(json.loads(source.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AftershockError(
            f"{source}: not a readable run result ({exc}); give a run directory of `aftershock run`") from exc
    console.print(f"report: {escape(str(HtmlReporter().write(result, args.run_dir, console)))}")
    console.print(f"all runs: {escape(str(write_index(args.run_dir.parent)))}")
    return EXIT_PASS


def cmd_install(args: argparse.Namespace, console: Console) -> int:
    """Each release as a run on this host would fetch it on first use (the process form's needs)."""
    from pydantic import ValidationError

    from harness.brokers import all_brokers

    brokers = all_brokers()
    for release in args.releases:
        kind, _, version = release.partition("=")
        if kind not in brokers or not version:
            raise AftershockError(f"{release}: give KIND=VERSION with KIND one of {', '.join(brokers)}"
                                  " (e.g. kafka=4.1.1)")
        provide = brokers[kind].provide.get("process")
        if provide is None:
            raise AftershockError(f"{release}: {kind} fetches nothing ahead of a run")
        try:
            spec = brokers[kind].spec.model_validate({"kind": kind, "version": version})
        except ValidationError as exc:
            raise AftershockError(f"{release}: {exc.errors()[0]['msg']}") from None
        provide(spec, lambda line: console.print(escape(line)))
        console.print(f"[green]ok[/] {escape(release)}")
    return EXIT_PASS


def cmd_cleanup(args: argparse.Namespace, console: Console) -> int:
    from harness.cleanup import cleanup

    ended = cleanup(all_runs=args.all)
    for line in ended:
        console.print(f"ended {escape(line)}")
    console.print(f"{len(ended)} leftover(s) removed (processes, namespaces, links)")
    return EXIT_PASS


COMMANDS = {"validate": cmd_validate, "plan": cmd_plan, "run": cmd_run, "report": cmd_report, "install": cmd_install,
            "cleanup": cmd_cleanup}

if __name__ == "__main__":
    sys.exit(main())
