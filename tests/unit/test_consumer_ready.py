"""The consumer group is ready only when every partition has an owner among its instances."""

from __future__ import annotations

from pathlib import Path

from harness.services.consumers import assigned


def test_the_union_of_the_latest_assignments_is_what_the_group_owns(tmp_path: Path) -> None:
    one, two, three = (tmp_path / f"deliveries-{i}.ready" for i in (1, 2, 3))
    one.write_text("[0, 2]")
    two.write_text("[]")          # joined while its broker did not know the topic: owns nothing
    three.write_text("")          # a queue consumer's marker: present, owns no partition
    assert assigned([one, two, three]) == {0, 2}
    assert not assigned([one, two, three]) >= {0, 1, 2}
    two.write_text("[1]")         # the rebalance after its metadata refresh
    assert assigned([one, two, three]) >= {0, 1, 2}
