"""The watchdog's decision on stand-in processes: an unplanned exit is reported once, with its status
and log tail; a process the harness or a fault killed is not; looks are rate-limited."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.watchdog import POLL_INTERVAL, ProcessDied, Watchdog


@dataclass
class StandIn:
    name: str
    alive: bool = True
    stopped_on_purpose: bool = False
    returncode: int | None = None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_unplanned_exit_is_reported_once_with_status_phase_and_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "consumer-1.log"
    log.write_text("".join(f"line {i}\n" for i in range(40)) + "kafka.errors.KafkaConnectionError: 111 ECONNREFUSED\n")
    clock, seen = Clock(), []
    dog = Watchdog(clock=clock, on_exit=seen.append)
    consumer, broker = StandIn("consumer-1"), StandIn("kafka-1")
    dog.watch(consumer, "consumer", log)
    dog.watch(broker, "broker")
    dog.phase = "load"
    assert dog.check() == []
    consumer.alive, consumer.returncode = False, 1
    clock.now += POLL_INTERVAL
    [exit] = dog.check()
    assert (exit.process, exit.role, exit.returncode, exit.phase) == ("consumer-1", "consumer", 1, "load")
    assert exit.log_tail[-1].endswith("111 ECONNREFUSED") and len(exit.log_tail) == 15
    assert seen == [exit] and dog.exits == [exit]
    clock.now += POLL_INTERVAL
    assert dog.check() == []          # reported once


def test_a_process_killed_on_purpose_is_not_an_unplanned_exit() -> None:
    clock = Clock()
    dog = Watchdog(clock=clock)
    node = StandIn("kafka-2")
    dog.watch(node, "broker")
    node.alive, node.stopped_on_purpose, node.returncode = False, True, -9   # a scheduled kill
    assert dog.check() == []
    node.alive, node.stopped_on_purpose = True, False                       # healed: started again
    clock.now += POLL_INTERVAL
    assert dog.check() == []
    node.alive, node.returncode = False, 137                                # then it dies by itself
    clock.now += POLL_INTERVAL
    [exit] = dog.check()
    assert exit.process == "kafka-2" and "exit status 137" in exit.describe()


def test_looks_are_rate_limited_unless_forced() -> None:
    clock = Clock()
    dog = Watchdog(clock=clock)
    proc = StandIn("relay")
    dog.watch(proc, "relay")
    assert dog.check() == []
    proc.alive = False
    clock.now += POLL_INTERVAL / 2
    assert dog.check() == []          # too soon for another look
    assert len(dog.check(force=True)) == 1


def test_raise_on_exit_makes_the_run_an_error_naming_the_process() -> None:
    dog = Watchdog(clock=Clock())
    proc = StandIn("consumer-2", alive=False, returncode=-9)
    dog.watch(proc, "consumer")
    dog.phase = "draining"
    with pytest.raises(ProcessDied) as raised:
        dog.raise_on_exit(force=True)
    assert "consumer-2 (consumer) exited unexpectedly during draining (killed by signal 9)" in str(raised.value)
