"""The run's listeners take ports outside the kernel's ephemeral range: a node restarted after a
kill binds its ports again, and an outgoing connection may hold any ephemeral port meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runtimes.local import LocalRuntime, listen_port_range


def _range_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ip_local_port_range"
    path.write_text(text)
    return str(path)


def test_ports_come_from_below_the_ephemeral_range_where_there_is_room(tmp_path: Path) -> None:
    assert listen_port_range(_range_file(tmp_path, "32768\t60999\n")) == (20000, 32768)
    assert listen_port_range(_range_file(tmp_path, "10000\t50000\n")) == (50001, 65536)
    with pytest.raises(RuntimeError, match="narrow it"):
        listen_port_range(_range_file(tmp_path, "1024\t65000\n"))


def test_every_port_handed_out_is_outside_the_range_and_handed_out_once() -> None:
    runtime = LocalRuntime("as-ports")
    low, high = listen_port_range()
    ports = [runtime.free_port() for _ in range(300)]
    assert len(set(ports)) == 300
    assert all(low <= port < high for port in ports)
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        first, last = (int(part) for part in f.read().split())
    assert not any(first <= port <= last for port in ports)
