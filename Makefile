# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
# `make playground` opens refbot in a browser; `make screenshots` remakes the README's pictures with it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo playground screenshots test lint install clean

$(BIN)/refbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/refbot

install: $(BIN)/refbot

demo: install
	$(BIN)/refbot demo

playground: install
	$(BIN)/refbot playground $(PLAYGROUND_ARGS)

# The browser test, saving what Chromium showed (needs Debian's chromium + chromium-driver, as .ci/run installs).
screenshots: install
	PLAYGROUND_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_playground_browser.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) *.egg-info
