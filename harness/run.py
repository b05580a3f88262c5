"""The orchestrator: phases in order, one ExitStack for every resource, a result whatever happens.

prepare -> cluster -> consumers (-> outbox relay) -> load + faults -> heal -> drain -> stop -> check -> judge
-> report
"""

from __future__ import annotations

import contextlib
import random
import json
import logging
import secrets
import shutil
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from harness.check import check_history, merged_metrics
from harness.check.delivery import outstanding
from harness.check.history import History
from harness.check.held import BROKER_STATE
from harness.cleanup import RunMarker, cleanup
from harness.consumers import ConsumerGroup
from harness.downstream import DownstreamService
from harness.drain import Backlog, DrainWatch
from harness.errors import AftershockError, ClusterError, Interrupted
from harness.faults.env import RunFaultEnv
from harness.faults.injector import FaultInjector
from harness.judge import Expectation, Verdict, judge
from harness.ledger.tail import LedgerTail
from harness.network.proxies import ProxyNet, client_groups
from harness.network.toxiproxy import ToxiproxyServer
from harness.load.process import LoadProcess
from harness.plan import Schedule, plan
from harness.progress import Progress
from harness.relay import OutboxRelay
from harness.report import write_reports
from harness.results import RunResult, machine_environment
from harness.runtimes import RUNTIME_KINDS
from harness.runtimes.local import LocalRuntime
from harness.scenario.fault_specs import TOXIC_ACTIONS
from harness.scenario.model import Bound, Scenario
from harness.targets import TARGETS
from harness.targets.base import Target
from harness.watchdog import ProcessExit, Watchdog

log = logging.getLogger("aftershock")
TICK = 0.2


def new_run_id() -> str:
    return f"as-{secrets.token_hex(4)}"


def expectations(scenario: Scenario) -> list[Expectation]:
    """The scenario's own, plus `faults_failed == 0` when it has faults and says nothing of it:
    a run whose faults did not happen must not pass as if they had."""
    out = []
    for name, value in scenario.expect.items():
        if isinstance(value, Bound):
            out.append(Expectation(name, min=value.min, max=value.max))
        else:
            out.append(Expectation(name, exact=value))
    if (scenario.faults or scenario.nemesis) and "faults_failed" not in scenario.expect:
        out.append(Expectation("faults_failed", exact=0))
    return out


def unjudgeable(metrics: dict[str, Any], out_dir: Path) -> str | None:
    """Why a finished run's history cannot support a verdict, or None: it sent nothing, its
    consumers stopped short of what the broker held (so no loss can be judged), or a ledger row
    could not be read."""
    if not metrics.get("acknowledged"):
        return f"no message was acknowledged, so nothing was tested: see {out_dir / 'load.log'}"
    if metrics.get("broker_held"):
        return (f"the consumers stopped short: when the drain ended the broker still held"
                f" {metrics['broker_held']} message(s) no consumer had taken ({metrics.get('undelivered')}"
                " acknowledged, never delivered ones among them, counted undelivered, not lost);"
                f" see {out_dir / 'consumers'} and {out_dir / BROKER_STATE}")
    if metrics.get("ledger_rejected_rows"):
        # A complete row that does not parse is a record the checkers never saw: it could hide a delivery.
        return (f"{metrics['ledger_rejected_rows']} complete ledger row(s) could not be read, so the history is"
                f" incomplete: see samples['ledger_integrity.rejected'] and {out_dir / 'ledger'}")
    return None


class _Interrupts:
    """Ctrl-C and SIGTERM unwind the ExitStack once; further signals during cleanup are ignored.
    A first signal that comes while the stack is already unwinding (the run's own teardown, or an
    error's) is held until the teardown is done: raised inside one resource's exit it would cut
    that exit short (a RabbitMQ cluster's epmd daemons outlived a SIGINT during `stopping`)."""

    def __init__(self) -> None:
        self.fired: str | None = None
        self.holding = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:
            log.warning("signal %d during cleanup ignored; cleanup is running", signum)
            return
        self.fired = f"interrupted by {signal.Signals(signum).name}; everything started was stopped"
        if self.holding:
            log.warning("%s during the teardown: it goes on to its end", signal.Signals(signum).name)
            return
        raise Interrupted(self.fired)

    @contextlib.contextmanager
    def installed(self):
        previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    @contextlib.contextmanager
    def teardown_held(self):
        """An ExitStack whose unwinding no signal cuts short; one held meanwhile is raised after it
        (unless the stack unwinds for an error of its own, which then stands)."""
        with contextlib.ExitStack() as stack:
            try:
                yield stack
            finally:
                self.holding = True
        self.holding = False
        if self.fired:
            raise Interrupted(self.fired)


