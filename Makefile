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

.PHONY: setup lab fresh test test-unit test-notebooks grade grade-class notebooks check refresh fixtures outputs test-lesson bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml $(wildcard jupyter-config/* jupyter-config/*/*/*)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (streaming labs)" >/dev/null
	# JupyterLab's own settings for this environment: no news pop-up, no language-server noise, kernels over IPC.
	mkdir -p $(VENV)/etc/jupyter $(VENV)/share/jupyter/lab/settings
	cp jupyter-config/jupyter_server_config.json jupyter-config/jupyter_server_config.py $(VENV)/etc/jupyter/
	cp jupyter-config/lab/settings/overrides.json $(VENV)/share/jupyter/lab/settings/
	touch $(STAMP)

# The file browser shows the whole workbook; the printed URL opens lesson 00 in workspace/, where the learner works:
# the first `make lab` copies the lessons there from notebooks/ (which make notebooks and make test regenerate),
# later ones copy only lessons it lacks and never overwrite a file there.
# `make lab LANG=vi` (README.vi.md): the Vietnamese copies (notebooks/vi/) go to workspace/vi/, copied the same way, and
# lesson 00 opens in Vietnamese; the English lessons still go to workspace/ (a lesson not translated yet is read there).
# Only LANG=vi counts: LANG is also the shell's locale (C.UTF-8, en_US.UTF-8), which keeps the English workbook.
LAB_LANG := $(filter vi,$(LANG))
LAB_WORKSPACE := workspace$(LAB_LANG:%=/%)
LAB_OPEN ?= $(LAB_WORKSPACE)/00_setup_and_replay.ipynb
lab: setup
	$(BIN)/python -m labs.workbook workspace --notebooks notebooks --workspace workspace
	$(if $(LAB_LANG),$(BIN)/python -m labs.workbook workspace --notebooks notebooks/$(LAB_LANG) --workspace $(LAB_WORKSPACE))
	$(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(LAB_OPEN)

# check, the unit tests and the notebooks run side by side: the unit tests wait on kernels, browsers, servers and paced
# streams for a third of their time, and the notebooks (at a lower priority, so the unit tests' real-process timings see
# the machine as they would alone) fill it. make -O prints each one's report whole when it ends. Alone, in turn:
# make check, make test-unit, make test-notebooks.
test: setup
	@$(MAKE) --no-print-directory -j3 -O check test-unit test-notebooks NICE="nice -n 10"

check: setup
	$(BIN)/python -m labs.workbook check

# Two workers per core: most tests wait on a real process or a paced stream (four workers: 410 s, two: 536 s);
# --dist loadfile keeps each file on one worker, with its servers; tests/conftest.py starts the long files first.
UNIT_WORKERS ?= 4
test-unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests -q -n $(UNIT_WORKERS) --dist loadfile

# Four notebooks at a time, each whole in one worker with its own kernel (--dist loadfile keeps a notebook's cells in
# order); tests/nbval_support.py starts the longest first.
NB_WORKERS ?= 4
NICE ?=
test-notebooks: setup
	$(TEST_ENV) $(NICE) $(BIN)/python -m pytest -q -n $(NB_WORKERS) --dist loadfile $(NBVAL) --nbval solutions
	$(TEST_ENV) $(NICE) $(BIN)/python -m pytest -q -n $(NB_WORKERS) --dist loadfile $(NBVAL) --nbval-lax notebooks  # notebooks/vi/ too

notebooks: setup
	$(BIN)/python -m labs.workbook build

# The instructor's per-lesson commands (README, "Instructor guide"). LESSON is a number: make fixtures LESSON=02.
# Re-author a lesson's fixtures against the scripted stand-ins (from its notebook where it can).
fixtures: setup
	$(BIN)/python -m labs.lessons fixtures $(LESSON)

# Re-execute one solution in replay and store its outputs, streams coalesced.
outputs: setup
	$(TEST_ENV) $(BIN)/python -m labs.lessons outputs $(LESSON)

# One lesson: its unit tests (tests/test_lesson_NN*.py, tests/test_lessons_AA_BB*.py), strict nbval of its
# solution, lax nbval of its learner copy.
test-lesson: setup
	files=$$($(BIN)/python -m labs.lessons tests $(LESSON)) && $(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider $$files
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider $(NBVAL) --nbval solutions/$(LESSON)_*.ipynb
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider $(NBVAL) --nbval-lax notebooks/$(LESSON)_*.ipynb $(wildcard notebooks/vi/$(LESSON)_*.ipynb)

# Re-record one lesson from the service in .env (LABS_MODE is set for you), store its outputs, regenerate its copy.
refresh: setup
	$(BIN)/python -m labs.lessons refresh $(LESSON)

# A fresh copy of one lesson in workspace/ (make fresh LESSON=03): the earlier copy is kept beside it, renamed
# NN_slug.<date-time>.ipynb, never overwritten.
fresh: setup
	@test -n "$(LESSON)" || { echo "usage: make fresh LESSON=NN (your current copy is kept beside the fresh one)" >&2; exit 2; }
	$(BIN)/python -m labs.workbook fresh $(LESSON) --notebooks notebooks$(LAB_LANG:%=/%) --workspace $(LAB_WORKSPACE)

# Grade one learner (NOTEBOOKS=paths, default: the lessons in workspace/) or a class folder (one .ipynb or folder
# per student), each exercise by the instructor's checks in a process of its own (README, "Grading a class").
NOTEBOOKS ?=
GRADEBOOK ?= gradebook.csv
# LANG=vi grades workspace/vi/ with the check lines in Vietnamese (a copy is recognised by its cell ids, as in English).
grade: setup
	$(LAB_LANG:%=LABS_LANG=% )$(BIN)/python -m labs.workbook grade --workspace $(LAB_WORKSPACE) $(NOTEBOOKS)

grade-class: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-class SUBMISSIONS=folder [GRADEBOOK=gradebook.csv]" >&2; exit 2; }
	$(BIN)/python -m labs.workbook grade-class $(SUBMISSIONS) --out $(GRADEBOOK)

# Benchmarks (not part of make test): prints a table, then one JSON line. About 6 minutes.
bench: setup
	$(TEST_ENV) $(BIN)/python -m labs.bench

# Mutation testing of the core modules (not part of make test): mutmut, 2 processes, each mutant against its module's
# tests (tests/test_mutation_setup.py); prints the score per module. About 10 minutes in full (README); results stay in mutants/.
mutate: setup
	rm -rf mutants
	set -f; $(TEST_ENV) $(BIN)/mutmut run --max-children 2 $$($(BIN)/python -m tests.test_mutation_setup patterns)
	$(BIN)/python -m tests.test_mutation_setup score

clean:
	rm -rf $(VENV) .pytest_cache
