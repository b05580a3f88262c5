"""The fault-tolerance patterns the sample consumers embody (retries with backoff and jitter,
circuit breaker, idempotent processing). Pure logic with injectable clocks, unit-tested alone."""
