# The workbook's two commands: `make lab` (set up and open JupyterLab) and `make test` (set up and run every test).
# Both create .venv on first use and reinstall only when requirements.txt or pyproject.toml change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests replay at full speed; a .env with LABS_MODE=live on your machine does not leak into them.
TEST_ENV := LABS_MODE=replay LABS_REPLAY_SPEED=0
NBVAL := --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-current-env -p tests.nbval_support
# Without a display, JupyterLab prints its URL instead of opening a browser.
# JupyterLab refuses to run as root unless told; containers often are root.
LAB_FLAGS ?= $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-unit test-notebooks grade notebooks check refresh bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (streaming labs)" >/dev/null
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/00_setup_and_replay.ipynb

test: setup check test-unit test-notebooks

check: setup
	$(BIN)/python -m labs.workbook check

test-unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests -q -n 2 --dist loadfile

test-notebooks: setup
	$(TEST_ENV) $(BIN)/python -m pytest -q $(NBVAL) --nbval solutions
	$(TEST_ENV) $(BIN)/python -m pytest -q $(NBVAL) --nbval-lax notebooks

notebooks: setup
	$(BIN)/python -m labs.workbook build

# Re-record one lesson from the service in .env (LABS_MODE is set for you), store its outputs, regenerate its copy.
refresh: setup
	$(BIN)/python -m labs.lessons refresh $(LESSON)

grade: setup
	$(BIN)/python -m labs.workbook grade notebooks

# Benchmarks (not part of make test): prints a table, then one JSON line. About 6 minutes.
bench: setup
	$(TEST_ENV) $(BIN)/python -m labs.bench

clean:
	rm -rf $(VENV) .pytest_cache
