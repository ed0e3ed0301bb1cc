# Two commands (see README.md):
#   make book   set up .venv on a fresh machine and build the HTML book into _build/html
#   make test   everything CI checks: lint, unit tests, every notebook, the strict book build
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# A data mirror given as a relative path is made absolute: notebooks run with book/ as their
# working directory. Without LMKIT_DATA_MIRROR, lmkit downloads (and caches) the corpora.
ifdef LMKIT_DATA_MIRROR
export LMKIT_DATA_MIRROR := $(abspath $(LMKIT_DATA_MIRROR))
endif
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book test lint unit notebooks build-strict times clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

book: setup
	$(BIN)/jupyter-book build . --keep-going

test: setup lint unit notebooks build-strict

lint: setup
	$(BIN)/ruff check .

unit: setup
	$(BIN)/python -m pytest tests -q

notebooks: setup
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=150 book -q

build-strict: setup
	$(BIN)/jupyter-book build . --all -W -n --keep-going

times: setup
	$(BIN)/python bench/notebook_times.py

clean:
	rm -rf _build
