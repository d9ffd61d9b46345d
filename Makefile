# Kizuna task runner. `make demo` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KIZUNA := $(BIN)/kizuna
PORT ?= 8000
DEMO_ACCOUNTS ?= 2000
DEMO_MONTHS ?= 36

.PHONY: install demo serve test test-sqlite test-postgres lint format bench messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(KIZUNA) migrate --noinput
	$(KIZUNA) demo-data --accounts $(DEMO_ACCOUNTS) --months $(DEMO_MONTHS) --seed 42 --if-empty
	$(KIZUNA) playbooks install-defaults
	$(KIZUNA) renewals
	$(KIZUNA) recompute --if-stale
	$(MAKE) --no-print-directory serve

serve: install
	$(KIZUNA) collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Kizuna is running at http://127.0.0.1:$(PORT)/"
	@echo "  Demo login: user 'demo', password 'kizuna-demo'"
	@echo ""
	$(KIZUNA) runserver 127.0.0.1:$(PORT) --noreload

test: install
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install
	$(BIN)/pytest

# The store tests again, on a throwaway PostgreSQL cluster the tests start themselves.
test-postgres: install
	KIZUNA_TEST_STORE=postgres $(BIN)/pytest -m django_db

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

messages: install
	cd src/kizuna && ../../$(KIZUNA) makemessages -l ja -l en --no-obsolete && ../../$(KIZUNA) compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
