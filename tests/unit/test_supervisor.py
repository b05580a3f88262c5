"""The sample services' client supervisor: transient errors retried with backoff, a persistently
failing client rebuilt, bugs propagated (the process exits and the harness sees it)."""

from __future__ import annotations

import random

import pytest

from harness.patterns.backoff import Backoff
from harness.patterns.supervisor import Supervisor


class Refused(ConnectionRefusedError):
    pass


class FakeClient:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False


def _supervisor(steps: list[object], log: list[str], slept: list[float], **kw: object) -> Supervisor[FakeClient]:
    def stopping() -> bool:
        return not steps

    return Supervisor("consumer-1", (OSError,), stopping, random.Random(1), log=log.append,
                      sleep=slept.append, **kw)  # type: ignore[arg-type]  # kw: Supervisor fields


def test_transient_errors_are_retried_with_growing_jittered_backoff_and_logged() -> None:
    steps: list[object] = [Refused("111 ECONNREFUSED")] * 4 + ["ok", "ok"]
    log: list[str] = []
    slept: list[float] = []
    built: list[FakeClient] = []
    done: list[int] = []

    def step(client: FakeClient) -> None:
        outcome = steps.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        done.append(client.n)

    def connect() -> FakeClient:
        built.append(FakeClient(len(built)))
        return built[-1]

    sup = _supervisor(steps, log, slept, rebuild_after=10)
    sup.run(connect, step, lambda c: setattr(c, "closed", True))
    assert done == [0, 0]                       # the same client went on after the errors
    assert sup.total_failures == 4 and sup.rebuilds == 0
    assert len(built) == 1 and built[0].closed  # closed once, at the end
    assert sum(1 for line in log if "transient error Refused: 111 ECONNREFUSED" in line) == 4
    assert any("recovered after 4 failure(s)" in line for line in log)
    assert 0 < sum(slept) <= 0.1 + 0.2 + 0.4 + 0.8   # full jitter under an exponential ceiling


def test_a_client_failing_repeatedly_is_rebuilt() -> None:
    steps: list[object] = [Refused("x")] * 6 + ["ok"]
    log: list[str] = []
    built: list[FakeClient] = []
    served: list[int] = []

    def step(client: FakeClient) -> None:
        outcome = steps.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        served.append(client.n)

    def connect() -> FakeClient:
        built.append(FakeClient(len(built)))
        return built[-1]

    sup = _supervisor(steps, log, [], rebuild_after=3)
    sup.run(connect, step, lambda c: setattr(c, "closed", True))
    assert sup.rebuilds == 2 and len(built) == 3
    assert served == [2]                        # the third client did the work
    assert all(c.closed for c in built)
    assert sum("rebuilding the client" in line for line in log) == 2


def test_a_failing_connect_is_retried_too() -> None:
    steps: list[object] = ["ok"]
    attempts: list[int] = []

    def connect() -> FakeClient:
        attempts.append(1)
        if len(attempts) < 3:
            raise Refused("node down")
        return FakeClient(0)

    sup = _supervisor(steps, [], [])
    sup.run(connect, lambda c: steps.pop(0) and None, lambda c: None)
    assert len(attempts) == 3 and sup.total_failures == 2


def test_an_error_that_is_not_transient_propagates_and_the_client_is_closed() -> None:
    steps: list[object] = ["boom"]
    client = FakeClient(0)

    def step(c: FakeClient) -> None:
        raise KeyError("a bug")

    sup = _supervisor(steps, [], [])
    with pytest.raises(KeyError):
        sup.run(lambda: client, step, lambda c: setattr(c, "closed", True))
    assert client.closed


def test_a_stop_request_cuts_a_long_backoff_short() -> None:
    stop = {"now": False}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        stop["now"] = True                      # SIGTERM arrives during the first slice

    def step(c: FakeClient) -> None:
        raise Refused("down")

    sup: Supervisor[FakeClient] = Supervisor("c", (OSError,), lambda: stop["now"], random.Random(0),
                                             sleep=sleep, log=lambda _: None,
                                             backoff=Backoff(1.0, 2.0, "none", max_attempts=10))
    sup.run(lambda: FakeClient(0), step, lambda c: None)
    assert slept == [0.1]                       # not the whole second


