"""runtime: compose binds only the project the scenario names (no engine needed: a fake one)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import EnvironmentProblem
from harness.network.compose import PROJECT, SERVICE, find_services


class Container:
    def __init__(self, project: str, service: str) -> None:
        self.labels = {PROJECT: project, SERVICE: service}


class Client:
    def __init__(self, *containers: Container) -> None:
        self.containers = self
        self._all = list(containers)

    def list(self, **_: Any) -> list[Container]:
        return self._all


SOLE_KAFKA = Client(*(Container("prod", f"kafka-{i}") for i in (1, 2, 3)), Container("prod", "zookeeper"))


def test_the_only_project_running_kafka_is_not_chosen_unless_named() -> None:
    with pytest.raises(EnvironmentProblem, match="compose_project"):
        find_services(SOLE_KAFKA, "kafka", [1, 2, 3], None)
    with pytest.raises(EnvironmentProblem, match=r"'staging' runs no kafka-<n> service .*prod"):
        find_services(SOLE_KAFKA, "kafka", [1, 2, 3], "staging")


def test_the_named_project_is_bound_and_must_have_every_node() -> None:
    client = Client(*(Container("prod", f"kafka-{i}") for i in (1, 2, 3)),
                    *(Container("mine", f"kafka-{i}") for i in (1, 2)))
    project, members = find_services(client, "kafka", [1, 2], "mine")
    assert project == "mine" and {c.labels[PROJECT] for c in members.values()} == {"mine"}
    with pytest.raises(EnvironmentProblem, match="has no service kafka-3"):
        find_services(client, "kafka", [1, 2, 3], "mine")
