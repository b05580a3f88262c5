"""Runs one function in a fresh child process and measures it there: wall time of the call alone
and the child's peak RSS, so neither the parent's data (a generated ledger) nor its imports count.
The child's console output (DuckDB draws a progress bar on long queries) goes to a file, shown
only when the child fails."""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from harness.bench.base import BenchmarkFailed

OUTPUT_TAIL = 4000   # characters of the child's output shown when it fails


@dataclass(frozen=True)
class Measured:
    value: Any              # what the function returned (pickled back)
    seconds: float          # wall time of the call, imports and process start excluded
    cpu_seconds: float      # user + system CPU time of the call: below seconds x threads when CPUs were busy
    peak_rss_bytes: int     # the child's high-water mark over its whole life
    baseline_rss_bytes: int  # the child's RSS just before the call: interpreter and imports


def measure_in_child(function: Callable[..., Any], *args: Any, timeout_s: float = 600) -> Measured:
    """`function` must be importable by name (spawned children import it afresh). Its exception is
    raised here as BenchmarkFailed carrying the child's traceback and the tail of its output."""
    with tempfile.TemporaryDirectory(prefix="aftershock-bench-child-") as scratch:
        output = Path(scratch) / "output.log"
        try:
            outcome = _run_child(function, args, output, timeout_s)
        except BenchmarkFailed as failure:
            tail = output.read_text(errors="replace")[-OUTPUT_TAIL:] if output.exists() else ""
            raise BenchmarkFailed(f"{failure}\n--- child output (tail) ---\n{tail}" if tail else str(failure)) from None
    if isinstance(outcome, str):
        raise BenchmarkFailed(f"{function.__qualname__} raised in the child process:\n{outcome}")
    return outcome


def _run_child(function: Callable[..., Any], args: tuple[Any, ...], output: Path, timeout_s: float) -> Any:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args, str(output)),
                            name="aftershock-bench-child")
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise BenchmarkFailed(f"{function.__qualname__} gave no answer within {timeout_s:g} s")
        return receiver.recv()
    except EOFError:
        child.join(5)
        raise BenchmarkFailed(f"{function.__qualname__}: the child process died (exit code "
                              f"{child.exitcode}; out of memory?)") from None
    finally:
        if child.is_alive():
            child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        receiver.close()


def _child(sender: Connection, function: Callable[..., Any], args: tuple[Any, ...], output: str) -> None:
    with open(output, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        baseline = psutil.Process().memory_info().rss
        cpu_started, started = _cpu_seconds(), time.perf_counter()
        value = function(*args)
        seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
        sender.send(Measured(value, seconds, cpu_seconds, _peak_rss_bytes(), baseline))
    except BaseException:  # noqa: BLE001 - whatever ends the child (Ctrl-C included) goes back to the parent
        sender.send(traceback.format_exc())
    finally:
        sender.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024   # Linux counts kilobytes, macOS bytes
