"""What a RabbitMQ cluster says of itself, for the cluster observer (harness.observer): whether each
node answers, and what each sees (the nodes running, its cluster's members, the partitions it has
detected, its alarms), and each queue's type, leader, members and state as the metadata records
them. Asked of a hidden Erlang node started once per run (observer.escript), over connections it
keeps open: a rabbitmqctl per look would start an Erlang VM each time (0.5-0.9 s of CPU here).

Nodes are named as faults name them (rabbit-2). The observer node dials out only: it listens on no
port and registers with no epmd, and it carries the run's id like every process of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import ClusterError
from harness.observer import Fact, View
from harness.runtimes.local import _die_with_parent, run_env

SCRIPT = Path(__file__).with_name("observer.escript")
STOP_TIMEOUT = 5.0


def renamed(text: str, names: dict[str, str]) -> str:
    """Erlang node names (one, or a ';'-joined list, or a subject `node:<name>`, or an alarm
    `memory@<name>`) as the harness names them."""
    def one(part: str) -> str:
        if part in names:
            return names[part]
        what, at, node = part.partition("@")
        return f"{what}@{names[node]}" if at and node in names else part

    head, sep, tail = text.partition(":") if text.startswith("node:") else ("", "", text)
    return head + sep + ";".join(one(part) for part in tail.split(";"))


def parse(lines: list[str], names: dict[str, str]) -> list[Fact]:
    """The observer node's answer to one look (`fact<TAB>subject<TAB>attribute<TAB>value` lines)."""
    facts = []
    for line in lines:
        kind, subject, attribute, value = (line.split("\t", 3) + ["", "", ""])[:4]
        if kind != "fact":
            raise ClusterError(f"the RabbitMQ observer said {line[:200]!r}")
        facts.append(Fact(renamed(subject, names), attribute, renamed(value, names)))
    return facts


@contextmanager
def rabbit_view(escript: str, node_names: dict[int, str], names: dict[int, str], home: Path, epmd_port: int,
                longnames: bool, run_id: str, log_path: Path) -> Iterator[View]:
    """A view over the run's observer node, run by `escript` (`node_names`: Erlang's; `names`: the
    harness's), which reads the run's cookie from `home` and finds the nodes through the run's epmd port."""
    host = "127.0.0.1" if longnames else "localhost"
    argv = [escript, str(SCRIPT), f"{run_id.replace('-', '')}-observer@{host}",
            "longnames" if longnames else "shortnames", *node_names.values()]
    env = {**os.environ, "HOME": str(home), "ERL_EPMD_PORT": str(epmd_port), **run_env(run_id)}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                env=env, start_new_session=True, preexec_fn=_die_with_parent)
    by_erlang = {node_names[i]: names[i] for i in node_names}
    assert proc.stdin is not None and proc.stdout is not None

    def view() -> list[Fact]:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write("look\n")
            proc.stdin.flush()
        except OSError:
            raise ClusterError(f"the RabbitMQ observer node has ended: see {log_path}") from None
        lines: list[str] = []
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line == "end":
                return parse(lines, by_erlang)
            lines.append(line)
        raise ClusterError(f"the RabbitMQ observer node has ended: see {log_path}")

    try:
        yield view
    finally:
        try:
            proc.stdin.close()
            proc.wait(timeout=STOP_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # beam's own children (erl_child_setup) go with it
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()
