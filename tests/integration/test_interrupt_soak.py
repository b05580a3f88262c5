"""Interrupt soak: runs stopped at seeded random moments (SIGINT, SIGTERM, SIGKILL then
`aftershock cleanup`) across Kafka, RabbitMQ, namespaces, Toxiproxy and Docker leave nothing of
theirs behind. The suite runs a few cases; `make soak` runs SOAK_RUNS (50) with SOAK_SEED."""

from __future__ import annotations

import http.server
import os
import secrets
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.integration import soak
from tests.integration.conftest import run_leftovers

SUITE_RUNS = 5
RUNS = int(os.environ.get("SOAK_RUNS", SUITE_RUNS))
NEEDS = {"kafka": "kafka_available", "rabbitmq": "rabbitmq_available", "docker": "docker_engine"}


@pytest.mark.timeout(max(600, 150 * RUNS))   # a case takes about 20 s, up to 100 s when RabbitMQ stops slowly
def test_interrupted_runs_leave_nothing_behind(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if os.geteuid() != 0:
        pytest.skip("the soak's scenarios use network namespaces and RabbitMQ nodes: not root here")
    runs = RUNS
    seed = int(os.environ.get("SOAK_SEED", "1"))
    scenarios, skipped = [], []
    for name, (kind, runtime, _) in soak.SCENARIOS.items():
        try:
            for fixture in {NEEDS[kind], *([NEEDS["docker"]] if runtime == "docker" else [])}:
                request.getfixturevalue(fixture)
            scenarios.append(name)
        except pytest.skip.Exception as exc:
            skipped.append(f"{name}: {exc}")
    if not scenarios:
        pytest.skip("no soak scenario can run here: " + "; ".join(skipped))
    cases = soak.plan_cases(runs, seed, scenarios, max_docker=None if "SOAK_RUNS" in os.environ else 1)
    out_root = Path(os.environ.get("SOAK_OUT") or tmp_path).resolve()   # make soak keeps its runs in reports/
    out_root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    outcomes = []
    for case in cases:
        outcomes.append(soak.run_case(case, out_root))
        print(f"soak {case.label}: phase {outcomes[-1].phase}, exit {outcomes[-1].exit_status}, "
              f"{outcomes[-1].seconds}s, leftovers {outcomes[-1].leftovers}, problems {outcomes[-1].problems}",
              flush=True)
    report = soak.summary(outcomes, time.monotonic() - t0)
    if skipped:
        report += "\n  scenarios not run: " + "; ".join(skipped)
    report = f"SOAK_SEED={seed} SOAK_RUNS={runs}\n{report}"
    (out_root / "summary.txt").write_text(report + "\n")
    print(f"\n{report}")
    assert not any(o.leftovers or o.problems for o in outcomes), report


def test_soak_cases_cover_every_signal_scenario_and_moment() -> None:
    names = list(soak.SCENARIOS)
    cases = soak.plan_cases(SUITE_RUNS, 7, names, max_docker=1)
    assert {c.signal for c in cases} == set(soak.SIGNALS)
    assert {c.scenario for c in cases} == set(names)
    assert sum(c.scenario in soak.DOCKER_SCENARIOS for c in cases) == 1
    assert len({c.moment for c in cases}) >= 3
    assert cases == soak.plan_cases(SUITE_RUNS, 7, names, max_docker=1)  # seeded: the same cases again
    assert cases != soak.plan_cases(SUITE_RUNS, 8, names, max_docker=1)
    every = len(names) * len(soak.SIGNALS) * len(soak.MOMENTS)
    long = soak.plan_cases(every, 3, names)
    assert len({(c.scenario, c.signal, c.moment) for c in long}) == every   # each combination once
    fifty = soak.plan_cases(50, 3, names)
    for pool, attr in ((names, "scenario"), (soak.SIGNALS, "signal"), (soak.MOMENTS, "moment")):
        counts = [sum(getattr(c, attr) == v for c in fifty) for v in pool]
        assert max(counts) - min(counts) <= 1, (attr, counts)              # evenly spread
    assert all(0 <= c.delay <= soak.MOMENTS[c.moment][1] for c in long)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates namespaces, links and iptables rules: needs root")
def test_leftover_search_finds_each_kind_of_leftover(tmp_path: Path) -> None:
    """The soak's assertion can fail: a planted process, untagged process, namespace with a rule,
    bridge, FORWARD rule, rule on the run's subnet and answering Toxiproxy API are each found."""
    run_id = f"as-{secrets.token_hex(4)}"
    tag = run_id.removeprefix("as-")
    out = tmp_path / "run"
    out.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeToxiproxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (out / "harness.log").write_text(
        f"x INFO aftershock: run {run_id} of soak into {out}\n"
        f"x INFO aftershock: namespaces ready: as-{tag}-n1 on 198.19.254.0/24\n"
        f"x INFO aftershock: toxiproxy 2.12.0 at 127.0.0.1:{server.server_address[1]}\n")
    tagged = subprocess.Popen(["sleep", "300"], env={**os.environ, "AFTERSHOCK_RUN_ID": run_id})
    untagged = subprocess.Popen(["sh", "-c", f"sleep 300 # {out}"])
    ns, bridge = f"as-{tag}-n1", f"as{tag}br"
    forward = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]
    subnet_rule = ["INPUT", "-s", "198.19.254.7/32", "-j", "DROP"]
    steps = [["ip", "netns", "add", ns], ["ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-j", "DROP"],
             ["ip", "link", "add", bridge, "type", "bridge"], ["iptables", "-I", *forward],
             ["iptables", "-I", *subnet_rule]]
    try:
        for argv in steps:
            subprocess.run(argv, check=True, capture_output=True, timeout=20)
        found = "\n".join(run_leftovers(run_id, out))
        assert f"process {tagged.pid} sleep 300" in found
        assert f"untagged process {untagged.pid}" in found
        assert ns in found and f"{ns}: -A INPUT -j DROP" in found
        assert f"{bridge}:" in found and f"-A FORWARD -i {bridge}" in found
        assert "host rule on the run's subnet: -A INPUT -s 198.19.254.7/32" in found
        assert "still answering, proxies ['kafka-1']" in found
    finally:
        server.shutdown()
        for proc in (tagged, untagged):
            proc.kill()
            proc.wait()
        for argv in (["iptables", "-D", *subnet_rule], ["iptables", "-D", *forward], ["ip", "link", "del", bridge],
                     ["ip", "netns", "del", ns]):
            subprocess.run(argv, capture_output=True, timeout=20)
    assert run_leftovers(run_id, out) == []


class _FakeToxiproxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        body = b'{"kafka-1": {"listen": "127.0.0.1:1", "enabled": true}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
