# Two commands (see README.md):
#   make book   set up .venv on a fresh machine and build the HTML book into _build/html
#   make test   everything CI checks: lint, unit tests, the strict book build (which executes
#               every notebook), the student edition, the browser tests over the built book, the
#               Colab simulation (every chapter again, with Colab's versions)
# and one more for instructors:
#   make student   the student edition (no solutions) in _build/student/html
PYTHON ?= python3
NPM    ?= npm
VENV   := .venv
BIN    := $(VENV)/bin
# Flags of `make book` and `make student`; `make test` builds both with -W (warnings are errors).
JBFLAGS ?= --keep-going
STRICT  := --all -W -n --keep-going
# A data mirror given as a relative path is made absolute: notebooks run with book/ as their
# working directory. Without LMKIT_DATA_MIRROR, lmkit downloads (and caches) the corpora.
ifdef LMKIT_DATA_MIRROR
export LMKIT_DATA_MIRROR := $(abspath $(LMKIT_DATA_MIRROR))
endif
# Never a non-interactive MPLBACKEND (such as Agg): notebook kernels would then draw no figures
# into the book. Without it ipykernel shows figures inline and scripts fall back to Agg.
unexport MPLBACKEND
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book student test lint unit notebooks build-strict student-strict book-tests \
	browser editions colab times clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# MathJax and the widget manager, which the book serves itself (package.json, tools/book_ext.py).
# Without npm the book still builds, loading them from CDNs (and `make test` fails).
node_modules/.installed: package.json package-lock.json
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "npm not found: install Node.js so the book can serve MathJax itself (offline)"; \
	fi

book: setup
	$(BIN)/jupyter-book build . $(JBFLAGS)

# The same book without the solutions. Notebooks unchanged since the last `make book` reuse its
# outputs instead of being executed again.
student: setup
	rm -rf _build/student
	BOOK_EDITION=student $(BIN)/jupyter-book build . --path-output _build/student $(JBFLAGS)
	mv _build/student/_build/html _build/student/html
	@echo "The student edition is in _build/student/html (open index.html)."

# Every notebook is executed by build-strict (an error in any cell fails it: _config.yml's
# allow_errors: false and nb_execution_raise_on_error, the same 150 s per cell as nbval's), and
# tests/test_notebooks.py fails on a notebook of book/ that _toc.yml does not list, so a separate
# nbval pass would check nothing more: `make notebooks` stays for running them alone.
test: setup lint unit build-strict student-strict book-tests

# Notebook code is held to 76 columns: a code box of the book shows 77 characters in a 1280 px
# wide window (tests/test_browser.py fails on any box that needs a horizontal scroll bar); the
# rest of the code keeps pyproject.toml's 100.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff check --line-length 76 --select E501 book/*.ipynb

unit: setup
	$(BIN)/python -m pytest tests -q

notebooks: setup   # every notebook under nbval, without building the book
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=150 book -q

build-strict: setup
	$(BIN)/jupyter-book build . $(STRICT)

student-strict: setup
	$(MAKE) --no-print-directory student JBFLAGS="$(STRICT)"

# Tests of the built book as readers meet it (they skip in a plain `pytest tests`): headless
# Chromium over every page, the student edition, and every chapter run as on Colab (with Colab's
# published versions; lmkit's torch-free tests also run on Python 3.13 there).
book-tests: setup
	RUN_BOOK_TESTS=1 $(BIN)/python -m pytest tests/test_browser.py tests/test_editions.py \
	  tests/test_colab.py -q -rs --durations=5

browser: setup
	RUN_BOOK_TESTS=1 $(BIN)/python -m pytest tests/test_browser.py -q -rs

editions: setup
	RUN_BOOK_TESTS=1 $(BIN)/python -m pytest tests/test_editions.py -q -rs

colab: setup
	RUN_BOOK_TESTS=1 $(BIN)/python -m pytest tests/test_colab.py -q -rs --durations=5

times: setup
	$(BIN)/python bench/notebook_times.py

clean:
	rm -rf _build
