# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
# What the suite must leave as it found it: changes and new files (empty outside git).
TREE_STATE = { git status --porcelain --untracked-files=all; git diff; } 2>/dev/null | sha256sum
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INSTANCE ?= $(CURDIR)/instance
PORT ?= 5000
export REVIEW_FLOW_INSTANCE_PATH ?= $(INSTANCE)

.PHONY: run test install lint bench clean browser screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Set up, create the SQLite database, load demo data when empty, serve on 127.0.0.1:$(PORT)
## (`make run PORT=8000` for another port; 5000 by default).
# Development settings throughout: the upgrade seals webhook secrets with the key the
# development server uses.
run: export REVIEW_FLOW_DEVELOPMENT ?= 1
run: $(STAMP)
	$(BIN)/review-flow db upgrade
	$(BIN)/review-flow demo --if-empty
	@echo "Open http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(BIN)/review-flow run --host 127.0.0.1 --port $(PORT)

## Set up and run the whole suite (SQLite always; PostgreSQL when reachable; browser tests),
## after ruff and mypy (zero errors on src/; configuration in pyproject.toml).
# Tests write only to temporary and build folders: the run fails if it changed the tree.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@$(TREE_STATE) > $(VENV)/.tree-before
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@$(TREE_STATE) | cmp -s - $(VENV)/.tree-before || { \
	  echo "make test changed files in the working tree:" >&2; git status --short >&2; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Browser tests alone (Debian's Chromium at /usr/bin/chromium; Playwright never downloads one).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

## Refresh the README's pictures (docs/screenshots) from the browser journey; the test
## run itself saves them under build/screenshots only.
screenshots: $(STAMP)
	REVIEW_FLOW_SCREENSHOTS=$(CURDIR)/docs/screenshots REVIEW_FLOW_REQUIRE_BROWSER=1 \
	  $(BIN)/python -m pytest tests/browser/test_journey.py -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/cycle.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/machine.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) instance .pytest_cache
