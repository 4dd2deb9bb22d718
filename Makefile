# The course's two commands:
#   make lab    set everything up (once) and open the course in JupyterLab
#   make test   set everything up (once) and run every test, notebooks included
# Both are idempotent: a second run only re-installs when pyproject.toml changed
# (the set-up and `lab` are in scripts/course.mk, shared with the student release's Makefile).
# Use your own environment instead of .venv with, e.g., `make lab VENV=$CONDA_PREFIX`.

PYTEST_ARGS ?=
include scripts/course.mk
.DEFAULT_GOAL := help

EXERCISE ?=
# every exercise, not the corrected copies an update leaves beside an edited one (NN_topic.update-DATE.ipynb)
EXERCISE_NOTEBOOKS = $(foreach f,$(sort $(wildcard exercises/*.ipynb)),$(if $(findstring .update-,$(f)),,$(f)))

.PHONY: lab test check setup sources notebooks exercises release benchmarks clean help

help:
	@echo "make lab         set up and open the course in JupyterLab"
	@echo "make test        set up and run every test (unit tests + every notebook via nbval)"
	@echo "make check       run every exercise's public tests, as a student does (EXERCISE=02_vae for one)"
	@echo "make sources     write every notebooks/ and solutions/ .ipynb from its .py text source (no execution)"
	@echo "make notebooks   make sources, then re-execute the lectures in place (light outputs, no timestamps)"
	@echo "make exercises   rebuild exercises/ from solutions/ (stubs, no hidden tests); a notebook someone"
	@echo "                 edited is left alone unless FORCE=1"
	@echo "make release     write the student release to ./release from the committed files (no solutions,"
	@echo "                 no hidden tests); when ./release exists, update it (edited files are kept)"
	@echo "make benchmarks  print the measured numbers (notebook times, ...)"
	@echo "make clean       remove the virtual environment, caches and ./release"

test: setup
	@echo "==> Running the unit tests, grading every solution and executing every notebook in notebooks/ and solutions/ with nbval (a solution the grading ran in full is not executed twice)"
	$(PY) -m pytest $(PYTEST_ARGS)

check: setup
	$(VENV)/bin/coursekit check $(if $(EXERCISE),exercises/$(EXERCISE).ipynb,$(EXERCISE_NOTEBOOKS))

# The .py files next to the notebooks are their sources (scripts/notebook_sources.py): sync writes
# each .ipynb from its .py, keeping ids, and outputs of unchanged cells.
sources: setup
	@echo "==> Writing the notebooks from their .py sources"
	$(PY) scripts/notebook_sources.py sync

notebooks: sources
	@echo "==> Re-executing the lecture notebooks in place"
	$(PY) scripts/execute_notebooks.py notebooks/*.ipynb
	@echo "==> Removing execution timestamps and widget ids"
	$(PY) scripts/notebook_sources.py clean

exercises: sources
	@echo "==> Building the student notebooks in exercises/ from solutions/"
	$(VENV)/bin/coursekit build $(if $(FORCE),--force,)

release: setup
	@echo "==> Writing the student release to ./release"
	$(VENV)/bin/coursekit release --out release $(if $(wildcard release),--update,)

benchmarks: setup
	@echo "==> Timing every lecture notebook"
	$(PY) benchmarks/notebook_times.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info release
