# Two entry points for a newcomer: `make demo` and `make test`. Each bootstraps .venv itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'
	@touch $(STAMP)

# Debian packages the tests and benchmarks use (nginx for some lab endpoints, sslscan as a peer).
system-deps:
	@bash .ci/system-deps

demo: $(STAMP) system-deps
	@bash .ci/demo

test: $(STAMP) system-deps
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check probe bench tests
	$(BIN)/mypy --strict probe bench

bench: $(STAMP) system-deps
	$(BIN)/python -m probe.bench.quick

clean:
	rm -rf $(VENV) reports/*.json reports/*.md reports/*.csv reports/lab
