"""The interrupt soak's driver: a seeded list of cases (scenario x signal x moment), each a real
run interrupted at a seeded random moment of a chosen phase, then searched for leftovers.

A case's moment is a phase to reach (seen in harness.log's `phase:` lines) plus a seeded delay
into it, so the cases cover cluster start, consumer start, load with faults in force and the
drain rather than only the load. The phase the run was really in when the signal went is read
back from harness.log and reported. SIGINT and SIGTERM must end the run with exit 130 and an
`interrupted` error verdict; a SIGKILLed orchestrator is followed by `aftershock cleanup`.
Either way nothing tagged with the run's id may be left (see conftest.run_leftovers).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import ROOT, run_cli, run_leftovers

SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")
# Phase to reach -> (the harness.log phase line that starts it, None for the first phase of any
# kind: the run's network or Toxiproxy; longest seeded delay into it, s).
MOMENTS = {
    "setup": (None, 1.0),
    "cluster": ("phase: starting {kind} cluster", 5.0),
    "consumers": ("phase: starting {n} consumer(s)", 1.0),
    "load": ("phase: load:", 5.0),
    "drain": ("phase: healing every fault", 2.0),
    "stopping": ("phase: stopping", 1.0),       # the teardown itself interrupted
}
# Every scenario is small: a few seconds of load, faults from 1 s to 5 s into it.
SCENARIOS = {
    "kafka-namespaces": ("kafka", "local", """\
name: soak-kafka-namespaces
target: {kind: kafka, nodes: 3}
network: {isolation: namespaces}
producer: {acks: all}
load: {users: 2, rate: 200, duration: 7s}
consumer: {instances: 2}
drain: {timeout: 20s}
faults:
  - {at: 1s, action: latency, link: "client->any", latency: 40ms, heal_after: 4s}
  - {at: 1s, action: partition, mode: isolate, target: "node(3)", heal_after: 4s}
"""),
    "rabbitmq-quorum": ("rabbitmq", "local", """\
name: soak-rabbitmq-quorum
target: {kind: rabbitmq, nodes: 3, queue: {name: orders, type: quorum}}
producer: {confirms: true, persistent: true}
load: {users: 2, rate: 150, duration: 7s}
consumer: {instances: 2, ack: manual}
drain: {timeout: 20s}
faults:
  - {at: 1s, action: latency, link: "client->any", latency: 40ms, heal_after: 4s}
  - {at: 2s, action: kill, target: "node(3)", heal_after: 3s}
"""),
    "rabbitmq-namespaces": ("rabbitmq", "local", """\
name: soak-rabbitmq-namespaces
target: {kind: rabbitmq, nodes: 3, queue: {name: orders, type: quorum},
         broker_config: {cluster_partition_handling: pause_minority}}
network: {isolation: namespaces}
producer: {confirms: true, persistent: true}
load: {users: 2, rate: 150, duration: 7s}
consumer: {instances: 2, ack: manual}
drain: {timeout: 20s}
faults:
  - {at: 1s, action: partition, mode: isolate, target: "node(3)", heal_after: 4s}
