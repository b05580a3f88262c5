# The two commands a new user types: `make demo` (runs the default scenario end to end)
# and `make test` (the whole test suite). Both install what they need first, idempotently.
VENV := .venv/bin
SCENARIO ?= scenarios/kafka-leader-kill-acks-all.yaml
PYTEST_ARGS ?=

.PHONY: install install-test demo test unit integration validate cleanup clean images

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

cleanup:
	$(VENV)/aftershock cleanup

clean:
	rm -rf reports .pytest_cache
