"""The RabbitMQ observer node's answer, as the harness records it: Erlang's node names become the
harness's (rabbit-2), in subjects and in lists; anything but a fact line is an error, not a fact."""

from __future__ import annotations

import pytest

from harness.brokers.rabbitmq.observation import parse
from harness.errors import ClusterError
from harness.observer import Fact

NAMES = {"asab12-1@localhost": "rabbit-1", "asab12-2@localhost": "rabbit-2", "asab12-3@localhost": "rabbit-3"}


def test_node_names_become_the_harness_names_in_subjects_and_lists() -> None:
    lines = ["fact\tnode:asab12-1@localhost\tanswers\tyes",
             "fact\tnode:asab12-1@localhost\trunning\tasab12-1@localhost;asab12-3@localhost",
             "fact\tnode:asab12-2@localhost\tanswers\tdown",
             "fact\tnode:asab12-1@localhost\talarms\tmemory@asab12-1@localhost",
             "fact\tqueue:orders\tleader\tasab12-3@localhost",
             "fact\tqueue:orders\tmembers\t",
             "fact\tqueue:node:odd\tstate\tlive"]
    assert parse(lines, NAMES) == [
        Fact("node:rabbit-1", "answers", "yes"), Fact("node:rabbit-1", "running", "rabbit-1;rabbit-3"),
        Fact("node:rabbit-2", "answers", "down"), Fact("node:rabbit-1", "alarms", "memory@rabbit-1"),
        Fact("queue:orders", "leader", "rabbit-3"), Fact("queue:orders", "members", ""),
        Fact("queue:node:odd", "state", "live")]


def test_a_line_that_is_not_a_fact_is_an_error() -> None:
    with pytest.raises(ClusterError, match="the RabbitMQ observer said"):
        parse(["=ERROR REPORT==== something"], NAMES)
