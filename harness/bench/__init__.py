"""The benchmark suite (`python -m harness.bench`): registered benchmarks measured side by side in
one run, their figures and goals written to results.json. Kept import-light: measured child
processes import this package."""
