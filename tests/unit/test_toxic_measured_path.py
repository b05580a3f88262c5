"""A toxic measures itself through a proxy whose broker still answers. Seen in CI: a leader kill at
2 s, then a 10 ms latency toxic on client->any at 3 s; its round trip went through the first proxy,
the killed leader's, which Toxiproxy closed at once, and the run was called inconclusive.

The proxies here are small in-process stand-ins for Toxiproxy's two behaviours that matter: a
proxy whose upstream is gone closes the connection, one with a latency toxic answers late."""

from __future__ import annotations

import random
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from harness.faults.toxics import Toxic, ToxicFault, measurable
from harness.services.proxies import Path

GREETING = b"hello"


class _Answers(socketserver.BaseRequestHandler):
    delay = 0.0

    def handle(self) -> None:
        self.request.recv(16)
        time.sleep(self.delay)
        self.request.sendall(b"!")


class _Closes(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.close()


@contextmanager
def serving(handler: type[socketserver.BaseRequestHandler], delay: float = 0.0) -> Iterator[tuple[str, int]]:
    cls = type("Handler", (handler,), {"delay": delay})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def dead_port() -> tuple[str, int]:
    """An address nothing listens on (a killed broker's)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[:2]


def test_the_latency_is_measured_through_a_live_brokers_proxy_not_the_killed_ones() -> None:
    with serving(_Closes) as killed_proxy, serving(_Answers) as broker2, \
            serving(_Answers, delay=0.15) as proxy2:
        paths = [Path("producer", 1, killed_proxy, dead_port()), Path("producer", 2, proxy2, broker2)]
        assert measurable(paths, GREETING) == paths[1]
        fault = Toxic(ToxicFault(action="latency", link="client->any", latency="100ms", at=0))
        env: Any = SimpleNamespace(greeting=GREETING, rng=random.Random(1), node_of=lambda sel: 1,
                                   proxies=SimpleNamespace(select=lambda link, node: paths))
        check = fault.verify(env, healed=False)
    assert check is not None and check.ok, check
    assert check.detail.startswith("through producer-n2: answered in "), check.detail


def test_where_no_broker_answers_directly_the_first_path_is_all_there_is() -> None:
    with serving(_Closes) as proxy:
        paths = [Path("producer", 1, proxy, dead_port()), Path("producer", 2, proxy, dead_port())]
        assert measurable(paths, GREETING) == paths[0]
        fault = Toxic(ToxicFault(action="latency", link="client->any", latency="100ms", at=0))
        env: Any = SimpleNamespace(greeting=GREETING, rng=random.Random(1), node_of=lambda sel: 1,
                                   proxies=SimpleNamespace(select=lambda link, node: paths))
        check = fault.verify(env, healed=False)
    assert check is not None and not check.ok and "through producer-n1: closed" in check.detail, check
