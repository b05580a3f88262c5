"""Lost messages explained from the cluster's own record (issue 17 point 5), on a synthetic ledger:
the acknowledging leader and epoch, and the failover whose new leader's log ended below them."""

from __future__ import annotations

from pathlib import Path

from harness.check.delivery import DeliveryChecker
from harness.check.history import History

S = 1_000_000_000


def ledger(tmp_path: Path, observations: list[str]) -> Path:
    """Ids 1-4 acknowledged on orders/0 at offsets 800-803 (9 s), 1 and 2 delivered; the other topic
    (the dead letters', one partition) is recorded too and must not be mistaken for it."""
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    sends = "".join(f"A,{i},{8 * S},,,\nK,{i},{9 * S + i},0,{799 + i},\n" for i in range(1, 5))
    (ledger / "sends-0.csv").write_text(f"A,9,{5 * S},,,\n" + sends)
    (ledger / "deliveries-1.csv").write_text(f"1,0,800,{10 * S},1,0\n2,0,801,{10 * S},1,0\n")
    (ledger / "cluster-observer.csv").write_text("".join(f"{row}\n" for row in observations))
    return ledger


def lost_rows(ledger: Path) -> list[dict]:
    with History(ledger) as history:
        return DeliveryChecker().check(history).samples["lost"]


FAILOVER = [f"{6 * S},partition:orders/0,leader,kafka-2", f"{6 * S},partition:orders/0,epoch,3",
            f"{6 * S},partition:orders/0,end,700", f"{6 * S},partition:orders.dlq/0,leader,kafka-1",
            f"{6 * S},partition:orders.dlq/0,end,0", f"{12 * S},partition:orders/0,end,?",
            f"{21 * S},partition:orders/0,leader,kafka-3", f"{21 * S},partition:orders/0,epoch,4",
            f"{22 * S},partition:orders/0,end,802"]


def test_a_lost_record_is_told_by_its_ack_and_the_failover_that_truncated_it(tmp_path: Path) -> None:
    rows = lost_rows(ledger(tmp_path, FAILOVER))
    assert [r["id"] for r in rows] == [3, 4]
    # time zero is the first attempt (5 s)
    assert rows[0]["explained"] == ("acknowledged by kafka-2 at offset 802 in epoch 3 at +4.0s; kafka-3 became"
                                    " leader in epoch 4 at +16.0s with log end 802: 2 acknowledged records of"
                                    " orders/0 beyond it were truncated")
    assert rows[1]["explained"].startswith("acknowledged by kafka-2 at offset 803 in epoch 3")


def test_a_lost_record_without_a_failover_after_it_says_so(tmp_path: Path) -> None:
    rows = lost_rows(ledger(tmp_path, FAILOVER[:6]))
    assert rows[0]["explained"] == ("acknowledged by kafka-2 at offset 802 in epoch 3 at +4.0s; leadership of"
                                    " orders/0 never moved after it")


def test_without_a_record_of_the_cluster_the_rows_are_as_they_were(tmp_path: Path) -> None:
    rows = lost_rows(ledger(tmp_path, []))
    assert [r["id"] for r in rows] == [3, 4] and all("explained" not in r for r in rows)


def duplicated_rows(ledger: Path) -> list[dict]:
    with History(ledger) as history:
        return DeliveryChecker().check(history).samples["duplicated"]


def test_a_redelivery_is_told_by_the_group_change_and_a_record_stored_twice_by_the_failover(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "sends-0.csv").write_text(f"A,1,{5 * S},,,\nK,1,{6 * S},0,800,\nA,2,{5 * S},,,\nK,2,{6 * S},0,801,\n")
    # id 1 delivered twice from offset 800 (a redelivery); id 2 stored at 801 and again at 805
    (ledger / "deliveries-1.csv").write_text(f"1,0,800,{7 * S},1,0\n2,0,801,{7 * S},1,0\n")
    (ledger / "deliveries-2.csv").write_text(f"1,0,800,{20 * S},2,0\n2,0,805,{20 * S},2,0\n")
    (ledger / "cluster-observer.csv").write_text("".join(f"{row}\n" for row in [
        f"{4 * S},partition:orders/0,leader,kafka-2", f"{4 * S},partition:orders/0,end,700",
        f"{4 * S},group:orders-svc,members,orders-svc-1@a;orders-svc-2@b",
        f"{12 * S},partition:orders/0,leader,kafka-3", f"{15 * S},group:orders-svc,members,orders-svc-2@b"]))
    rows = {r["id"]: r for r in duplicated_rows(ledger)}
    assert rows[1]["explained"] == "group orders-svc changed members 1 time(s) between its send and last delivery"
    assert rows[2]["explained"] == "orders/0 led by kafka-3 at +7.0s"