def test_a_client_idle_when_it_should_work_is_wedged_and_rebuilt_at_once() -> None:
    from harness.patterns.supervisor import IdleWatch, Wedged

    clock = Clock()
    watch = IdleWatch(15.0, clock=clock)
    first, second = FakeClient(0), FakeClient(1)
    watch.observe(first, working=False, should_work=True)
    clock.now = 14.9
    watch.observe(first, working=False, should_work=True)          # not yet
    clock.now = 16.0
    watch.observe(first, working=False, should_work=False)         # topic unknown: idle, not wedged
    clock.now = 30.0
    watch.observe(first, working=True, should_work=True)           # assigned: fine
    clock.now = 40.0
    watch.observe(second, working=False, should_work=True)         # a new client starts afresh
    clock.now = 55.0
    with pytest.raises(Wedged):
        watch.observe(second, working=False, should_work=True)

    steps: list[object] = [Wedged("no partitions"), "ok"]
    built: list[FakeClient] = []
    log: list[str] = []

    def step(client: FakeClient) -> None:
        outcome = steps.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome

    def connect() -> FakeClient:
        built.append(FakeClient(len(built)))
        return built[-1]

    sup = _supervisor(steps, log, [], rebuild_after=5)
    sup.run(connect, step, lambda c: setattr(c, "closed", True))
    assert sup.rebuilds == 1 and len(built) == 2 and built[0].closed
    assert any("client wedged" in line for line in log)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_assigned_partition_silent_while_the_broker_holds_more_is_wedged() -> None:
    """librdkafka#5586: an assigned partition the client never fetches again. Quiet partitions (the
    broker holds nothing more) and unanswered probes are no wedge; a new client starts afresh."""
    from harness.patterns.supervisor import StallWatch, Wedged

    clock = Clock()
    watch = StallWatch(20.0, clock=clock)
    asked: list[set[int]] = []
    holds: dict[int, bool] = {0: False, 1: True, 2: False}

    def behind(partitions: set[int]) -> set[int] | None:
        asked.append(set(partitions))
        return {p for p in partitions if holds[p]}

    first = FakeClient(0)
    watch.observe(first, {0, 1}, set(), behind)
    clock.now = 10.0
    watch.observe(first, {0, 1}, {1}, behind)          # 1 delivered at 10 s
    clock.now = 19.9
    watch.observe(first, {0, 1}, set(), behind)
    assert asked == []                                 # nobody silent for 20 s yet
    holds[0] = False
    clock.now = 20.0
    watch.observe(first, {0, 1}, set(), behind)        # 0 silent, and the broker holds nothing for it
    assert asked == [{0}]
    clock.now = 29.0
    watch.observe(first, {0, 1}, set(), behind)        # 0 was just found quiet: not asked again yet
    assert asked == [{0}]
    clock.now = 30.0
    with pytest.raises(Wedged, match=r"\[1\]"):        # 1 silent since 10 s, the broker holds more
        watch.observe(first, {0, 1}, set(), behind)
    assert asked[-1] == {1}

    second = FakeClient(1)                             # the rebuilt client starts afresh
    watch.observe(second, {0, 1, 2}, set(), lambda partitions: None)
    clock.now = 50.0
    unknown: list[set[int]] = []
    watch.observe(second, {0, 1, 2}, set(), lambda partitions: unknown.append(partitions) or None)
    assert unknown == [{0, 1, 2}]                      # asked, no answer: no wedge, asked again soon
    clock.now = 54.0
    watch.observe(second, {0, 1, 2}, set(), lambda partitions: unknown.append(partitions) or None)
    assert len(unknown) == 1
    clock.now = 55.0
    with pytest.raises(Wedged):
        watch.observe(second, {0, 1, 2}, set(), behind)
    clock.now = 80.0
    watch.observe(second, {2}, {2}, behind)            # a partition revoked is forgotten
