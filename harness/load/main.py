"""Entry point of the load process: `python -m harness.load.main CONFIG.json`.

Runs Locust as a library, headless, for the scenario's duration, then waits for every
outstanding send to be answered and writes Locust's statistics as JSON.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.ledger.writer import LedgerWriter  # noqa: E402
from harness.load.ledgered_user import LedgeredUser  # noqa: E402
from harness.load.users import user_class  # noqa: E402

INTERRUPTED_FINISH = 2.0  # seconds for outstanding sends once the run is interrupted


def stats_summary(env: Environment, cls: type[LedgeredUser]) -> dict[str, Any]:
    total = env.stats.total
    pct = {f"p{int(q * 100)}": total.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99)}
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": round(total.total_rps, 1),
        "response_time_ms": {"avg": round(total.avg_response_time, 2), "max": total.max_response_time, **pct},
        "errors": [{"error": str(e.error), "occurrences": e.occurrences} for e in env.stats.errors.values()][:20],
        "client": cls.client_versions(),
    }


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    cls = user_class(config["user"])
    ledger = LedgerWriter(Path(config["ledger"]))
    cls.configure(config, ledger)
    env = Environment(user_classes=[cls])
    runner = env.create_local_runner()
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    runner.start(config["users"], spawn_rate=config["users"])
    interrupted = stop.wait(timeout=config["duration"])
    runner.quit()
    # One deadline for all users, finishing side by side: a stalled cluster must not multiply the
    # wait. Stopped early (the run was interrupted), nobody waits for answers: the run is over.
    deadline = time.monotonic() + (INTERRUPTED_FINISH if interrupted else config["finish_timeout"])

    def finish(user: LedgeredUser) -> None:
        try:
            user.finish(timeout=max(1.0, deadline - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - keep finishing the others; unanswered sends stay attempts
            print(f"finishing {user.producer_no} failed: {exc!r}", flush=True)

    gevent.joinall([gevent.spawn(finish, user) for user in LedgeredUser.all_users])
    ledger.close()
    Path(config["stats"]).write_text(json.dumps(stats_summary(env, cls), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
