"""A round trip through one proxy, timed: connect to where clients dial, send the broker's greeting
(Broker.greeting) and wait for its first byte back. What a link fault must show is read from it: a
latency toxic delays the answer, a timeout toxic holds it back, a reset or a proxy taken down ends
the connection."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

ANSWERED, SILENT, CLOSED, REFUSED = "answered", "silent", "closed", "refused"


@dataclass(frozen=True)
class Answer:
    how: str          # answered | silent (nothing within the wait) | closed (reset or EOF) | refused
    seconds: float    # from the greeting sent (or the connect tried) to the answer

    def describe(self) -> str:
        if self.how == ANSWERED:
            return f"answered in {self.seconds * 1000:.0f} ms"
        if self.how == SILENT:
            return f"no answer within {self.seconds:.1f}s"
        return f"{self.how} after {self.seconds * 1000:.0f} ms"


def round_trip(address: tuple[str, int], greeting: bytes, wait: float) -> Answer:
    started = time.monotonic()
    try:
        sock = socket.create_connection(address, timeout=wait)
    except ConnectionRefusedError:
        return Answer(REFUSED, time.monotonic() - started)
    except TimeoutError:
        return Answer(SILENT, time.monotonic() - started)
    with sock:
        sent = time.monotonic()
        try:
            sock.sendall(greeting)
            data = sock.recv(1)
        except TimeoutError:
            return Answer(SILENT, time.monotonic() - sent)
        except OSError:   # reset by the peer (reset_peer), or a pipe the proxy closed
            return Answer(CLOSED, time.monotonic() - sent)
        return Answer(ANSWERED if data else CLOSED, time.monotonic() - sent)
