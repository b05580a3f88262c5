"""When a drain stops, on a synthetic clock: the broker's backlog may end it early, never wrongly."""

from __future__ import annotations

from harness.drain import DrainWatch
from harness.scenario.model import DrainSpec

SPEC = DrainSpec(timeout=60, settle=3, stall=30)


def run(watch: DrainWatch, missing: list[int]) -> tuple[float, str]:
    """Feed one observation per second; the time and reason it stopped."""
    for second, count in enumerate(missing):
        if watch.observe(float(second), count):
            return float(second), watch.reason
    return -1.0, ""


def test_everything_delivered_stops_after_settle() -> None:
    assert run(DrainWatch(SPEC, 0.0), [5, 2, 0, 0, 0, 0, 0]) == (5.0, "drained")


def test_missing_messages_stop_after_stall_without_a_broker_count() -> None:
    assert run(DrainWatch(SPEC, 0.0), [7] * 40) == (30.0, "stalled")


def test_an_empty_broker_twice_in_a_row_ends_a_stalled_drain_early() -> None:
    asked: list[int] = []
    watch = DrainWatch(SPEC, 0.0, backlog=lambda: asked.append(1) or 0)
    assert run(watch, [7] * 40) == (4.0, "broker-empty")
    assert len(asked) == 2  # not asked before settle passed without progress


def test_a_broker_still_holding_messages_never_ends_the_drain_early() -> None:
    assert run(DrainWatch(SPEC, 0.0, backlog=lambda: 12), [7] * 40) == (30.0, "stalled")


def test_progress_or_a_non_empty_answer_resets_the_empty_count() -> None:
    answers = iter([0, 5, 0, 0, 0, 0, 0, 0, 0, 0])
    watch = DrainWatch(SPEC, 0.0, backlog=lambda: next(answers))
    # asked at 3 (0), 4 (5: reset), 5 (0), 6 (0): stops at 6
    assert run(watch, [7] * 40) == (6.0, "broker-empty")
    # missing still falling: the broker is never asked, whatever it would say
    never: list[int] = []
    watch = DrainWatch(SPEC, 0.0, backlog=lambda: never.append(1) or 0)
    assert run(watch, list(range(70, 0, -1)))[1] == "timeout" and never == []


def test_a_failing_or_unsure_broker_count_falls_back_to_the_stall() -> None:
    def broken() -> int:
        raise RuntimeError("no leader")

    assert run(DrainWatch(SPEC, 0.0, backlog=broken), [7] * 40) == (30.0, "stalled")
    assert run(DrainWatch(SPEC, 0.0, backlog=lambda: None), [7] * 40) == (30.0, "stalled")


def test_everything_delivered_waits_until_the_broker_holds_nothing_more() -> None:
    """Seen on a clean clone (compose RabbitMQ, two leader kills): every acknowledged message was
    delivered, but 18 redeliveries (their acks lost with the killed node) were still held when the
    drain ended, so the run was an error although nothing was missing."""
    answers = iter([18, 18, 7, 0])
    asked: list[int] = []
    watch = DrainWatch(SPEC, 0.0, backlog=lambda: asked.append(1) or next(answers))
    assert run(watch, [5, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == (7.0, "drained")
    assert len(asked) == 4   # asked only once settle had passed, then every look until it held nothing


def test_a_broker_that_keeps_holding_messages_ends_the_drain_at_its_timeout() -> None:
    assert run(DrainWatch(SPEC, 0.0, backlog=lambda: 3), [0] * 70) == (60.0, "timeout")


def test_a_broker_that_cannot_count_does_not_hold_up_a_drain() -> None:
    assert run(DrainWatch(SPEC, 0.0, backlog=lambda: None), [0] * 10) == (3.0, "drained")


def test_with_dead_lettering_the_broker_confirms_a_full_drain_but_never_ends_a_short_one() -> None:
    """Seen on a one-node quorum queue with a dead-letter queue: every acknowledged message delivered,
    the drain ended at once, and the broker's count (a quorum queue reports it every few seconds, the
    last acknowledgements trailing the ledger) still said 2 or 3: a clean run was an error, "the
    consumers stopped short". Its count covers the dead-letter hops too, so an empty broker must not
    end a drain with messages missing."""
    answers = iter([3, 3, 0])
    watch = DrainWatch(SPEC, 0.0, backlog=lambda: next(answers), empty_ends=False)
    assert run(watch, [0] * 10) == (5.0, "drained")
    assert run(DrainWatch(SPEC, 0.0, backlog=lambda: 0, empty_ends=False), [7] * 40) == (30.0, "stalled")
