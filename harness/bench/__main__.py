"""`python -m harness.bench [--smoke] [--only NAME ...] [--out PATH]`: runs the benchmark suite,
writes the results JSON and prints a table. Exit 0 when every benchmark ran (a missed goal is a
result, not a failure), 1 when one failed, 2 on a usage error."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console

from harness.bench.results import load_average, results_document, write_results
from harness.bench.suite import BENCHMARKS, run_suite
from harness.bench.table import print_results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m harness.bench",
        description="Runs the benchmark suite, writes the results JSON, prints a table.",
        epilog="Exit status: 0 every benchmark ran (missed goals included), 1 one failed, 2 usage error.")
    parser.add_argument("--smoke", action="store_true", help="small sizes (seconds), goals not judged")
    parser.add_argument("--only", action="extend", nargs="+", metavar="NAME", choices=sorted(BENCHMARKS),
                        help=f"run only these benchmarks (of: {', '.join(sorted(BENCHMARKS))})")
    parser.add_argument("--out", type=Path, metavar="PATH", default=Path("bench/results.json"),
                        help="results JSON (default: %(default)s)")
    args = parser.parse_args(argv)

    progress = Console(stderr=True)
    names = list(dict.fromkeys(args.only)) if args.only else list(BENCHMARKS)
    load_before = load_average()
    results = run_suite(names, args.smoke, lambda line: progress.print(line, style="dim", markup=False,
                                                                      highlight=False))
    command = shlex.join(["python", "-m", "harness.bench", *argv])
    write_results(results_document(results, args.smoke, command, load_before), args.out)
    print_results(results, Console(), args.smoke)
    progress.print(f"results written to {args.out}", markup=False, highlight=False)
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