"""),
}
# The same Kafka case on containers: the Docker network, Toxiproxy's container, rules inside them.
SCENARIOS["kafka-docker"] = ("kafka", "docker", SCENARIOS["kafka-namespaces"][2].replace(
    "name: soak-kafka-namespaces\n", "name: soak-kafka-docker\nruntime: docker\n"))
DOCKER_SCENARIOS = {name for name, (_, runtime, _) in SCENARIOS.items() if runtime == "docker"}


@dataclass(frozen=True)
class Case:
    index: int
    scenario: str
    signal: str
    moment: str        # the phase aimed at
    delay: float       # seconds into that phase

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.scenario}-{self.signal}-{self.moment}+{self.delay:.1f}s"


def plan_cases(runs: int, seed: int, scenarios: list[str], max_docker: int | None = None) -> list[Case]:
    """`runs` cases over scenario x signal x moment, seeded: each combination once before any
    comes round again, and each pick prefers a scenario, a signal and a moment the current round
    has not had yet, so even a handful of cases covers all three signals and every scenario. At
    most `max_docker` of them run on Docker."""
    rng = random.Random(seed)
    pools = (scenarios, list(SIGNALS), list(MOMENTS))
    unused: list[tuple[str, str, str]] = []
    seen: list[set[str]] = [set(), set(), set()]
    cases: list[Case] = []
    while len(cases) < runs:
        docker_left = max_docker is None or sum(c.scenario in DOCKER_SCENARIOS for c in cases) < max_docker
        allowed = [c for c in unused if docker_left or c[0] not in DOCKER_SCENARIOS]
        if not allowed:
            if unused and len(unused) == len(scenarios) * len(SIGNALS) * len(MOMENTS):
                break                               # only Docker cases left, and no more allowed
            unused = [(s, sig, m) for s in scenarios for sig in SIGNALS for m in MOMENTS]
            rng.shuffle(unused)
            continue
        best = max(allowed, key=lambda c: sum(v not in s for v, s in zip(c, seen)))
        unused.remove(best)
        for v, s, pool in zip(best, seen, pools):
            s.add(v)
            if set(pool) <= s:
                s.clear()
        cases.append(Case(len(cases) + 1, *best, round(rng.uniform(0, MOMENTS[best[2]][1]), 1)))
    return cases


@dataclass
class Outcome:
    case: Case
    run_id: str = ""
    phase: str = ""                 # harness.log's last phase when the signal went
    exit_status: int | None = None
    seconds: float = 0.0
    leftovers: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)     # what `cleanup` removed after a SIGKILL
    problems: list[str] = field(default_factory=list)    # wrong exit status, verdict, ...


def _phase_lines(log: Path) -> list[str]:
    try:
        return [line.split(" phase: ", 1)[1] for line in log.read_text().splitlines() if " phase: " in line]
    except OSError:
        return []


def _reached(moment: str, kind: str, phases: list[str]) -> bool:
    line = MOMENTS[moment][0]
    if line is None:
        return bool(phases)
    marker = line.format(kind=kind, n=2).removeprefix("phase: ")
    return any(p.startswith(marker) for p in phases)


def run_case(case: Case, out_root: Path, timeout: float = 240) -> Outcome:
    """One interrupted run; always ends with `aftershock cleanup`, whatever was asserted."""
    kind, _, text = SCENARIOS[case.scenario]
    outcome = Outcome(case)
    case_dir = out_root / case.label
    case_dir.mkdir(parents=True, exist_ok=True)
    scenario = case_dir / "scenario.yaml"
    scenario.write_text(text)
    out = case_dir / "run"
    log = out / "harness.log"
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)],
                            cwd=ROOT, stdout=(case_dir / "stdout.txt").open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _reached(case.moment, kind, _phase_lines(log)):
            if proc.poll() is not None:
                outcome.problems.append(f"the run ended (exit {proc.returncode}) before reaching {case.moment}")
                break
            if time.monotonic() > deadline:
                outcome.problems.append(f"the run never reached {case.moment} within {timeout:g}s")
                break
            time.sleep(0.05)
        time.sleep(case.delay)
        outcome.run_id = _run_id(log)
        phases = _phase_lines(log)
        outcome.phase = _phase_name(phases[-1]) if phases else "before any phase"
        if proc.poll() is not None:
            outcome.phase = "finished"   # the delay ran past the run's end: a run that ended by itself
        else:
            proc.send_signal(getattr(signal, case.signal))
        try:
            outcome.exit_status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            outcome.problems.append(f"the run did not end within {timeout:g}s of {case.signal}")
            proc.kill()
            outcome.exit_status = proc.wait(timeout=30)
        outcome.problems += _judge_exit(case, outcome, out)
        if case.signal == "SIGKILL" and outcome.run_id:
            # Processes die with the orchestrator (PR_SET_PDEATHSIG); namespaces, rules and
            # containers wait for `cleanup`, which must find them dead and remove them.
            done = run_cli(["cleanup"], timeout=120)
            if done.returncode != 0:
                outcome.problems.append(f"aftershock cleanup exited {done.returncode}: {done.stderr[-500:]}")
            outcome.cleaned = [line.removeprefix("ended ") for line in done.stdout.splitlines()
                               if line.startswith("ended ")
                               and (outcome.run_id in line or _tag(outcome.run_id) in line)]
        if outcome.run_id:
            outcome.leftovers = run_leftovers(outcome.run_id, out)
        else:
            outcome.problems.append("no run id in harness.log: the run never started its log")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        run_cli(["cleanup"], timeout=120)   # ends only leftovers of dead runs: this run's, if any
        outcome.seconds = round(time.monotonic() - t0, 1)
    return outcome


def _judge_exit(case: Case, outcome: Outcome, out: Path) -> list[str]:
    if outcome.phase == "finished":
        return []
    if case.signal == "SIGKILL":
        return [] if outcome.exit_status == -signal.SIGKILL else [f"SIGKILL: exit {outcome.exit_status}"]
    problems = [] if outcome.exit_status == 130 else [f"{case.signal}: exit {outcome.exit_status}, not 130"]
    try:
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError) as exc:
        return problems + [f"{case.signal}: no readable results.json ({exc})"]
    if results.get("verdict") != "error" or not (results.get("error") or "").startswith("interrupted"):
        problems.append(f"{case.signal}: verdict {results.get('verdict')!r}, error {results.get('error')!r}")
    return problems


def _run_id(log: Path) -> str:
    try:
        for line in log.read_text().splitlines():
            if " run as-" in line:
                return line.split(" run ", 1)[1].split()[0]
    except OSError:
        pass
    return ""


def _tag(run_id: str) -> str:
    return run_id.removeprefix("as-")[:8]


def _phase_name(line: str) -> str:
    """A phase line's short name: 'starting kafka cluster (3 nodes)' -> 'cluster'."""
    for short, words in (("network", "network"), ("toxiproxy", "Toxiproxy"), ("cluster", "cluster"),
                         ("consumers", "consumer"), ("load", "load:"), ("heal", "healing"),
                         ("drain", "draining"), ("stopping", "stopping")):
        if words in line:
            return short
    return line


