"""Issue 16 point 3 on real nodes: each release still says what capabilities.json records of it; a
run's queue arguments and policies reach the queues (the consumers re-declare the queue with the
same arguments, the harness's dead-lettering policy carries the scenario's), are read back into
the results, and a policy that displaces them stops the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.brokers.rabbitmq import _processes
from harness.brokers.rabbitmq.capabilities import CAPABILITIES_FILE, probe
from harness.brokers.rabbitmq.cluster import RabbitCluster
from harness.brokers.rabbitmq.dist import RELEASES
from harness.brokers.rabbitmq.spec import PolicySpec, QueueSpec, RabbitSpec
from harness.errors import ClusterError
from harness.runtimes.local import LocalRuntime
from tests.integration.conftest import install, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("rabbitmq_available")


@pytest.mark.parametrize("version", list(RELEASES))
def test_each_release_still_lists_what_capabilities_json_says(version: str, tmp_path: Path) -> None:
    if RELEASES[version].suite is not None:
        install(f"rabbitmq={version}", timeout=1800)
    spec = RabbitSpec(kind="rabbitmq", nodes=1, version=version)
    with _processes(spec, LocalRuntime("as-caps-test"), tmp_path) as cluster:
        found = probe(cluster)
    assert found == json.loads(CAPABILITIES_FILE.read_text())[version], \
        f"RabbitMQ {version} now says otherwise: run scripts/rabbitmq-capabilities {version}"


def test_a_policy_that_displaces_the_runs_own_is_an_error(tmp_path: Path) -> None:
    spec = RabbitSpec(kind="rabbitmq", nodes=1, queue=QueueSpec(arguments={"x-max-length": 50}),
                      policies=[PolicySpec(name="limits", pattern="^orders$", definition={"max-length-bytes": 10**6})])
    with RabbitCluster(spec, LocalRuntime("as-policy-read"), tmp_path) as cluster:
        settings = cluster.settings()["queues"]["orders"]
        assert settings["arguments"] == {"x-max-length": 50, "x-queue-type": "quorum"}
        assert (settings["policy"], settings["effective_policy"]) == ("limits", {"max-length-bytes": 10**6})
        # someone else's stronger policy: the queue no longer runs under what the scenario says
        cluster.ctl(1, "set_policy", "--priority", "9", "intruder", "^ord", json.dumps({"max-length": 1}))
        with pytest.raises(ClusterError, match="queue settings did not take.*'intruder'"):
            cluster.settings()


SCENARIO = """\
name: rabbitmq-queue-settings
seed: 3
target:
  kind: rabbitmq
  nodes: 1
  queue:
    name: orders
    type: quorum
    arguments: {x-max-length: 100000, x-delivery-limit: 5, x-quorum-initial-group-size: 1}
  policies:
    - {name: orders-limits, pattern: "^orders", definition: {max-length-bytes: 100000000}, priority: 2}
producer: {confirms: true, poison: {rate: 0.01}}
consumer: {instances: 2, ack: manual, dead_letter: {queue: orders-dlq}}
load: {users: 2, rate: 200, duration: 6s}
expect: {lost: 0, unexpected: 0}
"""


def test_arguments_and_policies_reach_the_queues_of_a_run(tmp_path: Path) -> None:
    scenario = tmp_path / "settings.yaml"
    scenario.write_text(SCENARIO)
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, verdict_report(results, code, tmp_path / "run")
    queues = results["settings"]["queues"]
    main, dlq = queues["orders"], queues["orders-dlq"]
    assert main["arguments"] == {"x-max-length": 100000, "x-delivery-limit": 5, "x-quorum-initial-group-size": 1,
                                 "x-queue-type": "quorum"}
    # the harness's dead-lettering policy, one priority above the scenario's, carries its key
    assert main["policy"] == "orders-dlq-dead-lettering"
    assert main["effective_policy"]["max-length-bytes"] == 100000000
    assert main["effective_policy"]["dead-letter-exchange"] == "orders-dlq.dlx"
    assert (dlq["policy"], dlq["effective_policy"]) == ("orders-limits", {"max-length-bytes": 100000000})
    assert results["metrics"]["dead_lettered"] >= 5   # rejects still reached the dead-letter queue
