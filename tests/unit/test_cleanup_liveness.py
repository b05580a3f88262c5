"""Whether a run is alive comes from the process table (its owner's pid and start time), never from a
per-user directory: decided here on synthetic process tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness import ownership as owner_mod, paths
from harness.ownership import (
    HOST_LABEL,
    OWNER_LABEL,
    OwnerRecord,
    executing,
    live_runs,
    owner_alive,
    parse_owner,
    process_orphaned,
    read_records,
    this_owner,
)
from harness.runtimes.docker import LABEL, engine_is_local, leftover

ME = "100:1000.00"
TABLE = {1: 10.0, 100: 1000.0, 4242: 5000.25}


def test_an_owner_is_alive_only_with_its_pid_and_its_start_time() -> None:
    assert owner_alive("4242:5000.25", TABLE, ME, "as-a", set())
    assert not owner_alive("4242:4999.00", TABLE, ME, "as-a", set())   # the pid was reused by another process
    assert not owner_alive("4243:5000.25", TABLE, ME, "as-a", set())   # gone
    for malformed in (None, "", "4242", "x:y", "4242:5000:1"):
        assert not owner_alive(malformed, TABLE, ME, "as-a", set())


def test_this_process_owns_only_the_runs_it_is_still_executing() -> None:
    """One orchestrator runs a matrix: an earlier run's leftovers are its next run's to end."""
    assert owner_alive(ME, TABLE, ME, "as-now", {"as-now"})
    assert not owner_alive(ME, TABLE, ME, "as-earlier", {"as-now"})


def test_records_decide_for_ownerless_processes_and_unreadable_records_count_as_alive() -> None:
    records = [("as-live", "4242:5000.25"), ("as-dead", "4243:1.00"), ("as-doubt", None)]
    alive = live_runs(records, TABLE, ME, set())
    assert alive == {"as-live", "as-doubt"}
    assert not process_orphaned("as-live", None, alive, TABLE, ME, set())
    assert process_orphaned("as-dead", None, alive, TABLE, ME, set())
    assert process_orphaned("as-nothing", None, alive, TABLE, ME, set())
    # a process's own owner tag outranks records: no record needed, none can keep a dead owner's alive
    assert not process_orphaned("as-other", "4242:5000.25", set(), TABLE, ME, set())
    assert process_orphaned("as-live", "4243:1.00", alive, TABLE, ME, set())


def test_records_are_machine_wide_whatever_home_or_cache_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AFTERSHOCK_CACHE", str(tmp_path / "cache"))
    assert paths.run_records_dirs()[0] == Path("/run/aftershock")


def test_an_owner_record_lives_exactly_as_long_as_its_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owner_mod, "run_records_dir", lambda: tmp_path)
    monkeypatch.setattr(owner_mod, "run_records_dirs", lambda: [tmp_path])
    with OwnerRecord("as-rec00001", "run"), OwnerRecord("as-rec00001", "net"):
        assert sorted(read_records()) == [("as-rec00001", this_owner())] * 2
        assert "as-rec00001" in executing()
        assert oct((tmp_path / "as-rec00001.run.json").stat().st_mode & 0o777) == "0o644"
    assert read_records() == [] and "as-rec00001" not in executing()
    (tmp_path / "as-torn.run.json").write_text('{"run_id": "as-to')
    assert read_records() == [("as-torn", None)]
    (tmp_path / "as-gone.net.json").write_text('{"run_id": "as-gone", "owner": "4243:1.00"}')
    (tmp_path / "as-here.net.json").write_text('{"run_id": "as-here", "owner": "4242:5000.25"}')
    owner_mod.forget_dead_records(TABLE, ME, set())   # a killed orchestrator's record goes, a live one's stays
    assert sorted(read_records()) == [("as-here", "4242:5000.25"), ("as-torn", None)]


def test_this_owner_is_this_process_as_the_table_sees_it() -> None:
    pid, started = parse_owner(this_owner())  # type: ignore[misc]  # this_owner() always parses
    assert pid == os.getpid()
    assert owner_alive(this_owner(), owner_mod.process_table(), "someone-else", "as-x", set())
    assert abs(owner_mod.process_table()[pid] - started) < 0.05


def _labels(run: str, owner: str | None, host: str | None) -> dict[str, str]:
    labels = {LABEL: run}
    if owner is not None:
        labels[OWNER_LABEL] = owner
    if host is not None:
        labels[HOST_LABEL] = host
    return labels


def test_docker_leftovers_are_this_hosts_runs_whose_orchestrator_is_gone() -> None:
    assert leftover(_labels("as-d", "4243:1.00", "here"), "here", TABLE, ME, set())
    assert not leftover(_labels("as-l", "4242:5000.25", "here"), "here", TABLE, ME, set())
    assert not leftover(_labels("as-d", "4243:1.00", "ci-runner-7"), "here", TABLE, ME, set())   # another host's
    assert not leftover(_labels("as-d", None, "here"), "here", TABLE, ME, set())     # no owner: not ours to judge
    assert not leftover(_labels("as-d", "4243:1.00", None), "here", TABLE, ME, set())
    # --all: every run of this host but the one kept, still never another host's
    assert leftover(_labels("as-l", "4242:5000.25", "here"), "here", TABLE, ME, set(), all_runs=True)
    assert not leftover(_labels("as-k", "4242:5000.25", "here"), "here", TABLE, ME, set(), all_runs=True, keep="as-k")
    assert not leftover(_labels("as-l", "4242:5000.25", "there"), "here", TABLE, ME, set(), all_runs=True)


def test_only_a_local_engine_is_cleaned() -> None:
    assert engine_is_local(None) and engine_is_local("") and engine_is_local("unix:///run/docker.sock")
    assert not engine_is_local("tcp://10.0.0.5:2375") and not engine_is_local("ssh://ci@build")


def test_cleanup_spares_a_live_foreign_owner_and_ends_a_dead_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole decision in cleanup(), with the process table and environments made up."""
    from harness import cleanup as cleanup_mod

    killed: list[int] = []
    monkeypatch.setattr(cleanup_mod, "process_table", lambda: TABLE)
    monkeypatch.setattr(cleanup_mod, "read_records", lambda: [])
    monkeypatch.setattr(cleanup_mod, "forget_dead_records", lambda *a: [])   # the machine's records stay
    monkeypatch.setattr(cleanup_mod, "_tagged", lambda: {
        4300: ("as-live0001", "4242:5000.25"), 4301: ("as-dead0001", "4243:1.00"), 4302: ("as-lost0001", None)})
    monkeypatch.setattr(cleanup_mod.os, "kill", lambda pid, sig: killed.append(pid))
    monkeypatch.setattr(cleanup_mod, "this_owner", lambda: ME)
    monkeypatch.setattr(cleanup_mod.psutil, "Process",
                        lambda pid=None: type("P", (), {"cmdline": lambda self: ["x"]})())
    monkeypatch.setattr(cleanup_mod.shutil, "which", lambda name: None)
    monkeypatch.setattr("harness.runtimes.docker.remove_leftovers", lambda *a, **k: [])
    ended = cleanup_mod.cleanup()
    assert sorted(set(killed)) == [4301, 4302] and len(ended) == 2
    killed.clear()
    cleanup_mod.cleanup(all_runs=True, keep="as-dead0001")
    assert sorted(set(killed)) == [4300, 4302]


def test_records_written_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owner_mod, "run_records_dir", lambda: tmp_path)
    with OwnerRecord("as-json0001"):
        record = json.loads((tmp_path / "as-json0001.run.json").read_text())
    assert record["run_id"] == "as-json0001" and record["owner"] == this_owner() and record["host"]
