#!/usr/bin/env python3
"""Sample downstream service `inventory`: one side effect per call, written to its own ledger.

The consumers call POST /reserve {"id": ..., "consumer": ..., "mode": "normal"|"degraded"} once
per message they process. Its ledger is the ground truth of what the services did: a second
reservation for one id is a side-effect duplicate. A call carrying an `Idempotency-Key` header
already seen is answered without acting again and ledgered as a `replay` (the way payment APIs
honour such keys): that is how an idempotent consumer gets exactly one side effect even when it
dies between the call and recording that it made it. Calls without the header always act.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.ledger.writer import LedgerWriter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ledger", type=Path, required=True)
    args = parser.parse_args()
    ledger = LedgerWriter(args.ledger, batch=64, interval=0.05)
    lock = threading.Lock()
    seen_keys: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/reserve":
                self.send_error(404)
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                row = (int(body["id"]), time.time_ns(), int(body.get("consumer", 0)), body.get("mode", "normal"))
            except (ValueError, KeyError, TypeError):
                self.send_error(400, "expected {id, consumer, mode}")
                return
            key = self.headers.get("Idempotency-Key")
            with lock:
                if key is not None and key in seen_keys:
                    row = (*row[:3], "replay")
                elif key is not None:
                    seen_keys.add(key)
                ledger.write(*row)
                ledger.flush()  # recorded before the caller hears it was done
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"inventory listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
