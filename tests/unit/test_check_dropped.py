"""Issue 16 point 4 on synthetic ledgers: what a configured limit discarded (the broker's own
reason, read back from the drop record or the dead-letter queue) is `dropped`, not lost; a
message missing without such a record is still lost; an unexpected drop fails the run."""

from __future__ import annotations

from pathlib import Path

from harness.check.dead_letters import DeadLetterChecker
from harness.check.delivery import DeliveryChecker, outstanding
from harness.check.history import History
from harness.judge import expectations, judge
from harness.scenario.loader import parse_scenario


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))


def history(tmp_path: Path, drops: list[str] = (), dlq: list[str] = (),  # type: ignore[assignment]
            delivered: tuple[int, ...] = (1,)) -> Path:
    write(tmp_path / "sends-0.csv", [f"A,{i},{100 + i},,," for i in (1, 2, 3, 4)]
          + [f"K,{i},{200 + i},0,," for i in (1, 2, 3, 4)])
    write(tmp_path / "deliveries-0.csv", [f"{i},0,,{300 + i},1,0" for i in delivered])
    if drops:
        write(tmp_path / "drops-reader.csv", list(drops))
    if dlq:
        write(tmp_path / "dlq-reader.csv", list(dlq))
    return tmp_path


def metrics(ledger: Path) -> dict:
    with History(ledger) as h:
        return DeliveryChecker().check(h).metrics | DeadLetterChecker().check(h).metrics


def test_what_a_limit_dropped_is_counted_apart_from_what_was_lost(tmp_path: Path) -> None:
    found = metrics(history(tmp_path, drops=["2,400,maxlen,1", "3,401,expired,1"]))
    assert (found["lost"], found["dropped"]) == (1, 2)   # 4 is missing with no word from the broker: lost
    with History(tmp_path) as h:
        samples = DeliveryChecker().check(h).samples
        assert outstanding(h) == 1                        # the drain waits for 4 only
    assert [s["id"] for s in samples["lost"]] == [4]
    assert samples["dropped"] == [{"id": 2, "reason": "maxlen"}, {"id": 3, "reason": "expired"}]


def test_without_a_record_of_drops_dropped_is_unknown_and_every_missing_message_lost(tmp_path: Path) -> None:
    found = metrics(history(tmp_path))
    assert (found["lost"], found["dropped"]) == (3, None)


def test_a_limit_moving_a_healthy_message_into_the_dead_letter_queue_is_a_drop_not_a_rejection(
        tmp_path: Path) -> None:
    found = metrics(history(tmp_path, dlq=["2,400,delivery_limit,6", "3,401,rejected,1"], delivered=(1, 3)))
    assert (found["lost"], found["dropped"]) == (1, 1)
    # 3 was rejected by a consumer though healthy: that one is the consumer's doing
    assert found["healthy_dead_lettered"] == 1


SCENARIO = "name: t\ntarget: {kind: rabbitmq}\nload: {users: 1, rate: 10, duration: 5s}\n"


def test_an_unexpected_drop_fails_the_run_and_an_expected_one_does_not() -> None:
    plain = parse_scenario(SCENARIO, "s.yaml")
    assert judge(expectations(plain, {"dropped": 0}), {"dropped": 0}).verdict == "pass"
    failed = judge(expectations(plain, {"dropped": 5}), {"dropped": 5})
    assert failed.verdict == "fail" and [e.name for e in failed.expectations] == ["dropped"]
    expecting = parse_scenario(SCENARIO + "expect: {dropped: {min: 1}}\n", "s.yaml")
    assert judge(expectations(expecting, {"dropped": 5}), {"dropped": 5}).verdict == "pass"


def test_a_message_delivered_then_discarded_by_its_delivery_limit_is_dropped_not_lost(tmp_path: Path) -> None:
    """A poison message requeued until its delivery limit: delivered (3 times), then the broker's drop."""
    found = metrics(history(tmp_path, drops=["1,400,delivery_limit,3"]))
    assert (found["lost"], found["dropped"]) == (3, 1)
