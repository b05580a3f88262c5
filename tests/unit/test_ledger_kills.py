"""Real SIGKILLs, no broker: a writer killed at random moments mid-write and restarted on the same ledger
name never makes a row it had flushed disappear."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness.check.history import History
from harness.check.ledger_integrity import LedgerIntegrity
from harness.ledger.schema import start_files

ROOT = Path(__file__).resolve().parents[2]
STARTS = 50

# Ledgers as the sample consumers do: a row per delivery then flush (kafka_consumer.serve), or a polled
# batch of rows then flush (the dead-letter readers). An id goes to stdout only once its flush returned.
WRITER = """
import random, sys, time
from pathlib import Path
from harness.ledger.writer import LedgerWriter

nominal, next_id, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
ledger = LedgerWriter(nominal, batch=256, interval=0.1)
while True:
    batch = 1 if seed % 2 else rng.randint(1, 4000)
    ids = range(next_id, next_id + batch)
    for i in ids:
        ledger.write(i, i % 6, i, time.time_ns(), 1, 0)
    ledger.flush()
    sys.stdout.write("".join(f"{i}\\n" for i in ids))
    sys.stdout.flush()
    next_id += batch
"""


def run_until_killed(nominal: Path, next_id: int, seed: int, rng: random.Random) -> list[int]:
    """Starts a writer, SIGKILLs it a random moment after its first flush, returns the ids it reported."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(nominal), str(next_id), str(seed)], cwd=ROOT,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    lines: list[bytes] = []
    first = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]  # stdout=PIPE
            lines.append(line)
            first.set()
        first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(timeout=10), "the writer reported nothing within 10 s"
        time.sleep(rng.uniform(0, 0.02))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the writer died on its own: see its stderr above"
    return [int(line) for line in lines if line.endswith(b"\n")]


def test_writers_sigkilled_mid_write_and_restarted_lose_no_flushed_row(tmp_path: Path) -> None:
    started = time.monotonic()
    nominal = tmp_path / "deliveries-1.csv"
    rng = random.Random(613)
    reported: list[int] = []
    for start in range(STARTS):
        ids = run_until_killed(nominal, (reported[-1] + 1) if reported else 1, start, rng)
        assert ids, f"start {start} reported no id"
        reported += ids
    files = start_files(nominal)
    assert len(files) == STARTS and files[0] == nominal
    torn_files = [path.name for path in files if path.read_bytes()[-1:] != b"\n"]
    with History(tmp_path) as history:
        found = {row[0] for row in history.sql("SELECT DISTINCT id FROM deliveries")}
        figures = LedgerIntegrity().check(history).metrics
        torn = sorted(row[0] for row in history.sql("SELECT file FROM ledger_defects WHERE kind = 'torn'"))
    assert set(reported) <= found, f"{len(set(reported) - found)} flushed rows not read back"
    assert figures == {"ledger_torn_rows": len(torn_files), "ledger_rejected_rows": 0}
    assert torn == sorted(torn_files)
    print(f"{STARTS} SIGKILLs, {len(reported)} flushed ids all read back, {len(torn_files)} torn last rows,"
          f" {time.monotonic() - started:.1f} s")
