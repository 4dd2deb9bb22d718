# The set-up and the lab, shared by the instructor's Makefile and the student release's
# (student/Makefile): a virtual environment in .venv with the right PyTorch and coursekit.
# Idempotent: a second run only re-installs when pyproject.toml changed.
# Use your own environment instead of .venv with, e.g., `make lab VENV=$CONDA_PREFIX`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.coursekit-installed
# The instructor's tree installs the test tools too; the student release's Makefile sets this empty.
INSTALL_EXTRAS ?= [test,dev]
# JupyterLab refuses to start as root (containers, CI images) without --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
# The lab opens at the course's root (lectures, exercises and README all reachable), showing
# the first lecture: root_dir is set explicitly, else Jupyter would root it at the lecture's folder.
FIRST_LECTURE ?= notebooks/00_introduction.ipynb
LAB := $(VENV)/bin/jupyter lab $(LAB_ARGS) --ServerApp.root_dir="$(CURDIR)" $(FIRST_LECTURE)

setup: $(STAMP)

$(PY):
	@echo "==> Creating a virtual environment in $(VENV) (it can see an existing torch in $(PYTHON)'s site-packages)"
	$(PYTHON) -m venv --system-site-packages $(VENV)

$(STAMP): pyproject.toml scripts/install_torch.py | $(PY)
	@echo "==> Installing PyTorch (keeps a suitable torch you already have; see scripts/install_torch.py)"
	$(PY) scripts/install_torch.py
	@echo "==> Installing coursekit (editable) with JupyterLab and widgets$(if $(INSTALL_EXTRAS), and the test tools $(INSTALL_EXTRAS),)"
	$(PY) -m pip install --quiet -e ".$(INSTALL_EXTRAS)"
	@echo "==> Registering this environment's Jupyter kernel (python3, shown as 'Python 3 (coursekit)')"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)" > /dev/null
	@touch $(STAMP)
	@echo "==> Set-up complete."

lab: setup
	@echo "==> Opening the course in JupyterLab at $(CURDIR), showing $(FIRST_LECTURE) (Ctrl-C to stop)"
	$(LAB)
