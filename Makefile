# The course's two commands:
#   make lab    set everything up (once) and open the course in JupyterLab
#   make test   set everything up (once) and run every test, notebooks included
# Both are idempotent: a second run only re-installs when pyproject.toml changed.
# Use your own environment instead of .venv with, e.g., `make lab VENV=$CONDA_PREFIX`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.coursekit-installed
PYTEST_ARGS ?=
# JupyterLab refuses to start as root (containers, CI images) without --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

.PHONY: lab test setup sources notebooks exercises release benchmarks clean help

help:
	@echo "make lab         set up and open the course in JupyterLab"
	@echo "make test        set up and run every test (unit tests + every notebook via nbval)"
	@echo "make sources     write every notebooks/ and solutions/ .ipynb from its .py text source (no execution)"
	@echo "make notebooks   make sources, then re-execute the lectures in place (light outputs, no timestamps)"
	@echo "make exercises   rebuild exercises/ from solutions/ (stubs, no hidden tests)"
	@echo "make release     write the student release to ./release (no solutions, no hidden tests)"
	@echo "make benchmarks  print the measured numbers (notebook times, ...)"
	@echo "make clean       remove the virtual environment and caches"

setup: $(STAMP)

$(PY):
	@echo "==> Creating a virtual environment in $(VENV) (it can see an existing torch in $(PYTHON)'s site-packages)"
	$(PYTHON) -m venv --system-site-packages $(VENV)

$(STAMP): pyproject.toml scripts/install_torch.py | $(PY)
	@echo "==> Installing PyTorch (keeps a suitable torch you already have; see scripts/install_torch.py)"
	$(PY) scripts/install_torch.py
	@echo "==> Installing coursekit (editable) with JupyterLab, widgets and the test tools"
	$(PY) -m pip install --quiet -e ".[test,dev]"
	@echo "==> Registering this environment's Jupyter kernel (python3, shown as 'Python 3 (coursekit)')"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)" > /dev/null
	@touch $(STAMP)
	@echo "==> Set-up complete."

lab: setup
	@echo "==> Opening the course in JupyterLab (Ctrl-C to stop)"
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/00_introduction.ipynb

test: setup
	@echo "==> Running the unit tests and executing every notebook in notebooks/ and solutions/ with nbval"
	$(PY) -m pytest $(PYTEST_ARGS)

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
	$(VENV)/bin/coursekit build

release: setup
	@echo "==> Writing the student release to ./release"
	rm -rf release
	$(VENV)/bin/coursekit release --out release

benchmarks: setup
	@echo "==> Timing every lecture notebook"
	$(PY) benchmarks/notebook_times.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info release