@contextlib.contextmanager
def _harness_log(out_dir: Path):
    handler = logging.FileHandler(out_dir / "harness.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("aftershock"), logging.getLogger("kafka")]
    logging.getLogger("aftershock").setLevel(logging.INFO)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


class Run:
    """One execution of one scenario into one output directory."""

    def __init__(self, scenario: Scenario, out_dir: Path, console: Console, source: Path | None = None) -> None:
        self.scenario = scenario
        self.out_dir = out_dir.resolve()  # absolute: containers mount it at the same path
        self.console = console
        self.source = source
        self.run_id = new_run_id()
        self.schedule: Schedule = plan(scenario)
        self.ledger_dir = out_dir / "ledger"
        self.load_window: tuple[int, int] | None = None
        self.load_started_ns: int | None = None
        self.load_stats: dict | None = None
        self.versions: dict[str, str] = {}
        self.injector: FaultInjector | None = None
        self.interrupts = _Interrupts()
        self.watchdog = Watchdog(on_exit=self._journal_exit)

    def execute(self) -> RunResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.ledger_dir.mkdir(exist_ok=True)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        t0 = time.monotonic()
        error: str | None = None
        with _harness_log(self.out_dir), contextlib.ExitStack() as stack:
            log.info("run %s of %s into %s", self.run_id, self.scenario.name, self.out_dir)
            self._write_inputs()
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
            network = self._network(stack, progress)
            runtime = RUNTIME_KINDS[scenario.runtime].runtime(self.run_id, network, self.out_dir)
            if hasattr(runtime, "__exit__"):
                stack.enter_context(runtime)  # removes its containers after the target stopped them
            proxied = any(f.action in TOXIC_ACTIONS for f in self.schedule.faults)
            target: Target = TARGETS[scenario.target.kind](
                scenario.target, runtime, self.out_dir, client_groups(scenario.consumer.instances), proxied)
            proxies, downstream_urls = self._links(stack, progress, runtime, target, proxied)
            self._phase(progress, f"starting {scenario.target.kind} cluster ({scenario.target.nodes} nodes)")
            stack.enter_context(target)
            self.watchdog.watch_all(target.nodes.values(), "broker")
            self.versions = target.versions()
            self._phase(progress, f"starting {scenario.consumer.instances} consumer(s)")
            if scenario.consumer.dead_letter is not None:
                target.add_destination(scenario.consumer.dead_letter.destination)
            consumers = stack.enter_context(ConsumerGroup(
                target, scenario.consumer, self.out_dir, self.run_id, scenario.seed, downstream_urls))
            self.watchdog.watch_all(consumers.instances.values(), "consumer")
            self.watchdog.watch_all(consumers.readers.values(), "dlq-reader")
            relay = None
            if scenario.producer.outbox is not None:
                self._phase(progress, "starting the outbox relay")
                relay = stack.enter_context(OutboxRelay(scenario, target.load_config(), self.out_dir, self.run_id))
                self.watchdog.watch_all([relay.process], "relay")
            self.injector = stack.enter_context(FaultInjector(
                self.schedule,
                lambda planned: RunFaultEnv(target, consumers, random.Random(planned.seed), proxies, network, relay),
                self.out_dir / "faults.jsonl", on_event=progress.event))
            self._phase(progress, f"load: {scenario.load.rate:g} msg/s for {scenario.load.duration:g}s")
            self._load_under_faults(stack.enter_context(
                LoadProcess(scenario, target.load_config(), self.out_dir, runtime)), progress)
            self._phase(progress, "healing every fault")
            self.injector.heal_all()
            self._phase(progress, f"draining (up to {scenario.drain.timeout:g}s)")
            # The broker's own count ends a drain early only where it covers every pending message:
            # not with an outbox relay (rows not yet published) or dead-lettering (hops in flight).
            probe = target.backlog if relay is None and scenario.consumer.dead_letter is None else None
            self._drain(progress, consumers, probe)
            self._record_broker_state(target, consumers, progress)
            self._phase(progress, "stopping")
        log.info("all processes stopped")

    def _network(self, stack: contextlib.ExitStack, progress: Progress) -> Any:
        """The network the runtime's nodes live on (namespaces, a Docker network), or None."""
        nodes = list(range(1, self.scenario.target.nodes + 1))
        network = RUNTIME_KINDS[self.scenario.runtime].network(
            self.run_id, self.scenario.target.kind, nodes, self.scenario.network.isolation,
            self.scenario.compose_project)
        if network is None:
            return None
        progress.set_phase(f"creating the run's network ({type(network).__name__})")
        return stack.enter_context(network)

    def _links(self, stack: contextlib.ExitStack, progress: Progress, runtime: Any, target: Target,
               proxied: bool) -> tuple[ProxyNet | None, dict[int, str]]:
        """The downstream service, and Toxiproxy in front of every client path when faults need it.
        Runs before the brokers start: Kafka advertises the proxies' addresses. The service is a
        local process beside the clients; Toxiproxy runs where the runtime places it (a container
        on the Docker runtime's network, which reaches the service at the host's address there)."""
        local = runtime if isinstance(runtime, LocalRuntime) else LocalRuntime(self.run_id)
        host = getattr(runtime, "client_host", "127.0.0.1")
        instances = range(1, self.scenario.consumer.instances + 1)
        downstream_urls: dict[int, str] = {}
        service_upstreams: dict[tuple[str, int | str], tuple[str, int]] = {}
        if self.scenario.consumer.downstream is not None:
            downstream = stack.enter_context(DownstreamService(local, self.out_dir, host=host))
            self.watchdog.watch_all([downstream.process], "downstream")
            downstream_urls = {i: downstream.url for i in instances}
            service_upstreams = {(f"consumer{i}", downstream.name): (host, downstream.port) for i in instances}
        if not proxied:
            return None, downstream_urls
        progress.set_phase("starting Toxiproxy")
        toxiproxy = stack.enter_context(ToxiproxyServer(runtime, self.out_dir))
        self.watchdog.watch_all([toxiproxy.process], "toxiproxy")
        proxies = ProxyNet(None, {**target.routes.upstreams, **service_upstreams}, server=toxiproxy)
        proxies.create(toxiproxy.client)
        target.routes.route_through(proxies.endpoints())
        for key, (host, port) in proxies.endpoints().items():
            if key in service_upstreams:  # each consumer calls the service through its own proxy
                downstream_urls[int(key[0].removeprefix("consumer"))] = f"http://{host}:{port}"
        return proxies, downstream_urls

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

    def _drain(self, progress: Progress, consumers: ConsumerGroup, backlog: Backlog | None = None) -> None:
        """Wait for the consumers to catch up; harness.drain decides when to stop, and says why."""
        if not consumers.instances:
            return
        watch = DrainWatch(self.scenario.drain, time.monotonic(), backlog)
        while True:
            self.watchdog.raise_on_exit()
            progress.update()
            with History(self.ledger_dir) as history:
                missing = outstanding(history)
            if watch.observe(time.monotonic(), missing):
                break
            time.sleep(1.0)
        drain = self.scenario.drain
        why = {"broker-empty": "the broker holds nothing more for the consumers",
               "stalled": f"nothing more arrived for {drain.stall:g}s",
               "timeout": f"timed out after {drain.timeout:g}s"}
        if watch.reason == "drained":
            log.info("drained: every acknowledged message delivered")
            return
        log.warning("drain stopped: %s, %d acknowledged messages not delivered", why[watch.reason], missing)
        progress.event(f"[yellow]drain stopped: {why[watch.reason]}; {missing} acknowledged messages not delivered[/]")

    def _record_broker_state(self, target: Target, consumers: ConsumerGroup, progress: Progress) -> None:
        """What the broker still holds for the consumers once the drain is over, written beside the
        ledger: a message never delivered that the broker still holds is not lost, and the checker
        must be able to tell the two apart."""
        if not consumers.instances:
            return
        state: dict[str, Any] = {"topic": target.load_config()["topic"], "held": None, "positions": [],
                                 "error": None}
        try:
            state["positions"] = target.positions()
            state["held"] = (sum(max(0, p["end"] - p["committed"]) for p in state["positions"])
                             if state["positions"] else target.backlog())
        except Exception as exc:  # noqa: BLE001 - an unanswered query leaves the figure unknown, never 0
            state["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("could not ask the broker what it still holds: %s", state["error"])
        (self.out_dir / BROKER_STATE).write_text(json.dumps(state, indent=2))
        if state["held"]:
            log.warning("the broker still holds %d message(s) no consumer took", state["held"])
            progress.event(f"[red]the broker still holds {state['held']} message(s) no consumer took:"
                           " the consumers stopped short[/]")

    def _phase(self, progress: Progress, phase: str) -> None:
        """A phase boundary: every process must still be there, then the new phase begins."""
        self.watchdog.raise_on_exit(force=True)
        self.watchdog.phase = phase
        progress.set_phase(phase)

    def _journal_exit(self, exit: ProcessExit) -> None:
        """Unplanned exits go into the fault journal: one history of what happened to the system."""
        log.error("%s", exit.describe())
        with open(self.out_dir / "faults.jsonl", "a") as journal:
            journal.write(json.dumps({"event": "exit", "ts_ns": exit.seen_ns, **exit.as_json()}) + "\n")

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
        if error is None:
            error = unjudgeable(metrics, self.out_dir)
        verdict = judge(expectations(self.scenario), metrics) if error is None else Verdict("error", [])
        samples = {f"{f.checker}.{k}": v for f in findings for k, v in f.samples.items()}
        return RunResult(
            scenario=self.scenario.name, description=self.scenario.description, run_id=self.run_id,
            seed=self.scenario.seed, out_dir=str(self.out_dir), started=started, duration_s=round(duration, 1),
            verdict=verdict, metrics=metrics, faults=self.injector.records if self.injector else [],
            schedule=self.schedule.as_json(),
            samples=samples, checker_errors={f.checker: f.error for f in findings if f.error},
            load_stats=self.load_stats, versions=self.versions, error=error,
            load_start_ns=self.load_started_ns, environment=machine_environment(),
            process_exits=[exit.as_json() for exit in self.watchdog.exits],
        )
