# The two commands a new user types: `make demo` (runs the default scenario end to end)
# and `make test` (the whole test suite). Both install what they need first, idempotently.
VENV := .venv/bin
SCENARIO ?= scenarios/kafka-leader-kill-acks-all.yaml
PYTEST_ARGS ?=

.PHONY: install install-test demo test unit integration validate cleanup clean images bench bench-smoke soak

install:
	scripts/install.sh

install-test:
	scripts/install.sh --test

demo: install
	$(VENV)/aftershock run $(SCENARIO) --out reports/demo-$$(date +%Y%m%d-%H%M%S)

test: install-test
	$(VENV)/python -m pytest -ra --durations=30 $(PYTEST_ARGS)

unit: install-test
	$(VENV)/python -m pytest -ra tests/unit $(PYTEST_ARGS)

integration: install-test
	$(VENV)/python -m pytest -ra tests/integration $(PYTEST_ARGS)

validate: install
	$(VENV)/aftershock validate scenarios/*.yaml

images: install
	scripts/build-images.sh

# The benchmark suite (minutes, not part of `make test`); its smoke mode (seconds) is, via a unit test.
bench: install
	$(VENV)/python -m harness.bench --out bench/results.json

bench-smoke: install
	$(VENV)/python -m harness.bench --smoke --out reports/bench-smoke.json

# The interrupt soak (minutes, not part of `make test`, which runs 5 of its cases): SOAK_RUNS runs
# stopped at seeded moments by SIGINT, SIGTERM or SIGKILL + cleanup, each searched for leftovers.
SOAK_RUNS ?= 50
SOAK_SEED ?= 1
soak: install-test
	SOAK_RUNS=$(SOAK_RUNS) SOAK_SEED=$(SOAK_SEED) SOAK_OUT=reports/soak-$$(date +%Y%m%d-%H%M%S) \
		$(VENV)/python -m pytest -s -ra tests/integration/test_interrupt_soak.py $(PYTEST_ARGS)

cleanup:
	$(VENV)/aftershock cleanup

clean:
	rm -rf reports .pytest_cache
