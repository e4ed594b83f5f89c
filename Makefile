# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INSTANCE ?= $(CURDIR)/instance
export REVIEW_FLOW_INSTANCE_PATH ?= $(INSTANCE)

.PHONY: run test install lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Set up, create the SQLite database, load demo data when empty, serve on 127.0.0.1:5000.
# Development settings throughout: the upgrade seals webhook secrets with the key the
# development server uses.
run: export REVIEW_FLOW_DEVELOPMENT ?= 1
run: $(STAMP)
	$(BIN)/review-flow db upgrade
	$(BIN)/review-flow demo --if-empty
	@echo "Open http://127.0.0.1:5000/ (Ctrl-C stops)"
	$(BIN)/review-flow run --host 127.0.0.1 --port 5000

## Set up and run the whole suite (SQLite always; PostgreSQL when reachable; browser tests).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## Browser tests alone (Debian's Chromium at /usr/bin/chromium; Playwright never downloads one).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/cycle.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/machine.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) instance .pytest_cache
