"""The orchestrator: phases in order, one ExitStack for every resource, a result whatever happens.

prepare -> cluster -> consumers (-> outbox relay) -> load + faults -> heal -> drain -> stop -> check -> judge
-> report
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from harness import topology
from harness.advice import schedule_warnings
from harness.brokers import broker
from harness.check import check_history, merged_metrics
from harness.cleanup import RunMarker, cleanup
from harness.drain import drain, record_broker_state
from harness.errors import AftershockError, ClusterError, Interrupted
from harness.faults.env import RunFaultEnv
from harness.faults.injector import FaultInjector
from harness.interrupts import Interrupts, harness_log
from harness.judge import Verdict, expectations, judge, unjudgeable
from harness.ledger.journal import JOURNAL, FaultJournal
from harness.ledger.tail import LedgerTail
from harness.observer import OBSERVATIONS, ClusterObserver
from harness.plan import Schedule, plan
from harness.progress import Progress
from harness.provenance import harness_versions
from harness.report import write_reports
from harness.results import RunResult, machine_environment
from harness.scenario.fault_specs import TOXIC_ACTIONS
from harness.scenario.model import Scenario
from harness.second_opinion import second_opinion
from harness.services.consumers import ConsumerGroup
from harness.services.load import LoadProcess
from harness.services.relay import OutboxRelay
from harness.watchdog import ProcessExit, Watchdog

log = logging.getLogger("aftershock")
TICK = 0.2


def new_run_id() -> str:
    return f"as-{secrets.token_hex(4)}"


class Run:
    """One execution of one scenario into one output directory."""

    def __init__(self, scenario: Scenario, out_dir: Path, console: Console, source: Path | None = None,
                 variant: str = "", variant_why: str = "") -> None:
        self.scenario = scenario
        self.variant, self.variant_why = variant, variant_why
        self.out_dir = out_dir.resolve()  # absolute: containers mount it at the same path
        self.console = console
        self.source = source
        self.run_id = new_run_id()
        self.schedule: Schedule = plan(scenario)
        self.advice = schedule_warnings(scenario, source)
        self.ledger_dir = out_dir / "ledger"
        self.load_window: tuple[int, int] | None = None
        self.load_started_ns: int | None = None
        self.load_stats: dict | None = None
        self.versions: dict[str, str] = {}
        self.settings: dict[str, Any] = {}
        self.injector: FaultInjector | None = None
        self.interrupts = Interrupts()
        self.watchdog = Watchdog(on_exit=self._journal_exit)

    def execute(self) -> RunResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.ledger_dir.mkdir(exist_ok=True)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.monotonic()
        error: str | None = None
        with harness_log(self.out_dir), contextlib.ExitStack() as stack:
            log.info("run %s of %s into %s", self.run_id, self.scenario.name, self.out_dir)
            self._write_inputs()
            for line in self.advice:
                log.warning("%s", line)
                self.console.print(f"[yellow]warning[/] {escape(line)}")
            for leftover in cleanup():
                self.console.log(f"[yellow]ended leftover of a killed run:[/] {leftover}")
                log.warning("ended leftover %s", leftover)
            try:
                stack.enter_context(self.interrupts.installed())   # until the result is written
                with RunMarker(self.run_id, self.out_dir):
                    self._run_phases()
            except Interrupted as exc:
                error = str(exc)
                log.warning("%s", error)
                self.console.print(f"[bold yellow]{error}[/]")
            except AftershockError as exc:
                error = str(exc)
                log.error("run failed: %s", error)
            except Exception as exc:
                if self.interrupts.fired:
                    # The signal came inside a library's own code, which swallowed the handler's
                    # Interrupted and raised its own error (DuckDB: "RuntimeError: Query interrupted",
                    # the interrupt soak's SIGINT during the drain): the run was interrupted.
                    error = self.interrupts.fired
                    log.warning("%s (inside %s: %s)", error, type(exc).__name__, exc)
                    self.console.print(f"[bold yellow]{error}[/]")
                else:
                    log.exception("harness bug")
                    error = f"harness error: {type(exc).__name__}: {exc}"
                    raise
            finally:
                # A signal while the history is checked and reported is held, never a half-written
                # result (SIGTERM there once killed the run with no results.json): the run is interrupted.
                self.interrupts.holding = True
                result = self._result(started, time.monotonic() - t0, error or self.interrupts.fired)
                if error is None and self.interrupts.fired:   # it came while the history was checked
                    result.error, result.verdict = self.interrupts.fired, Verdict("error", [])
                write_reports(result, self.out_dir, self.console)
        return result

    # -- phases -------------------------------------------------------------------------
    def _run_phases(self) -> None:
        scenario = self.scenario
        with self.interrupts.teardown_held() as stack, Progress(self.console, LedgerTail(self.ledger_dir),
                                                                self.out_dir) as progress:
            proxied = any(f.action in TOXIC_ACTIONS for f in self.schedule.faults)
            topo = topology.build(scenario, self.run_id, self.out_dir, proxied, stack, progress.set_phase,
                                  self.watchdog.watch_all)
            cluster = topo.cluster
            self._phase(progress, f"starting {scenario.target.kind} cluster ({scenario.target.nodes} nodes)")
            stack.enter_context(cluster)
            self.watchdog.watch_all(cluster.nodes.values(), "broker")
            self.versions = {**harness_versions(), **cluster.versions(), **topo.versions}
            self._phase(progress, f"starting {scenario.consumer.instances} consumer(s)")
            if scenario.consumer.dead_letter is not None:
                cluster.add_destination(scenario.consumer.dead_letter.destination)
            drops = cluster.add_drop_record(scenario.consumer)
            self.settings = cluster.settings()   # with every destination in place: its policies read back too
            consumers = stack.enter_context(ConsumerGroup(
                cluster, scenario.consumer, self.out_dir, self.run_id, scenario.seed, topo.downstream_urls, drops))
            self.versions.update(consumers.facts)
            self.watchdog.watch_all(consumers.instances.values(), "consumer")
            self.watchdog.watch_all(consumers.readers.values(), "dlq-reader")
            view = cluster.observation()   # once the consumers name the topics the harness reads
            observer = stack.enter_context(ClusterObserver(view, self.ledger_dir / OBSERVATIONS)) if view else None
            relay = None
            if scenario.producer.outbox is not None:
                self._phase(progress, "starting the outbox relay")
                relay = stack.enter_context(OutboxRelay(scenario, cluster.load_config(), self.out_dir, self.run_id))
                self.watchdog.watch_all([relay.process], "relay")
            self.injector = stack.enter_context(FaultInjector(
                self.schedule,
                lambda planned: RunFaultEnv(cluster, consumers, random.Random(planned.seed), topo.proxies,
                                            topo.network, relay, broker(scenario.target.kind).greeting),
                self.out_dir / JOURNAL, on_event=progress.event, poke=observer.poke if observer else lambda: None))
            self._phase(progress, f"load: {scenario.load.rate:g} msg/s for {scenario.load.duration:g}s")
            self._load_under_faults(stack.enter_context(
                LoadProcess(scenario, cluster.load_config(), self.out_dir, topo.runtime)), progress)
            self._phase(progress, "healing every fault")
            self.injector.heal_all()
            self._phase(progress, f"draining (up to {scenario.drain.timeout:g}s)")
            if consumers.instances:
                # The broker's own count ends a drain early only where it covers every pending message:
                # not with an outbox relay (rows not yet published) or a reader of dead letters or drops (hops
                # in flight).
                # It always confirms a drain that looks complete: a count can lag (a quorum queue reports
                # it every few seconds) and acknowledgements trail the ledger.
                drain(scenario.drain, self.ledger_dir, cluster.backlog, lambda: self._between_looks(progress),
                      progress.event, empty_ends=relay is None and not consumers.readers)
                record_broker_state(cluster, self.out_dir, progress.event)
            self._phase(progress, "stopping")
        log.info("all processes stopped")

    def _between_looks(self, progress: Progress) -> None:
        self.watchdog.raise_on_exit()
        progress.update()

    def _load_under_faults(self, load: LoadProcess, progress: Progress) -> None:
        """The main loop: faults fire on this thread while the load process runs."""
        assert self.injector is not None
        load_start = self.load_started_ns = time.time_ns()
        self.injector.start(load_start)
        deadline = time.monotonic() + load.deadline
        while load.running:
            self.injector.tick()
            self.watchdog.raise_on_exit()
            progress.update()
            if time.monotonic() > deadline:
                raise ClusterError(f"the load process did not finish within {load.deadline:g}s: see load.log")
            time.sleep(TICK)
        self.load_window = (load_start, time.time_ns())
        self.load_stats = load.stats()
        if self.load_stats is None:
            raise ClusterError(f"the load process ended without statistics: see {self.out_dir / 'load.log'}")
        self.versions |= self.load_stats.get("client", {})   # which producer client ran, and its version

    def _phase(self, progress: Progress, phase: str) -> None:
        """A phase boundary: every process must still be there, then the new phase begins."""
        self.watchdog.raise_on_exit(force=True)
        self.watchdog.phase = phase
        progress.set_phase(phase)

    def _journal_exit(self, exit: ProcessExit) -> None:
        """Unplanned exits go into the fault journal: one history of what happened to the system."""
        log.error("%s", exit.describe())
        FaultJournal(self.out_dir / JOURNAL).write("exit", exit.as_json(), ts_ns=exit.seen_ns)

    # -- inputs and outcome -------------------------------------------------------------
    def _write_inputs(self) -> None:
        if self.source is not None:
            shutil.copyfile(self.source, self.out_dir / "scenario.yaml")
        (self.out_dir / "scenario.resolved.json").write_text(
            json.dumps(self.scenario.model_dump(mode="json"), indent=2))
        (self.out_dir / "schedule.json").write_text(json.dumps(self.schedule.as_json(), indent=2))

    def _result(self, started: str, duration: float, error: str | None) -> RunResult:
        # Even a run that failed is checked: its ledgers say what happened before it failed.
        window = self.load_window or ((self.load_started_ns, time.time_ns()) if self.load_started_ns else None)
        findings = check_history(self.ledger_dir, window)
        metrics = merged_metrics(findings)
        samples = {f"{f.checker}.{k}": v for f in findings for k, v in f.samples.items()}
        if error is None:
            error = unjudgeable(metrics, self.out_dir)
        second = None
        if error is None:   # the nodes have stopped: their logs are final
            second = second_opinion(self.scenario, self.out_dir, self.ledger_dir, window, metrics, samples)
            if second is not None and second["disagreement"]:
                error = second["disagreement"]
                log.error("%s", error)
        verdict = judge(expectations(self.scenario, metrics), metrics) if error is None else Verdict("error", [])
        return RunResult(
            scenario=self.scenario.name, description=self.scenario.description, run_id=self.run_id,
            seed=self.scenario.seed, out_dir=str(self.out_dir), started=started, duration_s=round(duration, 1),
            verdict=verdict, metrics=metrics, faults=self.injector.records if self.injector else [],
            schedule=self.schedule.as_json(),
            samples=samples, checker_errors={f.checker: f.error for f in findings if f.error},
            load_stats=self.load_stats, versions=self.versions, settings=self.settings, error=error,
            load_start_ns=self.load_started_ns, environment=machine_environment(),
            process_exits=[exit.as_json() for exit in self.watchdog.exits], variant=self.variant,
            variant_why=self.variant_why, advice=self.advice, second_opinion=second,
        )
