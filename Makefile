# Two commands matter: `make site` and `make test`. Each sets up .venv by itself.
PYTHON ?= python3
export NO_MKDOCS_2_WARNING := 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: site serve test lint golden schema bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

site: $(STAMP)  ## build the site and handouts from runbooks/ into site/
	$(BIN)/mkdocs build --strict

serve: $(STAMP)  ## preview the site with live reload at http://127.0.0.1:8000/
	$(BIN)/runbook serve

test: $(STAMP) lint  ## every test, after the linters and type checks
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check generator checks tests benchmarks
	$(BIN)/ruff format --check generator checks tests benchmarks
	$(BIN)/mypy generator checks

golden: $(STAMP)  ## regenerate the golden files under tests/golden (review the diff!)
	$(BIN)/python -m tests.golden

bench: $(STAMP)  ## measure against the performance targets; writes benchmarks/results.md
	$(BIN)/python benchmarks/bench.py

schema: $(STAMP)  ## regenerate runbooks/client.schema.json from the models
	$(BIN)/runbook schema > runbooks/client.schema.json

clean:
	rm -rf site dist .cache .pytest_cache .mypy_cache .ruff_cache build/docs/* build/.docs-html build/.docs-search