def summary(outcomes: list[Outcome], seconds: float) -> str:
    by_signal = Counter(o.case.signal for o in outcomes)
    by_phase = Counter(o.phase for o in outcomes)
    by_scenario = Counter(o.case.scenario for o in outcomes)
    leftovers = sum(len(o.leftovers) for o in outcomes)
    cleaned = Counter("process" if line.startswith("as-")
                      else " ".join(line.split()[:2 if line.startswith("docker") else 1])
                      for o in outcomes for line in o.cleaned)
    lines = [f"interrupt soak: {len(outcomes)} cases in {seconds:.0f}s, {leftovers} leftovers, "
             f"{sum(bool(o.problems) for o in outcomes)} cases with other problems",
             "  by signal:   " + ", ".join(f"{k} {v}" for k, v in sorted(by_signal.items())),
             "  by phase:    " + ", ".join(f"{k} {v}" for k, v in sorted(by_phase.items())),
             "  by scenario: " + ", ".join(f"{k} {v}" for k, v in sorted(by_scenario.items())),
             "  removed by cleanup after SIGKILL: " + (", ".join(f"{k} {v}" for k, v in sorted(cleaned.items()))
                                                      or "nothing")]
    for o in outcomes:
        status = "ok" if not (o.leftovers or o.problems) else "FAILED"
        lines.append(f"  {o.case.label:<48} phase {o.phase:<10} exit {o.exit_status!s:<4} {o.seconds:5.1f}s {status}")
        lines += [f"      cleanup removed: {x}" for x in o.cleaned]
        lines += [f"      leftover: {x}" for x in o.leftovers] + [f"      problem: {x}" for x in o.problems]
    return "\n".join(lines)
